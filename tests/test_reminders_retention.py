"""Retention of the reminder outbox: finished rows leave the sweep's view at once, sent rows go
to the delivery log after a month, and what is past keeping about closed deadlines goes.

Time is frozen; emails go to Django's locmem outbox (delivery is tested elsewhere).
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from cases import services
from cases.models import (
    DeadlineStatus,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    ReminderStatus,
)
from cases.services.reminders import reminders_archive, reminders_dispatch
from tests.test_reminders_dispatch import FIRST_POINT, make_visits

UTC = dt.UTC


@pytest.fixture
def frozen(time_machine):
    def freeze(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    freeze(dt.datetime(2026, 1, 3, 12, tzinfo=UTC))
    return freeze


def test_finished_rows_have_no_due_time_and_pending_ones_must(frozen, case, coordinator, editor):
    _sent, cancelled_visit = make_visits(case, coordinator, [coordinator, editor], count=2)
    services.deadline_change_status(
        deadline=cancelled_visit, to=DeadlineStatus.CANCELLED, by=coordinator, reason="x"
    )
    frozen(FIRST_POINT)
    assert reminders_dispatch().sent == 2

    rows = Reminder.objects.all()
    sent = rows.filter(status=ReminderStatus.SENT)
    cancelled = rows.filter(status=ReminderStatus.CANCELLED)
    pending = rows.filter(status=ReminderStatus.PENDING)
    assert sent.count() == 2 and cancelled.exists() and pending.exists()
    # What is finished is not due any more: the sweep's estimate counts only pending rows.
    assert not rows.exclude(status=ReminderStatus.PENDING).exclude(next_attempt_at=None).exists()
    assert not pending.filter(next_attempt_at=None).exists()
    assert sent.filter(scheduled_for__lte=FIRST_POINT).count() == 2  # the plan stays on record
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.filter(pk=pending.first().pk).update(next_attempt_at=None)


def test_a_failed_row_has_no_due_time_and_a_retry_gives_it_one(frozen, case, coordinator):
    [visit] = make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    row = Reminder.objects.get(deadline=visit, kind=ReminderKind.REMINDER, point_on="2026-01-05")
    Reminder.objects.filter(pk=row.pk).update(status=ReminderStatus.FAILED, next_attempt_at=None)
    row.refresh_from_db()
    assert services.reminder_retry(reminder=row)
    row.refresh_from_db()
    assert row.status == ReminderStatus.PENDING and row.next_attempt_at == FIRST_POINT
    assert reminders_dispatch().sent == 1


def counts(deadline) -> dict:
    return {
        "outbox": Reminder.objects.filter(deadline=deadline).count(),
        "log": ReminderDelivery.objects.filter(deadline=deadline).count(),
        "history": deadline.history.count(),
    }


def test_sent_rows_go_to_the_log_and_closed_deadlines_are_forgotten_after_keeping(
    frozen, case, coordinator, editor, settings
):
    settings.REMINDER_LOG_AFTER_DAYS = 30
    settings.REMINDER_KEEP_DAYS = 400
    done, still_open = make_visits(case, coordinator, [coordinator, editor], count=2)
    frozen(FIRST_POINT)
    assert reminders_dispatch().sent == 4
    services.deadline_change_status(
        deadline=done, to=DeadlineStatus.DONE, by=coordinator, reason="visited"
    )
    assert Reminder.objects.filter(deadline=done, status=ReminderStatus.CANCELLED).exists()

    frozen(FIRST_POINT + dt.timedelta(days=31))
    result = reminders_archive()
    assert (result.moved_to_log, result.outbox_deleted, result.log_deleted) == (4, 0, 0)
    before = {"done": counts(done), "open": counts(still_open)}
    assert before["done"]["log"] == 2 and before["open"]["log"] == 2

    # A day before the year and a month is over, nothing more goes.
    frozen(FIRST_POINT + dt.timedelta(days=399))
    result = reminders_archive()
    assert (result.moved_to_log, result.outbox_deleted, result.log_deleted) == (0, 0, 0)

    frozen(FIRST_POINT + dt.timedelta(days=401))
    out = io.StringIO()
    call_command("prune_reminders", "--batch-size", "1", stdout=out)
    cancelled = before["done"]["outbox"]
    assert "Moved 0 sent reminder(s) to the delivery log." in out.getvalue()
    assert (
        f"Deleted {cancelled} cancelled or failed reminder(s) and 2 delivery-log row(s)"
        in out.getvalue()
    )
    # The closed deadline keeps its history; what the reminders said about it is gone.
    assert counts(done) == {"outbox": 0, "log": 0, "history": before["done"]["history"]}
    # The open deadline keeps everything: planning reads it so that no one is told twice.
    assert counts(still_open) == before["open"]
    services.reminders_plan(deadline=still_open)
    assert counts(still_open)["outbox"] == before["open"]["outbox"]

    # Run again: nothing left to do.
    out = io.StringIO()
    call_command("send_due_reminders", "--prune", stdout=out)
    assert "Moved 0 sent reminder(s)" in out.getvalue()
    assert "Deleted 0 cancelled or failed reminder(s) and 0 delivery-log row(s)" in out.getvalue()


def test_the_beat_task_applies_the_policy(frozen, case, coordinator, settings):
    from cases.tasks import prune_reminders

    make_visits(case, coordinator, [coordinator])
    frozen(FIRST_POINT)
    reminders_dispatch()
    frozen(FIRST_POINT + dt.timedelta(days=31))
    assert prune_reminders() == {"moved_to_log": 1, "outbox_deleted": 0, "log_deleted": 0}
    assert prune_reminders() == {"moved_to_log": 0, "outbox_deleted": 0, "log_deleted": 0}
