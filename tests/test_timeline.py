"""The case timeline: one story, in order, with who/when/why, read with constant queries."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.models import TimelineEntry
from cases.selectors.timeline import case_timeline, pinned_deadlines
from cases.services.petitions import RequestSpec
from cases.services.timeline import timeline_rebuild
from tests import factories


@pytest.fixture
def story(case, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pow_a = factories.PrisonerFactory(code="POW-A", owner=case.lead_organization)
    pow_b = factories.PrisonerFactory(code="POW-B", owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=pow_a, by=coordinator)
    services.case_add_prisoner(case=case, prisoner=pow_b, by=coordinator)
    services.event_log(
        case=case,
        by=coordinator,
        kind="visit",
        title="Lawmaker meets both men",
        occurred_on=dt.date(2025, 3, 15),
        occurred_on_precision="month",
        prisoners=[pow_a, pow_b],
    )
    services.event_log(
        case=case,
        by=coordinator,
        kind="letter",
        title="Letter from POW-B",
        occurred_on=dt.date(2025, 12, 1),
        occurred_on_precision="month",
        prisoners=[pow_b],
    )
    petition = factories.make_petition(case=case, by=coordinator, title="Non-refoulement petition")
    services.petition_change_status(
        petition=petition, to="acknowledged", by=coordinator, reason="Stamped copy received"
    )
    services.prisoner_change_custody(
        prisoner=pow_a,
        to="hospitalized",
        by=coordinator,
        reason="Wounds reopened",
        place_of_detention="Kyiv hospital",
    )
    done = factories.make_deadline(case=case, by=coordinator, title="Thursday visit")
    services.deadline_change_status(deadline=done, to="done", by=coordinator, reason="Visited")
    window = factories.make_deadline(
        case=case,
        by=coordinator,
        kind="exchange_window",
        title="Exchange window",
        due_on=dt.date(2026, 4, 1),
        due_precision="month",
    )
    services.document_store(
        case=case,
        by=coordinator,
        upload=SimpleUploadedFile("letter.txt", b"handwritten"),
        title="Letter scan",
    )
    return {"case": case, "pow_a": pow_a, "pow_b": pow_b, "petition": petition, "window": window}


@pytest.mark.django_db
def test_timeline_holds_the_whole_story_in_order(story, client, coordinator):
    entries = case_timeline(story["case"], newest_first=False).entries
    kinds = [e.kind for e in entries]
    assert kinds[0] == "event"  # March 2025 comes first
    assert "petition" in kinds and "document" in kinds and "deadline" in kinds
    dates = [(e.happened_on) for e in entries]
    assert dates == sorted(dates)

    status = [e for e in entries if e.kind == "status"]
    petition_change = next(e for e in status if e.subject == "petition")
    assert (petition_change.old_label, petition_change.new_label) == ("Filed", "Acknowledged")
    assert petition_change.reason == "Stamped copy received"
    assert petition_change.actor == coordinator
    custody = next(e for e in status if e.subject == "prisoner")
    assert (custody.old_label, custody.new_label) == ("Detained", "Hospitalized")
    moved = next(e for e in entries if e.kind == "change" and e.field == "place_of_detention")
    assert moved.new_value == "Kyiv hospital"
    # The closed deadline is in place with its outcome; the open one is pinned instead.
    deadline_entries = [e for e in entries if e.kind == "deadline"]
    assert [e.deadline.title for e in deadline_entries] == ["Thursday visit"]
    assert deadline_entries[0].deadline.status == "done"

    client.force_login(coordinator)
    page = client.get(reverse("cases:case-detail", args=[story["case"].pk])).content.decode()
    for text in (
        "March 2025",
        "December 2025",
        "Stamped copy received",
        "Wounds reopened",
        "Kyiv hospital",
        "Letter scan",
        "SHA-256",
        "by end of April 2026",
    ):
        assert text in page, text
    assert page.index("Exchange window") < page.index("Lawmaker meets both men")  # pinned above


@pytest.mark.django_db
def test_newest_first_is_the_default_and_oldest_first_on_request(story):
    newest = [e.pk for e in case_timeline(story["case"]).entries]
    oldest = [e.pk for e in case_timeline(story["case"], newest_first=False).entries]
    assert newest == list(reversed(oldest))


@pytest.mark.django_db
def test_filters_by_kind_and_by_person(story):
    only_events = case_timeline(story["case"], kinds=["event"]).entries
    assert {e.kind for e in only_events} == {"event"}
    about_b = case_timeline(story["case"], prisoner=story["pow_b"]).entries
    titles = {e.event.title for e in about_b if e.event}
    assert titles == {"Lawmaker meets both men", "Letter from POW-B"}
    about_a = case_timeline(story["case"], prisoner=story["pow_a"]).entries
    assert any(e.kind == "status" and e.subject == "prisoner" for e in about_a)
    assert all(e.prisoner_id in (None, story["pow_a"].pk) for e in about_a)


@pytest.mark.django_db
def test_pinned_deadlines_count_down(story):
    pinned = pinned_deadlines(story["case"], today=dt.date(2026, 1, 26))
    assert [p.deadline.title for p in pinned] == ["Exchange window"]
    assert pinned[0].days_left == 94


@pytest.mark.django_db
def test_pinned_deadlines_name_their_assignees_in_order(story):
    deadline = pinned_deadlines(story["case"], today=dt.date(2026, 1, 26))[0].deadline
    lead = story["case"].lead_organization
    added = [factories.member(lead, "editor", username=name) for name in ("zoe", "anna", "mia")]
    deadline.assignees.add(*added)  # added out of order, and by id
    (pinned,) = pinned_deadlines(story["case"], today=dt.date(2026, 1, 26))
    names = [user.username for user in pinned.assignees]
    assert names == sorted(names) and {"zoe", "anna", "mia"} <= set(names)


@pytest.mark.django_db
def test_rebuild_reproduces_the_live_timeline(story):
    def snapshot():
        return sorted(
            tuple("" if v is None else str(v) for v in row)
            for row in TimelineEntry.objects.values_list(
                "kind",
                "case_id",
                "prisoner_id",
                "happened_on",
                "precision",
                "field",
                "old_value",
                "new_value",
                "reason",
                "event_id",
                "petition_id",
                "deadline_id",
                "document_id",
            )
        )

    live = snapshot()
    timeline_rebuild()
    assert snapshot() == live


@pytest.mark.django_db
def test_html_in_entries_is_escaped(case, coordinator, client):
    services.event_log(
        case=case,
        by=coordinator,
        kind="other",
        occurred_on=dt.date(2026, 1, 1),
        title="<script>alert('t')</script>",
        description="<img src=x onerror=alert(1)>",
    )
    petition = factories.make_petition(case=case, by=coordinator)
    services.petition_change_status(
        petition=petition, to="rejected", by=coordinator, reason="<b>bold</b> reason"
    )
    client.force_login(coordinator)
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "<img src=x" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; reason" in page


def _grow(case, user, n):
    for i in range(n):
        services.event_log(
            case=case,
            by=user,
            kind="call",
            title=f"Call {i}",
            occurred_on=dt.date(2025, 1, 1) + dt.timedelta(days=i),
            prisoners=list(case.prisoners.all()),
        )


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_timeline(case, coordinator, client):
    prisoner = factories.PrisonerFactory(owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])

    def count():
        client.get(url)  # warm caches (profile, session)
        cache.clear()  # count the queries of a timeline rendered, not one taken from the cache
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _grow(case, coordinator, 10)
    small = count()
    _grow(case, coordinator, 90)
    large = count()
    assert large == small


@pytest.mark.django_db
def test_load_more_pages_through_older_entries(case, coordinator, client):
    _grow(case, coordinator, 60)
    client.force_login(coordinator)
    first = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "Call 59" in first and "Call 5<" not in first
    assert "Show older entries" in first
    more = client.get(
        reverse("cases:case-timeline", args=[case.pk]), {"page": 2}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Call 0" in more
    assert "<html" not in more


def _timeline_queries(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries if 'FROM "cases_timelineentry"' in q["sql"]]
    return response.content.decode(), sql


@pytest.mark.django_db
def test_a_rendered_timeline_is_served_from_the_cache_until_it_changes(case, coordinator, client):
    _grow(case, coordinator, 3)
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])
    first, read = _timeline_queries(client, url)
    assert "Call 2" in first and read
    again, read = _timeline_queries(client, url)
    assert "Call 2" in again and not read  # the entries were not read again
    _grow(case, coordinator, 4)
    after, read = _timeline_queries(client, url)
    assert "Call 3" in after and read


@pytest.mark.django_db
def test_every_change_a_timeline_shows_shows_at_once(case, coordinator, client):
    """Whatever an entry shows (event, its people and authorities, a petition's requests,
    who logged it) changes on the page as soon as it changes, cache or not."""
    person = factories.PrisonerFactory(code="POW-OLD", owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=person, by=coordinator)
    court = factories.AuthorityFactory(name="Old court")
    event = services.event_log(
        case=case,
        by=coordinator,
        kind="visit",
        title="First visit",
        occurred_on=dt.date(2025, 3, 1),
        prisoners=[person],
        authorities=[court],
    )
    petition = factories.make_petition(
        case=case,
        by=coordinator,
        title="Access petition",
        requests=[RequestSpec(kind="lawyer_access")],
    )
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])

    def page() -> str:
        client.get(url)  # whatever is cached now is served on the second request
        return client.get(url).content.decode()

    assert "First visit" in page()
    services.event_update(event=event, by=coordinator, title="Visit renamed")
    assert "Visit renamed" in page()
    court.name = "Renamed court"
    court.save()  # as the admin does: an authority shows on every case
    assert "Renamed court" in page()
    services.prisoner_update(prisoner=person, by=coordinator, code="POW-NEW")
    assert "POW-NEW" in page() and "POW-OLD" not in page()
    request = petition.requests.first()
    request.outcome = "granted"
    request._change_reason = "Answered"
    request.save()
    assert "Granted" in page()
    coordinator.username = "renamed-coordinator"
    coordinator.save()
    assert "by renamed-coordinator" in page()  # "recorded on … by …"


@pytest.mark.django_db
def test_the_cache_keeps_apart_what_differs_between_readers(case, coordinator, viewer, client):
    """Edit links, language and time zone are part of what is cached, not shared."""
    _grow(case, coordinator, 2)
    url = reverse("cases:case-detail", args=[case.pk])
    edit_link = reverse("cases:event-edit", args=[case.events.first().pk])
    client.force_login(coordinator)
    assert edit_link in client.get(url).content.decode()
    client.force_login(viewer)
    assert edit_link not in client.get(url).content.decode()
    profile = services.profile_get(viewer)
    profile.language, profile.time_zone = "uk", "Asia/Seoul"
    profile.save()
    client.get(url)
    assert "Подія" in client.get(url).content.decode()


@pytest.mark.django_db
def test_a_deleted_event_leaves_the_cached_timeline_at_once(case, coordinator, client):
    _grow(case, coordinator, 2)
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])
    client.get(url)
    assert "Call 1" in client.get(url).content.decode()
    event = case.events.get(title="Call 1")
    event._change_reason = "Logged on the wrong case"
    event.delete()  # as the admin does
    page = client.get(url).content.decode()
    assert "Call 1" not in page and "Call 0" in page


@pytest.mark.django_db
def test_the_deadline_filter_counts_open_deadlines_and_both_views_agree(client, case, coordinator):
    """Asking for deadlines shows the open ones too (they are pinned above the unfiltered
    stream), and /cases/<id>/timeline/ is the same timeline, filters and open deadlines
    included."""
    for day in (8, 9, 10):
        factories.make_deadline(
            case=case, by=coordinator, title=f"Open deadline {day}", due_on=dt.date(2027, 1, day)
        )
    done = factories.make_deadline(case=case, by=coordinator, title="Closed deadline")
    services.deadline_change_status(deadline=done, to="done", by=coordinator, reason="Went")
    assert [e.deadline.title for e in case_timeline(case).entries if e.kind == "deadline"] == [
        "Closed deadline"
    ]
    only = case_timeline(case, kinds=["deadline"], newest_first=False).entries
    assert [e.deadline.title for e in only] == [
        "Closed deadline",
        "Open deadline 8",
        "Open deadline 9",
        "Open deadline 10",
    ]
    client.force_login(coordinator)
    detail = client.get(reverse("cases:case-detail", args=[case.pk]), {"kind": "deadline"})
    page = client.get(reverse("cases:case-timeline", args=[case.pk]), {"kind": "deadline"})
    for response in (detail, page):
        html = response.content.decode()
        timeline = html[html.index('id="timeline-list"') :]
        assert "Nothing matches" not in html
        assert all(f"Open deadline {day}" in timeline for day in (8, 9, 10))
        assert 'name="kind" value="deadline"' in html  # the filters
        pinned = html[html.index('id="deadlines-heading"') : html.index('id="timeline-heading"')]
        assert "Open deadline 8" in pinned
