"""Dispatching reminders: each one delivered once, through refusals, retries and crashes.

Delivery itself is under test here, so most tests send to a real SMTP server on loopback
(aiosmtpd, the ``smtp_server`` fixture) and read what it received.
"""

import datetime as dt
import io
import threading
import time

import pytest
from django.core import mail
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.management import CommandError, call_command
from django.db import connection

from cases import services
from cases.models import (
    CaseShare,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from cases.models.reminders import MAX_ATTEMPTS
from cases.services.reminders import delivery, recovery, reminders_dispatch
from tests import factories

UTC = dt.UTC
FIRST_POINT = dt.datetime(2026, 1, 5, 8, 1, tzinfo=UTC)  # just after the 3-day reminders


@pytest.fixture
def frozen(time_machine):
    def freeze(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    freeze(dt.datetime(2026, 1, 3, 12, tzinfo=UTC))
    return freeze


def make_visits(case, by, users, count=1):
    """``count`` follow-up visits due 8 January, each assigned to ``users``."""
    return [
        factories.make_deadline(
            case=case,
            by=by,
            title=f"Follow-up visit {number}",
            due_on=dt.date(2026, 1, 8),
            assignees=users,
        )
        for number in range(count)
    ]


def due_rows():
    return Reminder.objects.filter(
        kind=ReminderKind.REMINDER, point_on=dt.date(2026, 1, 5)
    ).order_by("pk")


def test_dispatch_run_twice_sends_each_reminder_once(frozen, case, coordinator, editor):
    make_visits(case, coordinator, [coordinator, editor], count=3)
    frozen(FIRST_POINT)

    first = reminders_dispatch()
    second = reminders_dispatch()

    assert (first.sent, second.sent) == (6, 0)
    ids = [email.extra_headers["Message-ID"] for email in mail.outbox]
    assert len(ids) == len(set(ids)) == 6
    assert set(ids) == set(due_rows().values_list("message_id", flat=True))
    assert all(row.status == "sent" and row.sent_at == FIRST_POINT for row in due_rows())
    assert all(row.attempts == 1 for row in due_rows())


def test_one_smtp_connection_per_batch(frozen, case, coordinator, editor, smtp_server, settings):
    settings.REMINDER_SMTP_CONNECTIONS = 1
    make_visits(case, coordinator, [coordinator, editor], count=5)
    frozen(FIRST_POINT)
    reminders_dispatch(batch_size=100)
    assert smtp_server.handler.accepted == 10
    assert smtp_server.handler.connections == 1

    frozen(dt.datetime(2026, 1, 7, 8, 1, tzinfo=UTC))
    reminders_dispatch(batch_size=4)
    assert smtp_server.handler.accepted == 20
    assert smtp_server.handler.connections == 1 + 3  # 10 emails in batches of 4


def test_a_batch_sends_over_several_connections_at_once(
    frozen, case, coordinator, editor, smtp_server, settings
):
    settings.REMINDER_SMTP_CONNECTIONS = 4
    smtp_server.handler.delay = 0.2  # a slow server: every connection is kept busy
    make_visits(case, coordinator, [coordinator, editor], count=5)
    frozen(FIRST_POINT)
    started = time.monotonic()
    result = reminders_dispatch()
    took = time.monotonic() - started

    assert result.sent == 10 and smtp_server.handler.accepted == 10
    assert smtp_server.handler.connections == 4  # never more than the setting
    assert took < 10 * 0.2  # one after the other, the server alone would take 2 s
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(due_rows().values_list("message_id", flat=True))
    assert set(due_rows().values_list("status", flat=True)) == {"sent"}


def test_a_server_taking_fewer_connections_gets_every_email_once(
    frozen, case, coordinator, editor, smtp_server, settings, monkeypatch
):
    """A server limiting connections per client refuses the third: the emails go over the
    two it took, none is counted as failed, none is sent twice."""
    settings.REMINDER_SMTP_CONNECTIONS = 4
    smtp_server.handler.delay = 0.2  # every connection is kept busy
    opened, refused, lock = [], [], threading.Lock()

    class TwoConnections(SmtpBackend):
        def open(self):
            with lock:  # connections open in the senders' threads
                if self.connection is None:
                    if len(opened) >= 2:
                        refused.append(self)
                        raise ConnectionRefusedError("too many connections from your host")
                    opened.append(self)
            return super().open()

    monkeypatch.setattr(delivery, "mail_backend", lambda: TwoConnections(fail_silently=False))
    make_visits(case, coordinator, [coordinator, editor], count=5)
    frozen(FIRST_POINT)
    result = reminders_dispatch()

    assert (result.sent, result.retrying, result.failed) == (10, 0, 0)
    assert smtp_server.handler.connections == 2 and refused
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(due_rows().values_list("message_id", flat=True))
    assert {row.attempts for row in due_rows()} == {1}


def test_refused_mail_is_retried_with_backoff_then_delivered_once(
    frozen, case, coordinator, editor, smtp_server, settings
):
    settings.REMINDER_SMTP_CONNECTIONS = 1
    make_visits(case, coordinator, [coordinator, editor], count=2)
    smtp_server.handler.refuse_all = "451 4.3.0 Mailbox busy, try again later"
    frozen(FIRST_POINT)

    result = reminders_dispatch()
    assert (result.sent, result.retrying) == (0, 4)
    for row in due_rows():
        assert row.status == ReminderStatus.PENDING
        assert row.attempts == 1
        assert "451" in row.last_error and "Mailbox busy" in row.last_error
        assert row.next_attempt_at == FIRST_POINT + dt.timedelta(minutes=1)

    frozen(FIRST_POINT + dt.timedelta(seconds=30))
    assert reminders_dispatch().retrying == 0  # not yet: the retry waits a minute
    frozen(FIRST_POINT + dt.timedelta(minutes=1))
    assert reminders_dispatch().retrying == 4
    assert {row.next_attempt_at for row in due_rows()} == {
        FIRST_POINT + dt.timedelta(minutes=3)  # then two minutes
    }

    smtp_server.handler.refuse_all = None  # the server recovers
    frozen(FIRST_POINT + dt.timedelta(minutes=3))
    assert reminders_dispatch().sent == 4
    frozen(FIRST_POINT + dt.timedelta(minutes=10))
    assert reminders_dispatch().sent == 0

    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(due_rows().values_list("message_id", flat=True))
    for row in due_rows():
        assert row.status == ReminderStatus.SENT
        assert row.attempts == 3
        assert row.last_error == ""  # sent in the end: the old error no longer shows
    assert smtp_server.handler.refused == 8
    # A 451 leaves the connection usable: one connection per round, not one per refusal.
    assert smtp_server.handler.connections == 3


def test_backoff_doubles_up_to_an_hour():
    minutes = [delivery._backoff(n).total_seconds() / 60 for n in range(1, MAX_ATTEMPTS + 1)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]


def test_after_eight_failures_the_row_fails_and_the_coordinators_are_told(
    frozen, case, coordinator, editor, smtp_server
):
    [visit] = make_visits(case, coordinator, [editor])
    # 4xx: "not now", so it is retried with backoff until it gives up.
    smtp_server.handler.refuse_rcpt["editor@example.org"] = "452 4.2.2 Mailbox full"
    now = FIRST_POINT
    for _attempt in range(MAX_ATTEMPTS):
        frozen(now)
        reminders_dispatch()
        row = Reminder.objects.get(deadline=visit, recipient=editor, point_on=dt.date(2026, 1, 5))
        now = row.next_attempt_at

    assert row.status == ReminderStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert "Mailbox full" in row.last_error
    assert smtp_server.messages == []  # the report waits a few minutes to gather others
    now = row.updated_at + recovery.REPORT_GATHER
    frozen(now)
    reminders_dispatch()
    [report] = smtp_server.messages
    assert report["To"] == "coordinator@example.org"
    assert report["Subject"] == "Reminder not delivered: 1 reminder"
    body = report.get_body(("plain",)).get_content()
    assert f"[{case.reference}] Follow-up visit 0" in body
    assert "editor@example.org" in body and "Mailbox full" in body
    assert "8 attempts" in body
    assert list(delivery.selectors.reminders_failed_for_case(case)) == [row]

    frozen(now + dt.timedelta(hours=3))
    reminders_dispatch()
    assert len(smtp_server.messages) == 1  # the failed row is not retried on its own


def test_staff_see_failed_reminders_in_the_admin_and_can_send_them_again(
    frozen, case, coordinator, editor, staff, client
):
    [visit] = make_visits(case, coordinator, [editor])
    row = Reminder.objects.get(deadline=visit, recipient=editor, point_on=dt.date(2026, 1, 5))
    Reminder.objects.filter(pk=row.pk).update(
        status=ReminderStatus.FAILED, attempts=MAX_ATTEMPTS, last_error="550 No such mailbox"
    )
    frozen(FIRST_POINT)
    client.force_login(staff)

    listing = client.get("/admin/cases/reminder/?status__exact=failed")
    assert listing.status_code == 200
    assert "550 No such mailbox" in listing.text and case.reference in listing.text
    assert client.get(f"/admin/cases/reminder/{row.pk}/delete/").status_code == 403

    response = client.post(
        "/admin/cases/reminder/", {"action": "send_again", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert "1 failed reminder will be sent again." in client.get(response.url).text
    reminders_dispatch()
    assert [email.to for email in mail.outbox] == [["editor@example.org"]]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 1)


def test_a_row_left_sending_by_a_dead_worker_is_resent_with_the_same_message_id(
    frozen, case, coordinator, smtp_server
):
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    token, [claimed] = delivery._claim(delivery.Q(digest=False), limit=10)  # then it dies
    assert claimed.status == ReminderStatus.SENDING

    reminders_dispatch()
    assert smtp_server.messages == []  # its lease is still running

    frozen(FIRST_POINT + delivery.LEASE + dt.timedelta(seconds=1))
    result = reminders_dispatch()
    assert (result.recovered, result.sent) == (1, 1)
    [email] = smtp_server.messages
    assert email["Message-ID"] == claimed.message_id
    row = Reminder.objects.get(pk=claimed.pk)
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)

    # The dead worker's late "sent" does not touch the row any more.
    assert not delivery._finish(claimed, token, status=ReminderStatus.SENT)


def test_a_worker_dying_mid_batch_resends_at_most_its_last_unmarked_group(
    frozen, case, coordinator, editor, viewer, smtp_server, monkeypatch, settings
):
    settings.REMINDER_SMTP_CONNECTIONS = 1
    make_visits(case, coordinator, [coordinator, editor, viewer], count=10)  # 30 reminders
    monkeypatch.setattr(delivery, "SENT_GROUP_WAIT", 60)  # groups by count only, however slow
    frozen(FIRST_POINT)

    class Died(BaseException):
        """The process is gone: nothing of it runs any more, not even its cleanup."""

    taken, dead = 0, False
    send_one, mark_sent = delivery._send_one, delivery._mark_sent

    def send_then_die(*args):
        nonlocal taken, dead
        error = send_one(*args)
        taken += 1
        if taken == 25:  # the server took the 25th email, then the worker was killed
            dead = True
            raise Died
        return error

    def mark_sent_while_alive(rows, token):
        return 0 if dead else mark_sent(rows, token)

    release = delivery._release_claim

    def release_while_alive(token, ids):
        return 0 if dead else release(token, ids)

    monkeypatch.setattr(delivery, "_send_one", send_then_die)
    monkeypatch.setattr(delivery, "_mark_sent", mark_sent_while_alive)
    monkeypatch.setattr(delivery, "_release_claim", release_while_alive)
    with pytest.raises(Died):
        reminders_dispatch()
    monkeypatch.undo()
    assert due_rows().filter(status=ReminderStatus.SENT).count() == delivery.SENT_GROUP

    frozen(FIRST_POINT + delivery.LEASE + dt.timedelta(seconds=1))
    result = reminders_dispatch()
    assert (result.recovered, result.sent) == (10, 10)
    ids = smtp_server.handler.message_ids()
    assert len(ids) == 35 and set(ids) == set(due_rows().values_list("message_id", flat=True))
    # Resent: the five emails taken after the last group was marked, with their Message-IDs.
    assert len(ids) - len(set(ids)) == 25 - delivery.SENT_GROUP == 5
    assert set(due_rows().values_list("status", flat=True)) == {"sent"}


def test_a_worker_dying_while_sending_on_several_connections_resends_a_bounded_few(
    frozen, case, coordinator, editor, viewer, smtp_server, monkeypatch, settings
):
    """With four connections, the emails the server took but the database does not yet know
    are at most the unmarked group plus one per connection: those, and only those, go again
    (same Message-IDs) when the lease runs out; nothing is lost."""
    settings.REMINDER_SMTP_CONNECTIONS = 4
    make_visits(case, coordinator, [coordinator, editor, viewer], count=20)  # 60 reminders
    monkeypatch.setattr(delivery, "SENT_GROUP_WAIT", 60)  # groups by count only, however slow
    frozen(FIRST_POINT)

    class Died(BaseException):
        """The process is gone: nothing of it runs any more, not even its cleanup."""

    lock, taken, dead = threading.Lock(), 0, False
    send_one, mark_sent = delivery._send_one, delivery._mark_sent

    def send_then_die(*args):
        nonlocal taken, dead
        if dead:  # a dead process sends nothing more
            raise Died
        error = send_one(*args)
        with lock:
            taken += 1
            if taken == 45:  # the server took the 45th email, then the worker was killed
                dead = True
        if dead:
            raise Died
        return error

    monkeypatch.setattr(delivery, "_send_one", send_then_die)
    monkeypatch.setattr(
        delivery, "_mark_sent", lambda rows, token: 0 if dead else mark_sent(rows, token)
    )
    release = delivery._release_claim
    monkeypatch.setattr(
        delivery, "_release_claim", lambda token, ids: 0 if dead else release(token, ids)
    )
    with pytest.raises(Died):
        reminders_dispatch()
    monkeypatch.undo()
    received_before = smtp_server.handler.accepted
    marked = due_rows().filter(status=ReminderStatus.SENT).count()
    assert received_before >= 45
    assert received_before - marked <= delivery.SENT_GROUP + settings.REMINDER_SMTP_CONNECTIONS

    frozen(FIRST_POINT + delivery.LEASE + dt.timedelta(seconds=1))
    reminders_dispatch()
    ids = smtp_server.handler.message_ids()
    assert set(ids) == set(due_rows().values_list("message_id", flat=True))  # none lost
    resent = len(ids) - len(set(ids))
    assert resent == received_before - marked  # exactly those the database did not know
    assert set(due_rows().values_list("status", flat=True)) == {"sent"}


def test_several_due_reminders_for_one_deadline_send_only_the_latest(frozen, case, coordinator):
    make_visits(case, coordinator, [coordinator])
    frozen(dt.datetime(2026, 1, 7, 9, tzinfo=UTC))  # dispatch was down since 5 January
    reminders_dispatch()
    [email] = mail.outbox
    assert "Tomorrow" in email.subject
    stale = Reminder.objects.get(point_on=dt.date(2026, 1, 5), kind="reminder")
    assert stale.status == ReminderStatus.CANCELLED
    assert stale.cancelled_reason == "A later reminder for this deadline went out instead."


def test_each_recipient_reads_the_email_in_their_language(frozen, case, coordinator):
    profile = services.profile_get(coordinator)
    profile.language = "uk"
    profile.save()
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    reminders_dispatch()
    [email] = mail.outbox
    assert "січня 2026" in email.body  # 8 January 2026, in Ukrainian


def test_a_recipient_who_left_the_organization_gets_nothing(
    frozen, case, coordinator, partner, partner_org
):
    share = services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="x"
    )
    make_visits(case, coordinator, [partner])
    share.delete()  # no re-plan: the dispatcher checks again before sending
    frozen(FIRST_POINT)
    reminders_dispatch()
    assert [email.to for email in mail.outbox] == []
    row = Reminder.objects.get(recipient=partner, point_on=dt.date(2026, 1, 5))
    assert row.cancelled_reason == "The recipient can no longer see this case."


def test_send_due_reminders_command_does_one_round(frozen, case, coordinator):
    make_visits(case, coordinator, [coordinator], count=2)
    frozen(FIRST_POINT)
    out = io.StringIO()
    call_command("send_due_reminders", stdout=out)
    assert "Sent 2 email(s) for 2 reminder(s)" in out.getvalue()
    call_command("send_due_reminders", stdout=out)
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--time-budget", "soon"]])
def test_send_due_reminders_command_rejects_bad_input(db, args):
    with pytest.raises(CommandError, match="invalid"):
        call_command("send_due_reminders", *args)


def test_send_due_reminders_replan_picks_up_deadlines_made_elsewhere(frozen, case, coordinator):
    [visit] = make_visits(case, coordinator, [coordinator])
    Reminder.objects.all().delete()  # as if the deadline had been saved without the service
    frozen(FIRST_POINT)
    out = io.StringIO()
    call_command("send_due_reminders", "--replan", stdout=out)
    assert "Re-planned the reminders of 1 deadline(s)." in out.getvalue()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] In 3 days: {visit.title} ({visit.due_display})"
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_every_email_exactly_once(
    frozen, case, coordinator, editor, viewer, smtp_server
):
    make_visits(case, coordinator, [coordinator, editor, viewer], count=40)  # 120 reminders
    smtp_server.handler.delay = 0.005  # each batch takes a while: the rounds overlap
    frozen(FIRST_POINT)
    start = threading.Barrier(3)
    results, errors = [], []

    def dispatcher():
        try:
            start.wait()
            results.append(reminders_dispatch(batch_size=7))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(result.sent for result in results) == 120
    assert sum(result.sent > 0 for result in results) >= 2  # they really ran side by side
    ids = smtp_server.handler.message_ids()
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == set(due_rows().values_list("message_id", flat=True))
    assert set(due_rows().values_list("status", "attempts")) == {("sent", 1)}

    assert reminders_dispatch().sent == 0
    assert len(smtp_server.handler.message_ids()) == 120
