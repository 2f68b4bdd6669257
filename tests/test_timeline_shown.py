"""The case page renders from values read before rendering, and caches entries one by one.

- Nothing lazy inside the template: rendering the case page (every kind of entry) reads
  nothing from the database.
- After a change, only what changed is rendered again; an entry rendered for a reader with
  more rights is never shown to a reader with fewer.
"""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import get_template, render_to_string
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.selectors.timeline import case_timeline_shown
from cases.services.petitions import RequestSpec
from cases.views import cases as case_views
from tests import factories

ENTRY_TEMPLATE = "cases/partials/timeline_entry.html"


@pytest.fixture
def full_case(case, coordinator, partner_org, settings, tmp_path):
    """A case whose page shows every kind of thing: people, events with people, authorities
    and organizations, a petition with requests and its status change, open and closed
    deadlines, a document, changes about a person, a share."""
    settings.MEDIA_ROOT = tmp_path
    person = factories.PrisonerFactory(code="POW-A", owner=case.lead_organization)
    other = factories.PrisonerFactory(code="POW-B", owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=person, by=coordinator)
    services.case_add_prisoner(case=case, prisoner=other, by=coordinator)
    services.case_share(
        case=case, organization=partner_org, level="read", by=coordinator, reason="Partner"
    )
    court = factories.AuthorityFactory(name="District court", short_name="DC")
    services.event_log(
        case=case,
        by=coordinator,
        kind="visit",
        title="Visit to both men",
        occurred_on=dt.date(2025, 3, 15),
        prisoners=[person, other],
        authorities=[court],
        organizations=[case.lead_organization],
    )
    petition = factories.make_petition(
        case=case,
        by=coordinator,
        title="Access petition",
        requests=[RequestSpec(kind="lawyer_access"), RequestSpec(kind="icrc")],
    )
    services.petition_change_status(
        petition=petition, to="acknowledged", by=coordinator, reason="Stamped copy"
    )
    services.prisoner_change_custody(
        prisoner=person, to="hospitalized", by=coordinator, reason="Wounds", place_of_detention="X"
    )
    done = factories.make_deadline(case=case, by=coordinator, title="Thursday visit")
    services.deadline_change_status(deadline=done, to="done", by=coordinator, reason="Visited")
    factories.make_deadline(
        case=case, by=coordinator, title="Open window", due_on=dt.date(2027, 4, 1)
    )
    services.document_store(
        case=case,
        by=coordinator,
        upload=SimpleUploadedFile("letter.txt", b"handwritten"),
        title="Letter scan",
    )
    return case


@pytest.mark.django_db
def test_rendering_the_case_page_reads_nothing(full_case, coordinator, client, monkeypatch):
    """The view reads everything the page shows before it renders; the template only prints.

    The page's own template is rendered a second time, without the request (so without the
    page frame's context processors, whose per-request cost tests/test_request_cost.py
    follows), inside CaptureQueriesContext: any lazy read left in the template fails here.
    """
    rendered = []
    real_render = case_views.render

    def render_and_count(request, template_name, context):
        with CaptureQueriesContext(connection) as ctx:
            html = render_to_string(template_name, context)
        rendered.append((template_name, html, [q["sql"] for q in ctx.captured_queries]))
        return real_render(request, template_name, context)

    monkeypatch.setattr(case_views, "render", render_and_count)
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[full_case.pk])
    client.get(url)  # nothing cached: every part read and rendered
    client.get(url)  # seen again: the parts from the cache
    assert len(rendered) == 2
    for template_name, html, queries in rendered:
        assert template_name == "cases/case_detail.html"
        assert queries == []
        for text in (
            "Visit to both men",
            "POW-A",
            "DC",  # the authority, by its short name
            "Access petition",
            "Stamped copy",
            "Wounds",
            "Thursday visit",
            "Open window",
            "Letter scan",
            "Partner Organization",
        ):
            assert text in html, text


@pytest.mark.django_db
def test_an_entry_renders_from_its_record_alone(full_case, django_assert_num_queries):
    entries = case_timeline_shown(full_case).entries
    assert {e.kind for e in entries} >= {"event", "petition", "status", "deadline", "document"}
    template = get_template(ENTRY_TEMPLATE)
    with django_assert_num_queries(0):
        html = "".join(template.render({"entry": e, "can_edit": True}) for e in entries)
        written = "".join(case_views.entry_html(e, can_edit=True) for e in entries)
    assert "Visit to both men" in html and "Lawyer" in html and "SHA-256" in html
    assert written == html


def _rendered(client, url) -> list[str]:
    """The templates a request rendered (what it did not take from the cache)."""
    names = []

    def seen(sender, template, **kwargs):
        names.append(template.name)

    # Entries are written in Python (cases/views/timeline_entry.py), as the template would.
    write_entry = case_views.entry_html

    def entry_seen(entry, **kwargs):
        names.append(ENTRY_TEMPLATE)
        return write_entry(entry, **kwargs)

    template_rendered.connect(seen)
    case_views.entry_html = entry_seen
    try:
        response = client.get(url)
    finally:
        case_views.entry_html = write_entry
        template_rendered.disconnect(seen)
    assert response.status_code == 200
    return names


