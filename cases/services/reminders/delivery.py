"""Delivery: claiming due rows, sending them over SMTP, recording each outcome, exactly once.

``reminders_dispatch`` claims due rows so that two dispatchers never take the same one, checks
each row again just before its email goes out, sends them over one SMTP connection per batch
and marks them sent, a few at a time (``SENT_GROUP``). A failure is retried with exponential
backoff; after ``MAX_ATTEMPTS`` the row is failed and the case's coordinators are told. Rows
whose worker died mid-send are taken again once their lease runs out and sent with the same
Message-ID (docs/reminders.md, "Delivered once").
"""

import datetime as dt
import hashlib
import logging
import smtplib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    DeadlineStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import period_end
from cases.models.reminders import MAX_ATTEMPTS
from cases.selectors import reminders as selectors

from .common import REMINDING, deadline_passes_at, mail_domain
from .enqueue import dispatch_soon
from .messages import MessageCache, build_digest, build_email
from .planning import cancel_reason

log = logging.getLogger(__name__)

# How long a claimed row belongs to its dispatcher. Longer than the Celery hard time limit
# (CELERY_TASK_TIME_LIMIT, 300 s), so a live worker never loses a row it is sending.
LEASE = dt.timedelta(minutes=10)
# Rows claimed and sent per SMTP connection. Small batches keep memory flat and leases short.
BATCH_SIZE = 100
# Rows whose email the mail server took are marked sent together: at most this many, and at
# most this long after the first of them was taken. A worker dying in between leaves them
# "sending", and they go out again (same Message-ID) once their lease runs out: this bounds the
# only duplicates there can be (docs/reminders.md). One UPDATE per email was a third of the
# time per email in bench/reminders_delivery.py, most of it PostgreSQL committing each one.
SENT_GROUP = 20
SENT_GROUP_WAIT = 0.5  # seconds
# Digest rows one recipient can have in one email (a safety bound, not a normal case).
DIGEST_LIMIT = 500
# One dispatch round stops claiming after this long (well inside the task's soft time limit);
# the next round, a minute later, carries on.
TIME_BUDGET = dt.timedelta(seconds=120)
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)


def _backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, ... minutes after the n-th failed attempt, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def reminder_retry(*, reminder: Reminder) -> bool:
    """Send a failed reminder again (e.g. after the mail server was fixed)."""
    now = timezone.now()
    retried = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if retried:
        transaction.on_commit(dispatch_soon)
    return bool(retried)


@dataclass
class DispatchResult:
    sent: int = 0  # emails handed to the mail server
    delivered_rows: int = 0  # rows marked sent (a digest carries several)
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    more: bool = False  # stopped at the time budget with rows still due


@dataclass
class _Round(MessageCache):
    """One dispatch round: its outcome so far, its time limit, and what it looks up only once
    (who may see which case, and what ``MessageCache`` keeps)."""

    result: DispatchResult = field(default_factory=DispatchResult)
    stop_at: float = 0.0
    visible: dict[tuple[int, int], bool] = field(default_factory=dict)
    sender: str = ""  # the envelope sender, as Django's SMTP backend would give it

    def out_of_time(self) -> bool:
        if time.monotonic() >= self.stop_at:
            self.result.more = True
            return True
        return False

    def look_up_access(self, rows: list[Reminder]) -> None:
        """Which recipients may still see which cases: one query per new recipient."""
        wanted: dict[int, set[int]] = {}
        users = {}
        for row in rows:
            if (row.recipient_id, row.deadline.case_id) not in self.visible:
                wanted.setdefault(row.recipient_id, set()).add(row.deadline.case_id)
                users[row.recipient_id] = row.recipient
        for user_id, case_ids in wanted.items():
            seen = set(
                access.cases_visible_to(users[user_id])
                .filter(pk__in=case_ids)
                .values_list("pk", flat=True)
            )
            for case_id in case_ids:
                self.visible[(user_id, case_id)] = case_id in seen


