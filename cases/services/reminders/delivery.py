"""Delivery: claiming due rows, sending them over SMTP, recording each outcome, exactly once.

``reminders_dispatch`` claims due rows so that two dispatchers never take the same one, checks
each row again just before its email goes out, sends them over a few SMTP connections at once
per batch (``REMINDER_SMTP_CONNECTIONS``, ``smtp.SmtpLanes``) and marks them sent, a few at a
time (``SENT_GROUP``). A failure is retried with exponential backoff; after ``MAX_ATTEMPTS``
the row is failed and the case's coordinators are told. Rows whose worker died mid-send are
taken again once their lease runs out and sent with the same Message-ID (docs/reminders.md,
"Delivered once").

Duplicates are bounded by what the mail server took and the database has not yet recorded:
at most ``SENT_GROUP`` emails plus one per connection, per dispatch in flight when a worker is
killed. A lost database connection is retried (``DB_RETRY_FOR``) before anything is given up,
so it resends nothing.
"""

import datetime as dt
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    Deadline,
    DeadlineStatus,
    FailureCause,
    Reminder,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import period_end
from cases.models.reminders import MAX_ATTEMPTS
from cases.selectors import reminders as selectors

from .common import (
    DEADLINE_VERSION_FIELDS,
    FINISHED,
    REMINDING,
    deadline_passes_at,
    deadline_version,
    mail_domain,
)
from .messages import MessageCache, build_digest, build_email, build_failure_summary
from .planning import cancel_reason
from .recovery import (
    LEASE,
    db_retry,
    recover_expired_leases,
    report_failure,
    revive_unreachable,
    this_worker,
)
from .smtp import (
    SmtpLanes,
    connections_at_once,
    failure_cause,
    mail_backend,
    smtp_close,
    smtp_open,
    smtp_send,
)

log = logging.getLogger(__name__)

RENEW_EVERY = 15.0  # seconds
# Rows claimed per batch (its connections open and close with it). Batches keep memory flat and
# leases short; between two, the connections idle while the next is claimed and checked: 300
# sent 10-25 % faster than 100 in bench/reminders_delivery.py.
BATCH_SIZE = 300
# Rows whose email the mail server took are marked sent together: at most this many, and at
# most this long after the first of them was taken. A worker dying in between leaves them
# "sending", and they go out again (same Message-ID) once their lease runs out: this, with the
# email on each SMTP connection, bounds the only duplicates there can be (docs/reminders.md).
# One UPDATE per email was a third of the
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


@dataclass
class DispatchResult:
    sent: int = 0  # emails handed to the mail server
    delivered_rows: int = 0  # rows marked sent (a digest carries several)
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    revived: int = 0  # gave up while the server was unreachable, tried again now it answers
    more: bool = False  # stopped at the time budget with rows still due


@dataclass
class _Round(MessageCache):
    """One dispatch round: its outcome so far, its time limit, and what it looks up only once
    (who may see which case, each deadline as last read, and what ``MessageCache`` keeps)."""

    result: DispatchResult = field(default_factory=DispatchResult)
    stop_at: float = 0.0
    worker: str = ""
    visible: dict[tuple[int, int], bool] = field(default_factory=dict)
    deadlines: dict[int, Deadline] = field(default_factory=dict)  # as last read, by id
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
    *,
    batch_size: int = BATCH_SIZE,
    time_budget: dt.timedelta = TIME_BUDGET,
    worker: str = "",
) -> DispatchResult:
    """One dispatch round: send every due reminder (within the time budget), exactly once.

    ``worker`` names who claims the rows (the Celery node name), so that it can take them
    back at once if it stops mid-send and starts again.
    """
    round_ = _Round(stop_at=time.monotonic() + time_budget.total_seconds())
    round_.worker = worker or this_worker()
    round_.sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)
    round_.result.recovered = db_retry(recover_expired_leases)
    round_.result.revived = db_retry(revive_unreachable)
    immediate = Q(digest=False) & ~Q(kind=ReminderKind.FAILURE_REPORT)
    while not round_.out_of_time():
        token, rows = db_retry(lambda: _claim(immediate, limit=batch_size, worker=round_.worker))
        if not rows:
            break
        _send_each(rows, token, round_)
    now = timezone.now()
    for recipient_id in db_retry(lambda: list(selectors.digest_recipients_due(now=now)[:10_000])):
        if round_.out_of_time():
            break
        token, rows = db_retry(
            lambda recipient_id=recipient_id: _claim(
                Q(digest=True, recipient_id=recipient_id),
                limit=DIGEST_LIMIT,
                worker=round_.worker,
            )
        )
        if rows:
            _send_digest(rows, token, round_)
    for recipient_id in db_retry(lambda: list(selectors.failure_report_recipients_due(now=now))):
        if round_.out_of_time():
            break
        # Every report waiting for this coordinator goes in one summary, due or not yet.
        token, rows = db_retry(
            lambda recipient_id=recipient_id: _claim(
                Q(kind=ReminderKind.FAILURE_REPORT, recipient_id=recipient_id),
                limit=DIGEST_LIMIT,
                worker=round_.worker,
                due_only=False,
            )
        )
        if rows:
            _send_failure_summary(rows, token, round_)
    return round_.result


