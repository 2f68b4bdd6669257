"""Messages: what a reminder email says, to whom, in which language, and how it travels.

Rendering is under test here (tests/test_reminders_dispatch.py covers claiming and sending); a
real SMTP server on loopback (the ``smtp_server`` fixture) shows the bytes that arrive.
"""

import datetime as dt

import pytest
from django.core import mail
from icalendar import Calendar

from cases import services
from cases.models import DeadlineKind
from cases.services.reminders import reminders_dispatch
from tests import factories
from tests.test_reminders_dispatch import FIRST_POINT, due_rows, make_visits

UTC = dt.UTC


@pytest.fixture
def frozen(time_machine):
    def freeze(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    freeze(dt.datetime(2026, 1, 3, 12, tzinfo=UTC))
    return freeze


def test_the_email_arrives_as_text_html_and_a_calendar_file(frozen, case, coordinator, smtp_server):
    [visit] = make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    reminders_dispatch()
    [email] = smtp_server.messages  # as parsed by the receiving server
    assert email["MIME-Version"] == "1.0"
    assert email["Auto-Submitted"] == "auto-generated"
    assert (
        email.get_body(("plain",))
        .get_content()
        .startswith(f"Reminder for case {case.reference}: In 3 days")
    )
    assert f'href="http://testserver/cases/{case.pk}/"' in email.get_body(("html",)).get_content()
    [attachment] = email.iter_attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "deadline.ics"
    event = Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"{case.reference}: {visit.title}"


def test_the_email_names_no_one_by_default(frozen, case, coordinator, settings):
    settings.NAMES_IN_NOTIFICATIONS = False
    prisoner = factories.PrisonerFactory(
        code="POW-A", legal_name="Kim Example", owner=case.lead_organization
    )
    case.prisoners.add(prisoner)
    [visit] = make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    reminders_dispatch()
    [email] = mail.outbox

    html = email.alternatives[0][0]
    ics = email.attachments[0].get_payload(decode=True).decode()
    everything = "\n".join([email.subject, email.body, html, ics])
    for secret in ("POW-A", "Kim Example", case.title):
        assert secret not in everything
    for shown in (case.reference, visit.title, visit.due_display):
        assert shown in email.body and shown in html
    assert f"http://testserver/cases/{case.pk}/" in email.body
    assert f'href="http://testserver/cases/{case.pk}/"' in html
    assert email.extra_headers["Message-ID"].endswith("@testserver>")

    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"{case.reference}: {visit.title}"
    assert event.decoded("DTSTART") == dt.date(2026, 1, 8)
    assert email.attachments[0].get_filename() == "deadline.ics"


def test_an_installation_may_allow_names(frozen, case, coordinator, editor, settings):
    settings.NAMES_IN_NOTIFICATIONS = True
    case.prisoners.add(
        factories.PrisonerFactory(
            code="POW-A", legal_name="Kim Example", owner=case.lead_organization
        )
    )
    make_visits(case, coordinator, [coordinator, editor])
    frozen(FIRST_POINT)
    reminders_dispatch()
    bodies = {email.to[0]: email.body for email in mail.outbox}
    assert "POW-A" in bodies["coordinator@example.org"]
    assert case.title in bodies["editor@example.org"]
    # Legal names stay need-to-know: only the lead organization's coordinators see them.
    assert "Kim Example" in bodies["coordinator@example.org"]
    assert "Kim Example" not in bodies["editor@example.org"]


def test_each_recipient_reads_the_email_in_their_language(frozen, case, coordinator):
    profile = services.profile_get(coordinator)
    profile.language = "uk"
    profile.save()
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    reminders_dispatch()
    [email] = mail.outbox
    assert "січня 2026" in email.body  # 8 January 2026, in Ukrainian


def test_reply_due_reminder_mentions_its_kind(frozen, case, coordinator):
    factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.REPLY_DUE,
        title="Reply due",
        due_on=dt.date(2026, 1, 10),
        assignees=[coordinator],
    )
    frozen(dt.datetime(2026, 1, 9, 8, 1, tzinfo=UTC))
    reminders_dispatch()
    [email] = mail.outbox
    assert "Kind: Reply due" in email.body