def reminders_dispatch(
    *, batch_size: int = BATCH_SIZE, time_budget: dt.timedelta = TIME_BUDGET
) -> DispatchResult:
    """One dispatch round: send every due reminder (within the time budget), exactly once."""
    round_ = _Round(stop_at=time.monotonic() + time_budget.total_seconds())
    round_.sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)
    round_.result.recovered = _recover_expired_leases()
    while not round_.out_of_time():
        token, rows = _claim(Q(digest=False), limit=batch_size)
        if not rows:
            break
        _send_each(rows, token, round_)
    for recipient_id in list(selectors.digest_recipients_due(now=timezone.now())[:10_000]):
        if round_.out_of_time():
            break
        token, rows = _claim(Q(digest=True, recipient_id=recipient_id), limit=DIGEST_LIMIT)
        if rows:
            _send_digest(rows, token, round_)
    return round_.result


def _recover_expired_leases() -> int:
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
            last_error=_("A worker stopped while sending; delivery is unknown."),
            updated_at=now,
        )
        if gave_up:
            _report_failure(row)
    return expired.update(
        status=ReminderStatus.PENDING,
        claim_token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        updated_at=now,
    )


def _claim(extra: Q, *, limit: int) -> tuple[uuid.UUID, list[Reminder]]:
    """Take up to ``limit`` due rows for this dispatcher alone.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent dispatchers take disjoint
    rows without waiting. Elsewhere (SQLite, which lets one writer in at a time): a conditional
    ``UPDATE ... WHERE status = 'pending'``. Either way a row moves to "sending" under one
    claim token, and only that claim may mark it sent.
    """
    now = timezone.now()
    token = uuid.uuid4()
    due = selectors.reminders_due(now=now).filter(extra).order_by("next_attempt_at", "pk")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        Reminder.objects.filter(pk__in=ids, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            lease_expires_at=now + LEASE,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    rows = list(
        Reminder.objects.filter(pk__in=ids, claim_token=token, status=ReminderStatus.SENDING)
        .select_related(
            "deadline__case", "deadline__petition", "recipient__profile", "about__recipient"
        )
        .order_by("pk")
    )
    return token, rows


def _finish(row: Reminder, token: uuid.UUID, **changes) -> bool:
    """Change a claimed row, if it is still ours."""
    now = timezone.now()
    changes.setdefault("claim_token", None)
    changes.setdefault("lease_expires_at", None)
    updated = Reminder.objects.filter(
        pk=row.pk, claim_token=token, status=ReminderStatus.SENDING
    ).update(updated_at=now, **changes)
    if not updated:
        log.warning("Reminder %s was taken by another dispatcher after its lease ran out.", row.pk)
    return bool(updated)


def _mark_sent(rows: list[Reminder], token: uuid.UUID) -> int:
    """Record deliveries the mail server took, for the rows that are still ours; how many."""
    ids = [row.pk for row in rows]
    now = timezone.now()
    updated = Reminder.objects.filter(
        pk__in=ids, claim_token=token, status=ReminderStatus.SENDING
    ).update(
        status=ReminderStatus.SENT,
        sent_at=now,
        updated_at=now,
        claim_token=None,
        lease_expires_at=None,
    )
    if updated < len(ids):
        log.warning(
            "%s of reminders %s were taken by another dispatcher after their lease ran out.",
            len(ids) - updated,
            ids,
        )
    return updated


class _Accepted:
    """Rows whose email the mail server took, marked sent in groups (``SENT_GROUP``)."""

    def __init__(self, token: uuid.UUID, result: DispatchResult):
        self.token = token
        self.result = result
        self.rows: list[Reminder] = []
        self.since = 0.0

    def add(self, row: Reminder) -> None:
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append(row)
        if len(self.rows) >= SENT_GROUP or time.monotonic() - self.since >= SENT_GROUP_WAIT:
            self.mark_sent()

    def mark_sent(self) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            self.result.delivered_rows += _mark_sent(rows, self.token)


def _release(rows: Iterable[Reminder], token: uuid.UUID) -> None:
    """Hand claimed rows back untried (the round ran out of time)."""
    for row in rows:
        _finish(row, token, status=ReminderStatus.PENDING, attempts=F("attempts") - 1)


def _sendable(rows: list[Reminder], token, round_: _Round) -> list[Reminder]:
    """Drop rows that must not go out any more, cancelling them with the reason.

    Checked again at send time because the world moves between planning and sending:
    a deadline done in the admin, a mute, a recipient who left the organization.
    """
    now = timezone.now()
    pairs = {(row.recipient_id, row.deadline.case_id) for row in rows}
    muted = set(
        UserProfile.muted_cases.through.objects.filter(
            userprofile__user_id__in={user for user, _case in pairs},
            case_id__in={case for _user, case in pairs},
        ).values_list("userprofile__user_id", "case_id")
    )
    round_.look_up_access(rows)
    result = round_.result
    keep = []
    for row in rows:
        deadline, recipient = row.deadline, row.recipient
        pair = (row.recipient_id, deadline.case_id)
        reason = ""
        if not recipient.is_active:
            reason = _("The recipient's account is inactive.")
        elif not recipient.email:
            reason = _("The recipient has no email address.")
        elif not round_.visible[pair]:
            reason = _("The recipient can no longer see this case.")
        elif row.kind in REMINDING:
            due_on = period_end(deadline.due_on, deadline.due_precision)
            if deadline.status != DeadlineStatus.OPEN:
                reason = cancel_reason(deadline, row, None)
            elif pair in muted:
                reason = _("The recipient muted this case.")
            elif row.point_on != _point_for(row, due_on):
                reason = _("The deadline moved.")
            elif row.kind == ReminderKind.REMINDER and now >= deadline_passes_at(deadline):
                reason = _("The deadline passed before the reminder could be sent.")
        if reason:
            if _finish(
                row,
                token,
                status=ReminderStatus.CANCELLED,
                cancelled_reason=reason,
                attempts=F("attempts") - 1,
            ):
                result.cancelled += 1
        else:
            keep.append(row)
    # Several reminders for one deadline due at once (the dispatcher was down): the latest says
    # it all, the earlier ones would only be late.
    latest: dict[tuple[int, int], Reminder] = {}
    for row in keep:
        if row.kind == ReminderKind.REMINDER:
            group = (row.deadline_id, row.recipient_id)
            if group not in latest or row.point_on > latest[group].point_on:
                latest[group] = row
    sendable = []
    for row in keep:
        if (
            row.kind == ReminderKind.REMINDER
            and latest[(row.deadline_id, row.recipient_id)] is not row
        ):
            if _finish(
                row,
                token,
                status=ReminderStatus.CANCELLED,
                cancelled_reason=_("A later reminder for this deadline went out instead."),
                attempts=F("attempts") - 1,
            ):
                result.cancelled += 1
        else:
            sendable.append(row)
    return sendable


def _point_for(row: Reminder, due_on: dt.date) -> dt.date:
    """The reminder point the row would have for a deadline due on ``due_on``."""
    if row.kind == ReminderKind.REMINDER:
        return due_on - dt.timedelta(days=row.days_before or 0)
    return due_on


def _open(mail) -> Exception | None:
    try:
        mail.open()
    except (OSError, smtplib.SMTPException) as exc:
        return exc
    return None


def _close(mail) -> None:
    try:
        mail.close()
    except (OSError, smtplib.SMTPException):
        log.debug("Closing the mail connection failed.", exc_info=True)


def _send_each(rows: list[Reminder], token, round_: _Round) -> None:
    """Send one email per row over one connection; record each outcome on its row."""
    rows = _sendable(rows, token, round_)
    if not rows:
        return
    result = round_.result
    accepted = _Accepted(token, result)
    mail = get_connection(fail_silently=False)
    broken = _open(mail)
    try:
        for index, row in enumerate(rows):
            if round_.out_of_time():
                _release(rows[index:], token)
                return
            error = broken
            if error is None:
                error = _send_one(mail, build_email(row, round_), row, round_)
                if error is None:
                    result.sent += 1
                    log.info("Sent %s %s to %s.", row.kind, row.pk, row.recipient.email)
                    accepted.add(row)
                    continue
                # The connection may be unusable now; start a fresh one for the next row.
                _close(mail)
                broken = _open(mail)
            _record_failure(row, token, error, result)
    finally:
        # Also when the round is stopped (time limit) or fails: these emails did go out.
        accepted.mark_sent()
        _close(mail)


def _send_one(mail, build, row: Reminder, round_: _Round) -> Exception | None:
    """Hand one message to the mail server; the error, if it did not take it.

    With Django's own SMTP backend the email goes out as the bytes that backend would send,
    on the connection it opened (``_Email.as_bytes``); any other backend gets Django's email.
    """
    try:
        email = build()
        data = email.as_bytes() if type(mail) is SmtpBackend else None
        if data is not None:
            mail.connection.sendmail(round_.sender, [email.to], data)
            return None
        message = email.message()
        message.connection = mail
        if mail.send_messages([message]) != 1:
            return RuntimeError(_("The mail backend did not accept the message."))
    except (OSError, smtplib.SMTPException) as exc:
        return exc
    except Exception as exc:
        log.exception("Could not build or send reminder %s.", row.pk)
        return exc
    return None


def _record_failure(row: Reminder, token, error: Exception, result: DispatchResult) -> None:
    text = f"{type(error).__name__}: {error}"[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        if _finish(row, token, status=ReminderStatus.FAILED, last_error=text):
            result.failed += 1
            log.error("Reminder %s failed after %s attempts: %s", row.pk, row.attempts, text)
            _report_failure(row)
        return
    retry_at = timezone.now() + _backoff(row.attempts)
    if _finish(
        row, token, status=ReminderStatus.PENDING, next_attempt_at=retry_at, last_error=text
    ):
        result.retrying += 1
        log.warning(
            "Reminder %s not sent (attempt %s), retry at %s: %s",
            row.pk,
            row.attempts,
            retry_at.isoformat(),
            text,
        )


def _report_failure(row: Reminder) -> None:
    """Tell the case's coordinators that someone did not get a reminder (through the outbox)."""
    if row.kind == ReminderKind.FAILURE_REPORT:
        return  # a report about a report would go the same broken way
    now = timezone.now()
    coordinators = selectors.case_coordinators(row.deadline.case).exclude(email="")
    reports = [
        Reminder(
            deadline_id=row.deadline_id,
            recipient=coordinator,
            kind=ReminderKind.FAILURE_REPORT,
            point_on=row.point_on,
            about_id=row.pk,
            scheduled_for=now,
            next_attempt_at=now,
        )
        for coordinator in coordinators
    ]
    if not reports:
        log.error("Reminder %s failed and its case has no coordinator to tell.", row.pk)
        return
    Reminder.objects.bulk_create(reports, ignore_conflicts=True)
    transaction.on_commit(dispatch_soon)


def _send_digest(rows: list[Reminder], token, round_: _Round) -> None:
    """One email for all of one reader's due digest rows."""
    rows = _sendable(rows, token, round_)
    if not rows:
        return
    result = round_.result
    # The same rows always make the same Message-ID, so a digest resent after a worker died
    # mid-send collapses with the first one in mail clients.
    ids = ",".join(str(row.pk) for row in sorted(rows, key=lambda row: row.pk))
    digest_id = hashlib.sha256(ids.encode()).hexdigest()[:32]
    message_id = f"<digest.{digest_id}@{mail_domain()}>"
    mail = get_connection(fail_silently=False)
    error = _open(mail)
    try:
        if error is None:
            error = _send_one(mail, build_digest(rows, message_id, round_), rows[0], round_)
    finally:
        _close(mail)
    if error is None:
        sent_at = timezone.now()
        result.sent += 1
        log.info("Sent a digest of %s reminder(s) to %s.", len(rows), rows[0].recipient.email)
        for row in rows:
            if _finish(
                row, token, status=ReminderStatus.SENT, sent_at=sent_at, message_id=message_id
            ):
                result.delivered_rows += 1
        return
    for row in rows:
        _record_failure(row, token, error, result)
