"""Recovery: what a stopped worker, a lost database connection or a mail outage left behind.

- A worker starting again takes back at once the rows it held (``reminders_recover_worker``);
  rows of a worker that never comes back are free once their short lease runs out.
- A lost database connection is retried, reconnecting, for ``DB_RETRY_FOR`` (``db_retry``).
- Rows that gave up because the mail server did not answer are tried again by themselves as
  soon as it answers (``revive_unreachable``); coordinators are told of failures through the
  outbox, gathered into one summary (``report_failure``).
- Old sent rows move to the compact delivery log (``reminders_prune``), and what is older
  than ``REMINDER_KEEP_DAYS`` about a closed deadline is forgotten (``reminders_archive``).
"""

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    DeadlineStatus,
    FailureCause,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    ReminderStatus,
)
from cases.models.reminders import MAX_ATTEMPTS
from cases.selectors import reminders as selectors

from .enqueue import dispatch_soon
from .smtp import smtp_close, smtp_open

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# How long a claimed row belongs to its dispatcher unless renewed. A live dispatcher renews
# the lease of its whole batch every RENEW_EVERY seconds (and checks before each email that
# the row is still its own), so a short lease costs nothing; a dead one's rows are free again
# within a minute, or at once when its worker starts again (reminders_recover_worker). Twice
# the default EMAIL_TIMEOUT, so one slow SMTP reply cannot outlive a renewal.
LEASE = dt.timedelta(seconds=60)
# A lost database connection (a restart, a failover) is retried for this long, reconnecting,
# before a round gives up: rows the mail server took are still marked sent, not resent.
DB_RETRY_FOR = 30.0  # seconds
# Failure reports wait this long before they go out, so that what fails together reaches the
# coordinators as one summary rather than one email per reminder.
REPORT_GATHER = dt.timedelta(minutes=5)


def this_worker() -> str:
    """Who claims rows when no Celery node name is given: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def db_retry(operation: Callable[[], _T]) -> _T:
    """Run one database step, reconnecting for up to ``DB_RETRY_FOR`` if the connection is lost.

    Only outside a transaction (a step is one autocommitted statement), so retrying it is
    safe: each step is a conditional UPDATE or a read.
    """
    give_up_at = time.monotonic() + DB_RETRY_FOR
    while True:
        try:
            return operation()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() >= give_up_at:
                raise
            log.warning("Lost the database connection; reconnecting.", exc_info=True)
            connection.close()
            time.sleep(0.5)


def reminder_retry(*, reminder: Reminder) -> bool:
    """Send a failed reminder again (e.g. after the mail server was fixed)."""
    now = timezone.now()
    retried = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if retried:
        transaction.on_commit(dispatch_soon)
    return bool(retried)


def reminders_recover_worker(*, worker: str, started_at: dt.datetime) -> int:
    """A worker starting again takes back at once the rows it held when it stopped.

    Only rows it claimed before ``started_at``: what it claims after starting is in flight.
    They go back to the queue with their Message-ID, due now, and a round is asked for.
    """
    now = timezone.now()
    recovered = Reminder.objects.filter(
        status=ReminderStatus.SENDING, claimed_by=worker, claimed_at__lt=started_at
    ).update(
        status=ReminderStatus.PENDING,
        claim_token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        updated_at=now,
    )
    if recovered:
        log.warning("Took back %s reminder(s) that %s held when it stopped.", recovered, worker)
        dispatch_soon()
    return recovered


def reminders_prune(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """Move sent rows older than ``REMINDER_LOG_AFTER_DAYS`` to the delivery log; how many.

    Each chunk is one transaction: a row is logged and deleted together, or neither. Rows
    that a failure report still waits on stay until the report is sent.
    """
    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.REMINDER_LOG_AFTER_DAYS)
    old = (
        Reminder.objects.filter(status=ReminderStatus.SENT, sent_at__lt=before)
        .exclude(failure_reports__status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING])
        .order_by("pk")
    )
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                old.filter(about__isnull=True).values(
                    "pk", "deadline_id", "recipient_id", "kind", "point_on", "sent_at", "message_id"
                )[:chunk]
            )
            reports = list(
                Reminder.objects.filter(
                    kind=ReminderKind.FAILURE_REPORT,
                    status=ReminderStatus.SENT,
                    sent_at__lt=before,
                ).values_list("pk", flat=True)[:chunk]
            )
            if not rows and not reports:
                return moved
            ReminderDelivery.objects.bulk_create(
                [
                    ReminderDelivery(
                        deadline_id=row["deadline_id"],
                        recipient_id=row["recipient_id"],
                        kind=row["kind"],
                        point_on=row["point_on"],
                        sent_at=row["sent_at"],
                        message_id=row["message_id"],
                    )
                    for row in rows
                ],
                ignore_conflicts=True,
            )
            # Reports first: a reminder's reports go with it (and are not worth keeping).
            Reminder.objects.filter(pk__in=reports).delete()
            Reminder.objects.filter(
                pk__in=[row["pk"] for row in rows], status=ReminderStatus.SENT
            ).delete()
            moved += len(rows)


@dataclass
class ArchiveResult:
    moved_to_log: int = 0  # sent outbox rows now in the delivery log
    outbox_deleted: int = 0  # cancelled or failed outbox rows forgotten
    log_deleted: int = 0  # delivery-log rows forgotten


def reminders_archive(*, now: dt.datetime | None = None, chunk: int = 1000) -> ArchiveResult:
    """The retention policy of the outbox (docs/reminders.md, "What is kept"): sent rows move
    to the delivery log after ``REMINDER_LOG_AFTER_DAYS``; after ``REMINDER_KEEP_DAYS`` the rows
    about a deadline that is no longer open are deleted: cancelled and failed outbox rows and
    delivery-log rows. Rows of open deadlines stay, whatever their age (planning reads them so
    that nobody is told the same thing twice), and so do pending and sending rows.

    Batched (``chunk`` rows per transaction) and idempotent: run again, it finds nothing.
    The deadline and its history, the case's timeline and the audit chains are never touched
    (neither table is tracked or chained).
    """
    now = now or timezone.now()
    result = ArchiveResult(moved_to_log=reminders_prune(now=now, chunk=chunk))
    before = now - dt.timedelta(
        days=max(settings.REMINDER_KEEP_DAYS, settings.REMINDER_LOG_AFTER_DAYS)
    )
    closed = ~Q(deadline__status=DeadlineStatus.OPEN)
    outbox = Reminder.objects.filter(
        closed,
        status__in=[ReminderStatus.CANCELLED, ReminderStatus.FAILED],
        updated_at__lt=before,
    )
    # Failure reports about a deleted row go with it (on_delete=CASCADE); they were sent,
    # cancelled or failed long ago: a pending one keeps its row (it is about to be sent).
    outbox = outbox.exclude(
        failure_reports__status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING]
    )
    result.outbox_deleted = _delete_in_chunks(Reminder, outbox, chunk)
    log = ReminderDelivery.objects.filter(closed, sent_at__lt=before)
    result.log_deleted = _delete_in_chunks(ReminderDelivery, log, chunk)
    return result


def _delete_in_chunks(model, queryset, chunk: int) -> int:
    """Delete what ``queryset`` finds, ``chunk`` rows per transaction; how many rows."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:chunk])
            if not ids:
                return deleted
            # Rows of the model itself (failure reports going with their row are among them).
            deleted += model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)