def _entries_rendered(client, url) -> int:
    """How many timeline entries a request rendered (the rest came from the cache)."""
    return _rendered(client, url).count(ENTRY_TEMPLATE)


@pytest.mark.django_db
def test_after_a_change_only_what_changed_is_rendered(full_case, coordinator, client):
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[full_case.pk])
    shown = len(case_timeline_shown(full_case).entries)
    assert _entries_rendered(client, url) == shown  # first view: every entry
    assert _entries_rendered(client, url) == 0  # seen again: the whole timeline cached
    event = full_case.events.get(title="Visit to both men")
    services.event_update(event=event, by=coordinator, title="Visit renamed")
    rendered = _rendered(client, url)
    assert rendered.count(ENTRY_TEMPLATE) == 1  # the case changed: only that entry
    # The header, people, deadlines and lists do not show events: kept as they were.
    assert not set(rendered) & {template for template, _parts in case_views.PAGE_PARTS.values()}
    assert "Visit renamed" in client.get(url).content.decode()
    factories.make_deadline(case=full_case, by=coordinator, title="New deadline")
    rendered = _rendered(client, url)
    assert "cases/partials/pinned_deadlines.html" in rendered
    assert "cases/partials/case_page_top.html" in rendered  # the next deadline, in the header
    assert "cases/partials/case_page_lists.html" not in rendered
    assert "New deadline" in client.get(url).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("reader", ["viewer", "partner"])
def test_an_entry_cached_for_an_editor_never_reaches_a_reader_with_fewer_rights(
    full_case, coordinator, reader, request, client
):
    """Entries are cached one by one and shared between views of the case; the edit link an
    editor's copy carries must not reach a viewer or a partner organization's member, and the
    reader's copy must not take it from an editor either."""
    reader = request.getfixturevalue(reader)
    url = reverse("cases:case-detail", args=[full_case.pk])
    event = full_case.events.get()
    edit_link = reverse("cases:event-edit", args=[event.pk])

    client.force_login(coordinator)
    assert edit_link in client.get(url).content.decode()
    # A change elsewhere on the case: the page is rendered again, the event's entry is not.
    factories.make_deadline(case=full_case, by=coordinator, title="Another deadline")
    client.force_login(reader)
    page = client.get(url).content.decode()
    assert "Visit to both men" in page
    assert edit_link not in page

    factories.make_deadline(case=full_case, by=coordinator, title="Yet another deadline")
    page = client.get(url).content.decode()  # the reader first, then the editor again
    assert edit_link not in page
    client.force_login(coordinator)
    assert edit_link in client.get(url).content.decode()


@pytest.mark.django_db
def test_an_entry_about_a_person_is_kept_apart_per_case(full_case, coordinator, lead_org, client):
    """A person's entries show on every case of that person; each case keeps its own copy
    (the reader's rights are those on the case)."""
    person = full_case.prisoners.get(code="POW-A")
    second = factories.make_case(lead_organization=lead_org, by=coordinator, title="Second")
    services.case_add_prisoner(case=second, prisoner=person, by=coordinator)
    client.force_login(coordinator)
    first_page = client.get(reverse("cases:case-detail", args=[full_case.pk])).content.decode()
    second_page = client.get(reverse("cases:case-detail", args=[second.pk])).content.decode()
    assert "Wounds" in first_page and "Wounds" in second_page
    assert _entries_rendered(client, reverse("cases:case-detail", args=[second.pk])) == 0


def _reads_the_case_people(client, url) -> bool:
    """Whether the request read the people the timeline's controls list."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return any(
        'FROM "cases_prisoner" INNER JOIN "cases_case_prisoners"' in q["sql"]
        for q in ctx.captured_queries
    )


@pytest.mark.django_db
def test_the_timelines_people_follow_the_cases_people(full_case, coordinator, client):
    """The people the timeline's filter lists are kept under the version of the page's
    people: a new event does not read them again; a person put on the case, renamed or taken
    off shows at once."""
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[full_case.pk])
    assert _reads_the_case_people(client, url)
    event = full_case.events.get(title="Visit to both men")
    services.event_update(event=event, by=coordinator, title="Visit renamed")
    assert not _reads_the_case_people(client, url)  # the timeline changed, not its people
    assert "Visit renamed" in client.get(url).content.decode()

    third = factories.PrisonerFactory(code="POW-C", owner=full_case.lead_organization)
    services.case_add_prisoner(case=full_case, prisoner=third, by=coordinator)
    assert f'<option value="{third.pk}" >POW-C</option>' in client.get(url).content.decode()
    services.prisoner_update(prisoner=third, by=coordinator, code="POW-D", reason="Typo")
    page = client.get(url).content.decode()
    assert f'<option value="{third.pk}" >POW-D</option>' in page and ">POW-C</option>" not in page
    services.case_remove_prisoner(case=full_case, prisoner=third, by=coordinator, reason="Wrong")
    assert f'<option value="{third.pk}"' not in client.get(url).content.decode()
