"""No page, email or feed of a case invents a day.

A case whose dates are known only to the month or year ("March 2025", "by end of April
2026", "2024") is rendered everywhere it shows: the case page, its timeline (also filtered to
deadlines), the case list, "my work", the petition, person and document pages with their
history, the reminder and overdue emails and the calendar feed, in English, Korean and
Ukrainian. None may show a day those dates do not hold: each is stored on some day (the 1st
for what happened, the last for what is due), and that day must never appear.

The one exception, on purpose: a calendar entry needs a day, so a month deadline is an
all-day entry on its last day (its DTSTART/DTEND lines); its text says "by end of April 2026".
"""

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import formats, translation

from cases import services
from cases.models import Deadline
from cases.services.reminders import reminders_dispatch
from tests import factories

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "ko", "uk"]


def renderings(day: dt.date) -> set[str]:
    """The ways a page could write this day, in every language."""
    shown = {day.isoformat(), day.strftime("%d.%m.%Y"), day.strftime("%d/%m/%Y")}
    for language in LANGUAGES:
        with translation.override(language):
            for name in ("DATE_FORMAT", "SHORT_DATE_FORMAT"):
                shown.add(formats.date_format(day, name))
    return shown


@pytest.fixture
def imprecise(time_machine, settings, tmp_path, case, coordinator):
    """A case whose every date of what happened or is due is known to the month or year."""
    settings.MEDIA_ROOT = tmp_path
    time_machine.move_to(dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC), tick=True)
    visit = services.event_log(
        case=case,
        by=coordinator,
        kind="visit",
        title="Lawmaker's visit",
        occurred_on=dt.date(2025, 3, 17),
        occurred_on_precision="month",
    )
    services.event_log(
        case=case,
        by=coordinator,
        kind="report",
        title="Reports of capture",
        occurred_on=dt.date(2024, 6, 6),
        occurred_on_precision="year",
    )
    window = factories.make_deadline(
        case=case,
        by=coordinator,
        kind="exchange_window",
        title="Exchange window",
        due_on=dt.date(2026, 4, 9),
        due_precision="month",
        assignees=[coordinator],
    )
    talks = factories.make_deadline(
        case=case,
        by=coordinator,
        kind="other",
        title="Talks",
        due_on=dt.date(2026, 5, 9),
        due_precision="month",
    )
    services.deadline_change_status(
        deadline=talks,
        to="cancelled",
        by=coordinator,
        reason="Called off",
        happened_on=dt.date(2026, 2, 5),
        happened_precision="month",
    )
    prisoner = factories.PrisonerFactory(
        owner=case.lead_organization,
        code="POW-A",
        captured_on=dt.date(2025, 1, 1),
        captured_on_precision="month",
        wish_expressed_on=dt.date(2025, 12, 1),
        wish_expressed_on_precision="month",
        custody_status="captured",
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.prisoner_change_custody(
        prisoner=prisoner,
        to="detained",
        by=coordinator,
        reason="Taken to Kyiv",
        happened_on=dt.date(2025, 1, 20),
        happened_precision="month",
    )
    services.prisoner_update(prisoner=prisoner, by=coordinator, captured_on_precision="year")
    document = services.document_store(
        case=case,
        by=coordinator,
        upload=SimpleUploadedFile("letters.txt", b"letters", "text/plain"),
        title="Handwritten letters",
        dated_on=dt.date(2025, 12, 24),
        dated_precision="month",
    )
    petition = factories.make_petition(case=case, by=coordinator, filed_on=dt.date(2026, 1, 3))
    services.petition_update(petition=petition, by=coordinator, summary="Edited once")
    forbidden = set()
    for day in (
        dt.date(2025, 3, 1),  # the visit, March 2025
        dt.date(2024, 1, 1),  # the reports, 2024
        dt.date(2026, 4, 30),  # the window, by end of April 2026
        dt.date(2026, 5, 31),  # the talks, by end of May 2026
        dt.date(2026, 2, 1),  # the talks called off, February 2026
        dt.date(2025, 1, 1),  # capture and custody change, January 2025 / 2025
        dt.date(2025, 12, 1),  # the wish and the letters, December 2025
    ):
        forbidden |= renderings(day)
    return {
        "case": case,
        "window": window,
        "visit": visit,
        "prisoner": prisoner,
        "document": document,
        "petition": petition,
        "forbidden": forbidden,
    }


def assert_no_invented_day(text: str, forbidden: set[str], where: str) -> None:
    shown = sorted(day for day in forbidden if day in text)
    context = [text[max(text.index(day) - 80, 0) : text.index(day) + 40] for day in shown]
    assert not shown, f"{where} shows a day the data does not hold: {shown} in {context}"


def test_no_page_of_the_case_invents_a_day(client, imprecise, coordinator):
    case = imprecise["case"]
    pages = {
        "case page": reverse("cases:case-detail", args=[case.pk]),
        "case page, oldest first": reverse("cases:case-detail", args=[case.pk]) + "?order=oldest",
        "timeline page": reverse("cases:case-timeline", args=[case.pk]),
        "timeline, deadlines": reverse("cases:case-timeline", args=[case.pk]) + "?kind=deadline",
        "case list": reverse("cases:case-list"),
        "case list by deadline": reverse("cases:case-list") + "?sort=next_deadline",
        "my work": reverse("cases:home"),
        "petition": reverse("cases:petition-detail", args=[imprecise["petition"].pk]),
        "person": reverse("cases:prisoner-detail", args=[imprecise["prisoner"].pk]),
        "document": reverse("cases:document-detail", args=[imprecise["document"].pk]),
    }
    client.force_login(coordinator)
    profile = services.profile_get(coordinator)
    checked = 0
    for language in LANGUAGES:
        profile.language = language
        profile.save()
        for name, url in pages.items():
            response = client.get(url)
            assert response.status_code == 200, (name, language)
            html = response.content.decode()
            assert_no_invented_day(html, imprecise["forbidden"], f"{name} ({language})")
            checked += 1
        # The dates are there, as precisely as they are known.
        page = client.get(pages["case page"]).content.decode()
        person = client.get(pages["person"]).content.decode()
        with translation.override(language):
            assert imprecise["window"].due_display in page
            assert imprecise["visit"].occurred_on_display in page
            assert imprecise["prisoner"].wish_expressed_on_display in person
    assert checked == len(pages) * len(LANGUAGES)


def test_no_email_or_calendar_entry_invents_a_day(client, imprecise, coordinator, time_machine):
    forbidden = imprecise["forbidden"]
    feed = client.get(
        reverse("cases:calendar-feed", args=[services.profile_get(coordinator).calendar_token])
    ).content.decode()
    text = "\n".join(
        line
        for line in feed.replace("\r\n ", "").splitlines()
        if not line.startswith(("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED", "CREATED"))
    )
    assert "by end of April 2026" in text
    assert_no_invented_day(text, forbidden, "calendar feed")
    # 30 days before the end of April: the first reminder; then the overdue notice.
    for moment in (
        dt.datetime(2026, 3, 31, 8, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, 8, 5, tzinfo=dt.UTC),
    ):
        time_machine.move_to(moment, tick=True)
        reminders_dispatch()
    assert len(mail.outbox) >= 2
    for email in mail.outbox:
        bodies = [email.subject, email.body] + [body for body, _ in email.alternatives]
        for body in bodies:
            assert_no_invented_day(body, forbidden, f"email “{email.subject}”")
    assert Deadline.objects.get(pk=imprecise["window"].pk).status == "open"