# --- Two dispatchers at once (PostgreSQL) -----------------------------------------------------
def test_recipients_of_one_email_each_get_their_own_headers(
    frozen, case, coordinator, editor, smtp_server, settings
):
    [visit] = make_visits(case, coordinator, [coordinator, editor])
    frozen(FIRST_POINT)
    reminders_dispatch()

    emails = {email["To"]: email for email in smtp_server.messages}
    assert set(emails) == {"coordinator@example.org", "editor@example.org"}
    message_ids = dict(due_rows().values_list("recipient__email", "message_id"))
    subject = f"[{case.reference}] In 3 days: {visit.title} ({visit.due_display})"
    for address, email in emails.items():
        for name in ("To", "From", "Date", "Subject", "Message-ID", "MIME-Version"):
            assert len(email.get_all(name)) == 1, name
        assert email["Message-ID"] == message_ids[address]
        assert email["From"] == settings.DEFAULT_FROM_EMAIL
        assert email["Date"].datetime.replace(tzinfo=UTC) == FIRST_POINT
        assert email["Subject"] == subject
        assert [part.get_content_type() for part in email.walk()] == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar",
        ]
    assert sorted(smtp_server.handler.envelopes) == [
        ("cases@localhost", ["coordinator@example.org"]),
        ("cases@localhost", ["editor@example.org"]),
    ]


def test_an_address_that_needs_encoding_still_arrives(frozen, case, coordinator, smtp_server):
    coordinator.email = "kim@exämple.org"
    coordinator.save()
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    assert reminders_dispatch().sent == 1
    [email] = smtp_server.messages
    assert email["To"] == "kim@xn--exmple-cua.org"
    assert email["Message-ID"] == due_rows().get().message_id


def test_the_email_written_out_directly_reads_as_djangos_own(settings):
    """The bytes the SMTP path sends say what Django's message says, header by header and
    part by part (non-ASCII subject, long lines, a calendar file)."""
    from email import message_from_bytes
    from email.policy import default

    from cases.services.reminders.messages import _Email, _Template

    settings.DEFAULT_FROM_EMAIL = "Справка <cases@example.org>"
    template = _Template(
        subject=" ".join(["[CASE-2026-0001] 3일 남음: 후속 방문, 변호인 동행"] * 3),
        text="Нагадування: " + "довгий рядок без розриву " * 60 + "\n\nEnde.\n",
        html="<p>" + "긴 줄 " * 400 + "</p>\n",
        ical="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Дедлайни\r\nEND:VCALENDAR\r\n",
    )
    email = _Email(template, to="kim@example.org", message_id="<reminder.1@example.org>")
    ours = message_from_bytes(email.as_bytes(), policy=default)
    django = message_from_bytes(email.message().message().as_bytes(), policy=default)

    for name in ("To", "From", "Message-ID", "MIME-Version", "Auto-Submitted"):
        assert ours.get_all(name) == django.get_all(name), name
    # Django's folding leaves a space before an encoded subject; a reader strips it.
    assert [ours["Subject"]] == [value.strip() for value in django.get_all("Subject")]
    assert ours["Subject"] == template.subject
    assert ours["From"] == settings.DEFAULT_FROM_EMAIL
    assert [part.get_content_type() for part in ours.walk()] == [
        part.get_content_type() for part in django.walk()
    ]
    for mine, theirs in zip(ours.walk(), django.walk(), strict=True):
        if not mine.is_multipart():
            assert mine.get_content() == theirs.get_content()
            assert mine.get_params() == theirs.get_params()
            assert mine.get_filename() == theirs.get_filename()
    assert all(len(line) <= 998 for line in email.as_bytes().split(b"\r\n"))
    assert b"\n" not in email.as_bytes().replace(b"\r\n", b"")