def _claim(
    extra: Q, *, limit: int, worker: str = "", due_only: bool = True
) -> tuple[uuid.UUID, list[Reminder]]:
    """Take up to ``limit`` due rows for this dispatcher alone.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent dispatchers take disjoint
    rows without waiting. Elsewhere (SQLite, which lets one writer in at a time): a conditional
    ``UPDATE ... WHERE status = 'pending'``. Either way a row moves to "sending" under one
    claim token (and the worker's name), and only that claim may mark it sent.
    """
    now = timezone.now()
    token = uuid.uuid4()
    if due_only:
        due = selectors.reminders_due(now=now)
    else:
        due = Reminder.objects.filter(status=ReminderStatus.PENDING)
    due = due.filter(extra).order_by("next_attempt_at", "pk")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        Reminder.objects.filter(pk__in=ids, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.SENDING,
            claim_token=token,
            claimed_by=(worker or this_worker())[:200],
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
    changes.setdefault("claim_token", None)
    changes.setdefault("lease_expires_at", None)
    if changes.get("status") in FINISHED:
        changes["next_attempt_at"] = None  # no longer due (Reminder.next_attempt_at)

    def update() -> int:
        return Reminder.objects.filter(
            pk=row.pk, claim_token=token, status=ReminderStatus.SENDING
        ).update(updated_at=timezone.now(), **changes)

    updated = db_retry(update)
    if not updated:
        log.warning("Reminder %s was taken by another dispatcher after its lease ran out.", row.pk)
    return bool(updated)


def _mark_sent(rows: list[Reminder], token: uuid.UUID, message_id: str = "") -> int:
    """Record deliveries the mail server took, for the rows that are still ours; how many.

    A row sent in the end loses the error of its earlier attempts. Rows sent together in one
    email (a digest, a summary) take that email's Message-ID.
    """
    ids = [row.pk for row in rows]
    extra = {"message_id": message_id} if message_id else {}

    def update() -> int:
        now = timezone.now()
        return Reminder.objects.filter(
            pk__in=ids, claim_token=token, status=ReminderStatus.SENDING
        ).update(
            status=ReminderStatus.SENT,
            sent_at=now,
            updated_at=now,
            next_attempt_at=None,  # no longer due (Reminder.next_attempt_at)
            claim_token=None,
            lease_expires_at=None,
            last_error="",
            failure_cause=FailureCause.NONE,
            **extra,
        )

    updated = db_retry(update)
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


class _Lease:
    """Keeps a batch's claim alive while it is being sent (renewed every ``RENEW_EVERY``)."""

    def __init__(self, token: uuid.UUID):
        self.token = token
        self.renewed = time.monotonic()

    def renew_if_due(self) -> None:
        if time.monotonic() - self.renewed < RENEW_EVERY:
            return
        db_retry(
            lambda: Reminder.objects.filter(
                claim_token=self.token, status=ReminderStatus.SENDING
            ).update(lease_expires_at=timezone.now() + LEASE)
        )
        self.renewed = time.monotonic()


def _release_claim(token: uuid.UUID, ids: list[int]) -> int:
    """Hand back rows of this claim that were never tried (the round ran out of time or
    stopped on an error). Never a row whose email may have gone out: that one stays
    "sending" until its lease runs out, and goes again with the same Message-ID."""
    if not ids:
        return 0
    return db_retry(
        lambda: Reminder.objects.filter(
            pk__in=ids, claim_token=token, status=ReminderStatus.SENDING
        ).update(
            status=ReminderStatus.PENDING,
            claim_token=None,
            lease_expires_at=None,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now(),
            updated_at=timezone.now(),
        )
    )


def _reason_not_to_send(row: Reminder, now: dt.datetime) -> str:
    """Why a reminder must not go out now, judging by its deadline as last read; "" if none."""
    if row.kind not in REMINDING:
        return ""
    deadline = row.deadline
    if deadline.status != DeadlineStatus.OPEN:
        return cancel_reason(deadline, row, None)
    due_on = period_end(deadline.due_on, deadline.due_precision)
    if row.point_on != _point_for(row, due_on):
        return _("The deadline moved.")
    if row.kind == ReminderKind.REMINDER and now >= deadline_passes_at(deadline):
        return _("The deadline passed before the reminder could be sent.")
    return ""


def _cancel(row: Reminder, token, reason: str, result: DispatchResult) -> None:
    if _finish(
        row,
        token,
        status=ReminderStatus.CANCELLED,
        cancelled_reason=reason[:200],
        attempts=F("attempts") - 1,
    ):
        result.cancelled += 1


def _sendable(rows: list[Reminder], token, round_: _Round) -> list[Reminder]:
    """Drop rows that must not go out any more, cancelling them with the reason.

    Checked again at send time because the world moves between planning and sending:
    a deadline done in the admin, a mute, a recipient who left the organization. (Each email
    is checked once more against its deadline just before it goes out: ``_recheck``.)
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
    round_.look_up_assignees({row.deadline_id for row in rows})
    result = round_.result
    keep = []
    for row in rows:
        round_.deadlines.setdefault(row.deadline_id, row.deadline)
        recipient = row.recipient
        pair = (row.recipient_id, row.deadline.case_id)
        reason = ""
        if not recipient.is_active:
            reason = _("The recipient's account is inactive.")
        elif not recipient.email:
            reason = _("The recipient has no email address.")
        elif not round_.visible[pair]:
            reason = _("The recipient can no longer see this case.")
        elif row.kind in REMINDING and pair in muted:
            reason = _("The recipient muted this case.")
        else:
            reason = _reason_not_to_send(row, now)
        if reason:
            _cancel(row, token, reason, result)
        else:
            keep.append(row)
    # Several reminders for one deadline due at once (the dispatcher was down): the latest says
    # it all, the earlier ones would only be late. "Latest" counts rows of other batches too:
    # one due, in flight or sent for a later point makes this one redundant.
    later = _latest_points(keep, now)
    sendable = []
    for row in keep:
        if (
            row.kind == ReminderKind.REMINDER
            and later.get((row.deadline_id, row.recipient_id), row.point_on) > row.point_on
        ):
            _cancel(row, token, _("A later reminder for this deadline went out instead."), result)
        else:
            sendable.append(row)
    return sendable


def _latest_points(rows: list[Reminder], now: dt.datetime) -> dict[tuple[int, int], dt.date]:
    """For each (deadline, recipient) of these reminders: the latest point due, in flight or
    sent (the rows themselves included)."""
    reminders = [row for row in rows if row.kind == ReminderKind.REMINDER]
    if not reminders:
        return {}
    latest: dict[tuple[int, int], dt.date] = {}
    others = Reminder.objects.filter(
        kind=ReminderKind.REMINDER,
        deadline_id__in={row.deadline_id for row in reminders},
        recipient_id__in={row.recipient_id for row in reminders},
    ).filter(
        Q(status__in=[ReminderStatus.SENT, ReminderStatus.SENDING])
        | Q(status=ReminderStatus.PENDING, scheduled_for__lte=now)
    )
    found = [*others.values_list("deadline_id", "recipient_id", "point_on")]
    found += [(row.deadline_id, row.recipient_id, row.point_on) for row in reminders]
    for deadline_id, recipient_id, point_on in found:
        key = (deadline_id, recipient_id)
        if key not in latest or point_on > latest[key]:
            latest[key] = point_on
    return latest


_DEADLINE_FIELDS = (
    "status",
    "due_on",
    "due_precision",
    "due_time",
    "due_timezone",
    "title",
    "kind",
)


def _still_ours(rows: list[Reminder], token) -> dict[int, tuple]:
    """{row id: its deadline's version} for the rows still claimed under ``token``.

    One plain SQL statement, run before every email: the ORM's cost of building the query
    was most of this check's time in bench/reminders_delivery.py.
    """
    reminder, deadline = Reminder._meta, Deadline._meta
    fields = [deadline.get_field(name) for name in DEADLINE_VERSION_FIELDS]
    columns = ", ".join(f"d.{connection.ops.quote_name(field.column)}" for field in fields)
    ids = [row.pk for row in rows]
    # Table and column names come from the models; every value is a parameter.
    sql = (
        f"SELECT r.id, {columns} FROM {reminder.db_table} r"  # noqa: S608
        f" JOIN {deadline.db_table} d ON d.id = r.deadline_id"
        f" WHERE r.id IN ({', '.join(['%s'] * len(ids))}) AND r.claim_token = %s"
        " AND r.status = %s"
    )
    claim = reminder.get_field("claim_token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, claim, ReminderStatus.SENDING.value])
        found = cursor.fetchall()
    return {
        pk: tuple(field.to_python(value) for field, value in zip(fields, values, strict=True))
        for pk, *values in found
    }


def _recheck(rows: list[Reminder], token, round_: _Round) -> list[Reminder]:
    """Just before an email goes out: are its rows still ours, and still wanted by their
    deadline as it is now? A deadline changed since it was read is read again, so that the
    email is built from it as it is; a cancel or a move stops what has not left yet."""
    current = db_retry(lambda: _still_ours(rows, token))
    changed = {
        row.deadline_id
        for row in rows
        if row.pk in current
        and tuple(current[row.pk])
        != deadline_version(round_.deadlines.get(row.deadline_id) or row.deadline)
    }
    if changed:
        for deadline in db_retry(
            lambda: list(Deadline.objects.filter(pk__in=changed).select_related("case", "petition"))
        ):
            round_.deadlines[deadline.pk] = deadline
    now = timezone.now()
    keep = []
    for row in rows:
        if row.pk not in current:
            continue  # taken by another dispatcher (this one was too slow): not ours to send
        row.deadline = round_.deadlines.get(row.deadline_id) or row.deadline
        reason = _reason_not_to_send(row, now)
        if reason:
            _cancel(row, token, reason, round_.result)
        else:
            keep.append(row)
    return keep


def _point_for(row: Reminder, due_on: dt.date) -> dt.date:
    """The reminder point the row would have for a deadline due on ``due_on``."""
    if row.kind == ReminderKind.REMINDER:
        return due_on - dt.timedelta(days=row.days_before or 0)
    return due_on


def _send_each(rows: list[Reminder], token, round_: _Round) -> None:
    """Send one email per row, over up to ``REMINDER_SMTP_CONNECTIONS`` connections at once;
    record each outcome on its row.

    Rows are checked again (``_recheck``) only when a connection is free for them, a few at
    once in one query, so what was checked is handed over at once: at most one email per
    connection is between its check and the server.
    """
    result = round_.result
    accepted = _Accepted(token, result)
    queue = list(rows)
    lanes = None
    try:
        queue = _sendable(rows, token, round_)  # the others were cancelled
        if not queue:
            return
        lease, sender = _Lease(token), round_.sender
        lanes = SmtpLanes(mail_backend, connections_at_once())
        lanes.open()
        stop = False  # out of time: what is on its way is recorded, the rest handed back
        while (queue and not stop) or lanes.in_flight():
            if lanes.broken is not None and not stop:
                for row in queue:
                    _record_failure(row, token, lanes.broken, result)
                queue = []
            free = lanes.free()
            if queue and free and not stop:
                if round_.out_of_time():
                    stop = True
                    continue
                lease.renew_if_due()
                group, queue = queue[:free], queue[free:]
                for row in _recheck(group, token, round_):
                    try:
                        email = build_email(row, round_)()
                    except Exception as exc:
                        log.exception("Could not build reminder %s.", row.pk)
                        _record_failure(row, token, exc, result)
                        continue
                    lanes.submit(
                        row, lambda mail, email=email, row=row: _send_one(mail, email, row, sender)
                    )
            for outcome in lanes.outcomes(wait=stop or not (queue and lanes.free())):
                if not outcome.tried and (lanes.broken is None or stop):
                    queue.insert(0, outcome.item)  # another connection will take it
                else:
                    _record_outcome(outcome, token, round_, accepted)
    finally:
        # Also when the round is stopped (time limit) or fails: these emails did go out. Only
        # then is the rest handed back (never a row the server took or may have taken).
        try:
            if lanes is not None:
                for outcome in lanes.close():
                    if outcome.error is None:
                        result.sent += 1
                        accepted.add(outcome.item)
        finally:
            accepted.mark_sent()
            _release_claim(token, [row.pk for row in queue])


def _record_outcome(outcome, token, round_: _Round, accepted: "_Accepted") -> None:
    row, error = outcome.item, outcome.error
    if error is None:
        round_.result.sent += 1
        log.info("Sent %s %s to %s.", row.kind, row.pk, row.recipient.email)
        accepted.add(row)
    else:
        _record_failure(row, token, error, round_.result)


def _send_one(mail, email, row: Reminder, sender: str) -> Exception | None:
    """Hand one row's email to the mail server (in a connection's thread); the error, if the
    server did not take it."""
    return smtp_send(mail, email, sender)


def _record_failure(row: Reminder, token, error: Exception, result: DispatchResult) -> None:
    text = f"{type(error).__name__}: {error}"[:2000]
    cause = failure_cause(error)
    if cause == FailureCause.REFUSED or row.attempts >= MAX_ATTEMPTS:
        # Refused for good (5xx for this recipient): retrying cannot help, so it fails now.
        if _finish(row, token, status=ReminderStatus.FAILED, last_error=text, failure_cause=cause):
            result.failed += 1
            log.error("Reminder %s failed after %s attempt(s): %s", row.pk, row.attempts, text)
            db_retry(lambda: report_failure(row))
        return
    retry_at = timezone.now() + _backoff(row.attempts)
    if _finish(
        row,
        token,
        status=ReminderStatus.PENDING,
        next_attempt_at=retry_at,
        last_error=text,
        failure_cause=cause,
    ):
        result.retrying += 1
        log.warning(
            "Reminder %s not sent (attempt %s), retry at %s: %s",
            row.pk,
            row.attempts,
            retry_at.isoformat(),
            text,
        )


def _group_message_id(kind: str, rows: list[Reminder]) -> str:
    """The same rows always make the same Message-ID, so an email about several rows resent
    after a worker died mid-send collapses with the first one in mail clients."""
    ids = ",".join(str(row.pk) for row in sorted(rows, key=lambda row: row.pk))
    return f"<{kind}.{hashlib.sha256(ids.encode()).hexdigest()[:32]}@{mail_domain()}>"


def _send_together(rows: list[Reminder], token, round_: _Round, message_id: str, build) -> None:
    """One email for several rows of one reader; all of them sent, or all retried.

    Any exception before the email was handed over leaves the rows "sending" until their
    lease runs out (a minute), like a worker that died: never sent twice on purpose."""
    result = round_.result
    mail = mail_backend()
    error = smtp_open(mail)
    try:
        if error is None:
            try:
                email = build()
            except Exception as exc:
                log.exception("Could not build the email for reminders %s.", rows)
                error = exc
            else:
                error = _send_one(mail, email, rows[0], round_.sender)
    finally:
        smtp_close(mail)
    if error is None:
        result.sent += 1
        log.info("Sent one email for %s row(s) to %s.", len(rows), rows[0].recipient.email)
        result.delivered_rows += _mark_sent(rows, token, message_id)
        return
    for row in rows:
        _record_failure(row, token, error, result)


def _send_digest(rows: list[Reminder], token, round_: _Round) -> None:
    """One email for all of one reader's due digest rows."""
    rows = _sendable(rows, token, round_)
    rows = _recheck(rows, token, round_) if rows else rows
    if rows:
        message_id = _group_message_id("digest", rows)
        _send_together(rows, token, round_, message_id, build_digest(rows, message_id, round_))


def _send_failure_summary(rows: list[Reminder], token, round_: _Round) -> None:
    """One summary for a coordinator of every reminder that could not be delivered."""
    keep = []
    for row in rows:
        if not row.recipient.is_active or not row.recipient.email:
            _cancel(row, token, _("The recipient's account is inactive."), round_.result)
        else:
            keep.append(row)
    if keep:
        message_id = _group_message_id("failures", keep)
        _send_together(
            keep, token, round_, message_id, build_failure_summary(keep, message_id, round_)
        )
