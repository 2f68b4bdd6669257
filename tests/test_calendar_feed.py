"""The secret calendar feed: each user's deadlines, nothing more, to anyone holding the key."""

import datetime as dt

import pytest
from django.urls import reverse
from icalendar import Calendar

from cases import services
from cases.models import CaseShare, DatePrecision, DeadlineKind, DeadlineStatus
from cases.selectors.reminders import calendar_feed_url
from tests import factories


def feed_path(user) -> str:
    return reverse("cases:calendar-feed", args=[services.profile_get(user).calendar_token])


def events(response) -> dict[str, object]:
    calendar = Calendar.from_ical(response.content)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


@pytest.fixture
def deadlines(case, coordinator, partner_org):
    services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.READ, by=coordinator, reason="x"
    )
    case.prisoners.add(
        factories.PrisonerFactory(
            code="POW-A", legal_name="Kim Example", owner=case.lead_organization
        )
    )
    visit = factories.make_deadline(
        case=case,
        by=coordinator,
        title="Partner visits the Coordination Headquarters",
        due_on=dt.date(2026, 1, 8),
        assignees=[coordinator],
    )
    window = factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.EXCHANGE_WINDOW,
        title="Prisoner-exchange arrangements",
        due_on=dt.date(2026, 4, 1),
        due_precision=DatePrecision.MONTH,
    )
    dropped = factories.make_deadline(case=case, by=coordinator, title="Dropped idea")
    services.deadline_change_status(
        deadline=dropped, to=DeadlineStatus.CANCELLED, by=coordinator, reason="Not needed"
    )
    other_case = factories.make_case(title="Another organization's case")
    factories.make_deadline(case=other_case, by=coordinator, title="Somebody else's deadline")
    return visit, window


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC), tick=False)


@pytest.mark.parametrize("persona", ["coordinator", "editor", "viewer", "partner"])
def test_everyone_who_may_see_the_case_gets_its_deadlines(client, deadlines, persona, request):
    user = request.getfixturevalue(persona)
    visit, _window = deadlines
    reference = visit.case.reference

    response = client.get(feed_path(user))  # nobody signed in: the key is the secret

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "no-store, private"
    assert set(events(response)) == {
        f"{reference}: Partner visits the Coordination Headquarters",
        f"{reference}: Prisoner-exchange arrangements (by end of April 2026)",
    }


def test_the_feed_holds_dates_honestly_and_names_no_one(client, deadlines, coordinator):
    visit, window = deadlines
    response = client.get(feed_path(coordinator))
    text = response.content.decode()
    for secret in ("POW-A", "Kim Example", visit.case.title):
        assert secret not in text

    found = events(response)
    day = found[f"{visit.case.reference}: {visit.title}"]
    assert day.decoded("DTSTART") == dt.date(2026, 1, 8)
    assert day.decoded("DTEND") == dt.date(2026, 1, 9)
    assert str(day["URL"]) == f"http://testserver/cases/{visit.case.pk}/"
    month = found[f"{visit.case.reference}: {window.title} (by end of April 2026)"]
    assert month.decoded("DTSTART") == dt.date(2026, 4, 30)  # the last day it covers
    assert "Due: by end of April 2026" in str(month["DESCRIPTION"])


def test_an_outsider_sees_none_of_the_case(client, deadlines, outsider):
    response = client.get(feed_path(outsider))
    assert response.status_code == 200
    assert events(response) == {}


def test_a_timed_deadline_is_an_hour_at_its_time(client, case, coordinator):
    factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.HEARING,
        title="Hearing",
        due_on=dt.date(2026, 2, 2),
        due_time=dt.time(10, 30),
        due_timezone="Europe/Kyiv",
    )
    [event] = events(client.get(feed_path(coordinator))).values()
    assert event.decoded("DTSTART") == dt.datetime(2026, 2, 2, 8, 30, tzinfo=dt.UTC)
    assert event.decoded("DURATION") == dt.timedelta(hours=1)


def test_a_wrong_key_gives_404(client, deadlines):
    response = client.get(reverse("cases:calendar-feed", args=["not-a-real-key"]))
    assert response.status_code == 404


def test_a_revoked_key_gives_404_and_the_new_one_works(client, deadlines, coordinator):
    old = feed_path(coordinator)
    new_token = services.calendar_token_regenerate(user=coordinator)
    assert client.get(old).status_code == 404
    response = client.get(reverse("cases:calendar-feed", args=[new_token]))
    assert response.status_code == 200
    assert len(events(response)) == 2
    assert calendar_feed_url(coordinator) == f"http://testserver/calendar/{new_token}.ics"


def test_a_deactivated_account_has_no_feed(client, deadlines, editor):
    path = feed_path(editor)
    editor.is_active = False
    editor.save()
    assert client.get(path).status_code == 404


def test_the_feed_only_answers_get(client, deadlines, coordinator):
    assert client.post(feed_path(coordinator)).status_code == 405


def test_text_with_commas_semicolons_and_long_lines_reads_back_exactly(case, coordinator):
    from cases.services.reminders import deadlines_to_ical

    deadline = factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.OTHER,
        title="Appeal; court, room 3 \\ wing B — 항소심 제출 기한 " * 3,
        due_on=dt.date(2026, 1, 8),
    )
    text = deadlines_to_ical([deadline], for_user=coordinator, method="PUBLISH")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.endswith("END:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")
    calendar = Calendar.from_ical(text)
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"{case.reference}: {deadline.title}"
    assert str(event["DESCRIPTION"]).split("\n")[0] == f"Case: {case.reference}"
    assert event.decoded("DTSTART") == dt.date(2026, 1, 8)
    assert event.decoded("DTSTAMP") == dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    assert str(event["UID"]) == f"deadline-{deadline.pk}@testserver"