def recover_expired_leases() -> int:
    """Rows whose dispatcher died mid-send go back to the queue, keeping their Message-ID."""
    now = timezone.now()
    expired = selectors.reminders_with_expired_lease(now=now)
    failed = expired.filter(attempts__gte=MAX_ATTEMPTS)
    for row in failed.select_related("deadline__case"):
        gave_up = Reminder.objects.filter(
            pk=row.pk, status=ReminderStatus.SENDING, lease_expires_at__lte=now
        ).update(
            status=ReminderStatus.FAILED,
            claim_token=None,
            lease_expires_at=None,
            next_attempt_at=None,  # no longer due (Reminder.next_attempt_at)
            last_error=_("A worker stopped while sending; delivery is unknown."),
            failure_cause=FailureCause.OTHER,
            updated_at=now,
        )
        if gave_up:
            report_failure(row)
    return expired.update(
        status=ReminderStatus.PENDING,
        claim_token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        updated_at=now,
    )


def revive_unreachable() -> int:
    """Rows that gave up because the mail server did not answer are tried again, by
    themselves, as soon as it answers (one connection opened per round while there are any)."""
    waiting = selectors.reminders_given_up_unreachable()
    if not waiting.exists():
        return 0
    mail = get_connection(fail_silently=False)
    if smtp_open(mail) is not None:
        return 0
    smtp_close(mail)
    now = timezone.now()
    revived = waiting.update(
        status=ReminderStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    log.warning("The mail server answers again: %s reminder(s) will be sent now.", revived)
    return revived


def report_failure(row: Reminder) -> None:
    """Tell the case's coordinators that someone did not get a reminder (through the outbox).

    Reports wait ``REPORT_GATHER`` and then every report waiting for a coordinator goes out as
    one summary, so a mail outage brings each coordinator one email, not one per reminder.
    """
    if row.kind == ReminderKind.FAILURE_REPORT:
        return  # a report about a report would go the same broken way
    due = timezone.now() + REPORT_GATHER
    coordinators = selectors.case_coordinators(row.deadline.case).exclude(email="")
    reports = [
        Reminder(
            deadline_id=row.deadline_id,
            recipient=coordinator,
            kind=ReminderKind.FAILURE_REPORT,
            point_on=row.point_on,
            about_id=row.pk,
            scheduled_for=due,
            next_attempt_at=due,
        )
        for coordinator in coordinators
    ]
    if not reports:
        log.error("Reminder %s failed and its case has no coordinator to tell.", row.pk)
        return
    Reminder.objects.bulk_create(reports, ignore_conflicts=True)
