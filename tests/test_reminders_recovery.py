"""Recovery and failures: what a stopped worker, a refusal or a mail outage leaves behind.

A real SMTP server on loopback (the ``smtp_server`` fixture) takes, refuses or is not there;
time is frozen. The drills in tests/system/test_reminder_drills.py do the same with real
worker processes.
"""

import datetime as dt

import pytest

from cases import services
from cases.models import (
    DeadlineStatus,
    FailureCause,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from cases.models.reminders import MAX_ATTEMPTS
from cases.services.reminders import delivery, recovery, reminders_dispatch
from tests import factories
from tests.smtp import free_port
from tests.test_reminders_dispatch import FIRST_POINT, due_rows, make_visits

UTC = dt.UTC


@pytest.fixture
def frozen(time_machine):
    def freeze(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    freeze(dt.datetime(2026, 1, 3, 12, tzinfo=UTC))
    return freeze


def test_a_restarted_worker_takes_back_at_once_what_it_held(
    frozen, case, coordinator, editor, smtp_server
):
    make_visits(case, coordinator, [coordinator, editor], count=3)
    frozen(FIRST_POINT)
    _token, held = delivery._claim(delivery.Q(digest=False), limit=4, worker="celery@w1")
    assert len(held) == 4  # ... and then the worker was killed
    frozen(FIRST_POINT + dt.timedelta(seconds=5))
    assert reminders_dispatch(worker="celery@w2").sent == 2  # the others are not free yet

    # Another worker's start-up takes nothing of it; its own start-up takes back all of it.
    started = FIRST_POINT + dt.timedelta(seconds=6)
    assert services.reminders_recover_worker(worker="celery@w2", started_at=started) == 0
    assert services.reminders_recover_worker(worker="celery@w1", started_at=started) == 4
    result = reminders_dispatch(worker="celery@w1")
    assert result.sent == 4
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(due_rows().values_list("message_id", flat=True))  # each once
    assert set(due_rows().values_list("status", flat=True)) == {"sent"}


def test_a_worker_does_not_take_back_what_it_claimed_after_starting(frozen, case, coordinator):
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    delivery._claim(delivery.Q(digest=False), limit=10, worker="celery@w1")
    assert services.reminders_recover_worker(worker="celery@w1", started_at=FIRST_POINT) == 0
    assert due_rows().get().status == ReminderStatus.SENDING


def test_a_dead_workers_rows_are_free_after_the_short_lease(frozen, case, coordinator, smtp_server):
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    delivery._claim(delivery.Q(digest=False), limit=10, worker="celery@gone")
    assert dt.timedelta(seconds=60) >= delivery.LEASE
    frozen(FIRST_POINT + delivery.LEASE + dt.timedelta(seconds=1))
    result = reminders_dispatch()
    assert (result.recovered, result.sent) == (1, 1)


def test_a_live_batch_renews_its_lease(frozen, case, coordinator, monkeypatch):
    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    token, [row] = delivery._claim(delivery.Q(digest=False), limit=10)
    lease = delivery._Lease(token)
    frozen(FIRST_POINT + dt.timedelta(seconds=50))
    monkeypatch.setattr(delivery.time, "monotonic", lambda: lease.renewed + delivery.RENEW_EVERY)
    lease.renew_if_due()
    row.refresh_from_db()
    assert row.lease_expires_at == FIRST_POINT + dt.timedelta(seconds=50) + delivery.LEASE


def test_a_permanent_refusal_fails_at_once_and_coordinators_get_one_summary(
    frozen, case, coordinator, editor, viewer, smtp_server
):
    make_visits(case, coordinator, [editor, viewer], count=3)
    for address in ("editor@example.org", "viewer@example.org"):
        smtp_server.handler.refuse_rcpt[address] = "550 5.1.1 No such mailbox"
    frozen(FIRST_POINT)

    result = reminders_dispatch()
    assert (result.failed, result.retrying) == (6, 0)
    for row in due_rows():
        assert (row.status, row.attempts) == (ReminderStatus.FAILED, 1)
        assert row.failure_cause == FailureCause.REFUSED and "No such mailbox" in row.last_error

    frozen(FIRST_POINT + recovery.REPORT_GATHER)
    reminders_dispatch()
    frozen(FIRST_POINT + dt.timedelta(hours=3))
    reminders_dispatch()
    [summary] = smtp_server.messages  # one email for six failures, and nothing retried
    assert summary["To"] == "coordinator@example.org"
    assert summary["Subject"] == "Reminders not delivered: 6 reminders"
    body = summary.get_body(("plain",)).get_content()
    assert body.count("No such mailbox") == 6
    assert "editor@example.org" in body and "viewer@example.org" in body
    reports = Reminder.objects.filter(kind=ReminderKind.FAILURE_REPORT)
    assert {row.status for row in reports} == {ReminderStatus.SENT}
    assert {row.message_id for row in reports} == {summary["Message-ID"]}


def test_a_long_outage_heals_itself_and_says_so_once(
    frozen, case, coordinator, editor, smtp_server, settings
):
    make_visits(case, coordinator, [editor], count=2)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there: the server is unreachable
    now = FIRST_POINT
    for _attempt in range(MAX_ATTEMPTS):
        frozen(now)
        reminders_dispatch()
        # The next retry; a row that gave up has no due time any more (it failed now).
        now = max(row.next_attempt_at or now for row in due_rows())
    assert {(row.status, row.failure_cause) for row in due_rows()} == {
        (ReminderStatus.FAILED, FailureCause.UNREACHABLE)
    }
    frozen(now + dt.timedelta(hours=1))
    assert reminders_dispatch().revived == 0  # still unreachable: nothing changes

    settings.EMAIL_PORT = port  # the server answers again
    frozen(now + dt.timedelta(hours=2))
    result = reminders_dispatch()
    assert result.revived == 2  # both reminders (the report was still retrying by itself)
    assert {row.status for row in due_rows()} == {ReminderStatus.SENT}
    assert all(row.last_error == "" for row in due_rows())
    to = [message["To"] for message in smtp_server.messages]
    assert sorted(to) == ["coordinator@example.org", "editor@example.org", "editor@example.org"]
    [summary] = [m for m in smtp_server.messages if m["To"] == "coordinator@example.org"]
    body = summary.get_body(("plain",)).get_content()
    assert body.count("Delivered in the end") == 2


def test_a_cancel_or_a_move_during_a_batch_stops_what_has_not_left(
    frozen, case, coordinator, editor, viewer, smtp_server, monkeypatch, settings
):
    settings.REMINDER_SMTP_CONNECTIONS = 1  # one email at a time: exactly two have left
    cancelled, moved = make_visits(case, coordinator, [coordinator, editor, viewer], count=2)
    frozen(FIRST_POINT)
    send_one, sent = delivery._send_one, []

    def send_then_change(*args):
        error = send_one(*args)
        sent.append(args[2].deadline_id)
        if len(sent) == 2:  # two emails have left; now people act on the deadlines
            services.deadline_change_status(
                deadline=cancelled, to=DeadlineStatus.CANCELLED, by=coordinator, reason="x"
            )
            services.deadline_update(deadline=moved, by=coordinator, due_on=dt.date(2026, 1, 15))
        return error

    monkeypatch.setattr(delivery, "_send_one", send_then_change)
    result = reminders_dispatch()
    assert result.sent == 2 and len(smtp_server.messages) == 2
    assert result.cancelled == 4
    reasons = set(
        due_rows()
        .filter(status=ReminderStatus.CANCELLED)
        .values_list("cancelled_reason", flat=True)
    )
    assert reasons == {"The deadline is cancelled.", "The deadline moved."}


def test_a_cancel_during_a_batch_on_several_connections_lets_out_one_per_connection(
    frozen, case, coordinator, editor, viewer, smtp_server, monkeypatch, settings
):
    """With four connections, a cancel stops every email not yet checked: only those already
    checked and handed to a connection (at most one per connection) still go out."""
    settings.REMINDER_SMTP_CONNECTIONS = 4
    smtp_server.handler.delay = 0.02
    visits = make_visits(case, coordinator, [coordinator, editor, viewer], count=10)
    frozen(FIRST_POINT)
    record, outcomes = delivery._record_outcome, []

    def record_then_cancel(outcome, *args):
        record(outcome, *args)
        outcomes.append(outcome)
        if len(outcomes) == 2:  # two emails have left; now every deadline is cancelled
            for visit in visits:
                services.deadline_change_status(
                    deadline=visit, to=DeadlineStatus.CANCELLED, by=coordinator, reason="x"
                )

    monkeypatch.setattr(delivery, "_record_outcome", record_then_cancel)
    result = reminders_dispatch()
    assert 2 <= result.sent <= 2 + settings.REMINDER_SMTP_CONNECTIONS
    assert result.sent + result.cancelled == 30
    assert smtp_server.handler.accepted == result.sent


def test_each_email_is_built_from_the_deadline_as_it_is_when_it_goes_out(
    frozen, case, coordinator, editor, smtp_server, monkeypatch, settings
):
    settings.REMINDER_SMTP_CONNECTIONS = 1
    [visit] = make_visits(case, coordinator, [coordinator, editor])
    frozen(FIRST_POINT)
    send_one = delivery._send_one

    def send_then_retitle(*args):
        error = send_one(*args)
        services.deadline_update(deadline=visit, by=coordinator, title="Visit to the HQ")
        return error

    monkeypatch.setattr(delivery, "_send_one", send_then_retitle)
    reminders_dispatch()
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert "Follow-up visit 0" in subjects[0] and "Visit to the HQ" in subjects[1]


def test_a_deadline_entered_already_overdue_says_so_once(frozen, case, coordinator):
    from django.core import mail

    frozen(dt.datetime(2026, 1, 10, 9, tzinfo=UTC))
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    reminders_dispatch()
    services.reminders_replan_open()
    reminders_dispatch()
    [notice] = mail.outbox
    assert "Overdue" in notice.subject
    assert "had already passed when it was entered" in notice.body
    assert "sent once, on purpose" in notice.body
    assert Reminder.objects.filter(deadline=visit, kind=ReminderKind.OVERDUE).count() == 1


def test_a_notice_for_a_deadline_that_passed_normally_does_not_say_so(frozen, case, coordinator):
    from django.core import mail

    factories.make_deadline(case=case, by=coordinator, assignees=[coordinator])
    frozen(dt.datetime(2026, 1, 9, 8, 1, tzinfo=UTC))
    reminders_dispatch()
    [notice] = [email for email in mail.outbox if "Overdue" in email.subject]
    assert "had already passed when it was entered" not in notice.body


def test_pruning_keeps_a_compact_log_and_the_cron_command_does_it(
    frozen, case, coordinator, editor, settings
):
    import io

    from django.core.management import call_command

    from cases.models import ReminderDelivery

    settings.REMINDER_LOG_AFTER_DAYS = 30
    make_visits(case, coordinator, [coordinator, editor], count=2)
    frozen(FIRST_POINT)
    reminders_dispatch()
    sent = {(row.recipient_id, row.message_id) for row in due_rows()}
    assert len(sent) == 4

    frozen(FIRST_POINT + dt.timedelta(days=29))
    out = io.StringIO()
    call_command("send_due_reminders", "--prune", stdout=out)
    assert "Moved 0 sent reminder(s)" in out.getvalue()  # not old enough yet

    frozen(FIRST_POINT + dt.timedelta(days=31))
    out = io.StringIO()
    call_command("send_due_reminders", "--prune", stdout=out)
    assert "Moved 4 sent reminder(s) to the delivery log." in out.getvalue()
    assert not due_rows().exists()
    logged = {(row.recipient_id, row.message_id) for row in ReminderDelivery.objects.all()}
    assert logged == sent
    assert {row.sent_at for row in ReminderDelivery.objects.all()} == {FIRST_POINT}
    # What was not sent, or sent less than 30 days ago, stays in the outbox.
    assert Reminder.objects.exclude(status=ReminderStatus.SENT).exists()
    assert not Reminder.objects.filter(
        status=ReminderStatus.SENT, sent_at__lt=FIRST_POINT + dt.timedelta(days=1)
    ).exists()
