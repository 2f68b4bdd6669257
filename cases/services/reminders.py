"""Deadline reminders: planning the outbox, sending what is due, exactly once.

Planning (``reminders_plan``) turns a deadline into outbox rows, one per recipient and reminder
point, whenever the deadline is created, moved, reassigned, completed or cancelled. Rows for
points still ahead are (re)scheduled, rows no longer wanted are cancelled, none is deleted.

Dispatching (``reminders_dispatch``) claims due rows so that two dispatchers never take the same
one, sends them over one SMTP connection per batch and marks them sent, a few at a time
(``SENT_GROUP``). A failure is retried with exponential backoff; after ``MAX_ATTEMPTS`` the row
is failed and the case's coordinators are told. Rows whose worker died mid-send are taken again
after their lease runs out and sent with the same Message-ID: the only way anyone can get an
email twice (docs/reminders.md).
"""

import datetime as dt
import hashlib
import logging
import re
import smtplib
import time
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from email.utils import formatdate
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from cases import access
from cases.models import (
    Case,
    DatePrecision,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    PetitionStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import format_fuzzy_date, period_end
from cases.models.profiles import new_calendar_token
from cases.models.reminders import MAX_ATTEMPTS
from cases.selectors import reminders as selectors

from .profiles import profile_get

log = logging.getLogger(__name__)

# Reminders reach people at the start of their working day, in their own time zone.
MORNING = dt.time(8, 0)
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
# Serialized emails one round keeps for reuse (one per deadline, day and language): a bound on
# memory in a round that meets very many deadlines, far above what one day brings.
TEMPLATES_KEPT = 1000
# Digest rows one recipient can have in one email (a safety bound, not a normal case).
DIGEST_LIMIT = 500
# One dispatch round stops claiming after this long (well inside the task's soft time limit);
# the next round, a minute later, carries on.
TIME_BUDGET = dt.timedelta(seconds=120)
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)

_REMINDING = [ReminderKind.REMINDER, ReminderKind.OVERDUE]
# A petition still waiting for an answer may be marked "no response" when its reply is overdue.
_AWAITING_REPLY = {PetitionStatus.FILED, PetitionStatus.ACKNOWLEDGED, PetitionStatus.UNDER_REVIEW}


# --- Time ------------------------------------------------------------------------------------
def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _morning(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """08:00 on ``day`` where the recipient is, whatever the offset that day (DST)."""
    return dt.datetime.combine(day, MORNING, tzinfo=tz)


def _next_morning(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first 08:00 (recipient's time) at or after ``moment``."""
    morning = _morning(moment.astimezone(tz).date(), tz)
    if morning >= moment:
        return morning
    return _morning(moment.astimezone(tz).date() + dt.timedelta(days=1), tz)


def deadline_passes_at(deadline: Deadline) -> dt.datetime:
    """The moment a deadline is over: its time if it has one, else the end of its last day.

    Counted in the deadline's own time zone (or the installation's). A month-precision
    deadline ("by end of April 2026") passes when April ends.
    """
    tz = _zone(deadline.due_timezone)
    last_day = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_time and deadline.due_precision == DatePrecision.DAY:
        return dt.datetime.combine(last_day, deadline.due_time, tzinfo=tz)
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def deadline_is_overdue(deadline: Deadline, *, now: dt.datetime | None = None) -> bool:
    """Still open although its moment has passed."""
    now = now or timezone.now()
    return deadline.status == DeadlineStatus.OPEN and now >= deadline_passes_at(deadline)


def _backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, ... minutes after the n-th failed attempt, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


# --- Planning --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Point:
    """One email someone should get about the deadline, at its nominal time."""

    recipient_id: int
    kind: str
    point_on: dt.date
    days_before: int | None
    at: dt.datetime
    tz: zoneinfo.ZoneInfo
    digest: bool

    @property
    def key(self) -> tuple[int, str, dt.date]:
        return (self.recipient_id, self.kind, self.point_on)


@dataclass
class PlanResult:
    created: int = 0
    rescheduled: int = 0
    cancelled: int = 0
    due_now: int = 0


@dataclass
class _Recipients:
    reminded: list[int]  # assignees, or the coordinators when nobody is assigned
    told_overdue: list[int]  # assignees and coordinators
    profiles: dict[int, UserProfile]
    excluded: dict[int, str]  # user id -> why they get nothing


def _recipients(deadline: Deadline) -> _Recipients:
    case = deadline.case
    assignees = list(deadline.assignees.values_list("pk", flat=True))
    coordinators = list(selectors.case_coordinators(case).values_list("pk", flat=True))
    reminded = assignees or coordinators
    told_overdue = list(dict.fromkeys([*assignees, *coordinators]))
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=told_overdue)}
    muted = set(
        UserProfile.muted_cases.through.objects.filter(
            case_id=case.pk, userprofile__user_id__in=told_overdue
        ).values_list("userprofile__user_id", flat=True)
    )
    existing = {
        profile.user_id: profile for profile in UserProfile.objects.filter(user_id__in=told_overdue)
    }
    excluded: dict[int, str] = {}
    profiles: dict[int, UserProfile] = {}
    for user_id in told_overdue:
        user = users.get(user_id)
        if user is None or not user.is_active:
            excluded[user_id] = _("The recipient's account is inactive.")
        elif not user.email:
            excluded[user_id] = _("The recipient has no email address.")
        elif user_id in muted:
            excluded[user_id] = _("The recipient muted this case.")
        elif not access.cases_visible_to(user).filter(pk=case.pk).exists():
            excluded[user_id] = _("The recipient can no longer see this case.")
        else:
            profiles[user_id] = existing.get(user_id) or profile_get(user)
    reachable = [pk for pk in assignees if pk not in excluded or pk in muted]
    if assignees and not reachable:
        # Nobody assigned can be reached (left the organization, no email): the coordinators
        # are reminded instead, so the deadline is not silently orphaned. A mute is a choice
        # and does not count as unreachable.
        reminded = coordinators
    return _Recipients(
        reminded=[pk for pk in reminded if pk not in excluded],
        told_overdue=[pk for pk in told_overdue if pk not in excluded],
        profiles=profiles,
        excluded=excluded,
    )


def _points(deadline: Deadline, recipients: _Recipients) -> list[_Point]:
    passes_at = deadline_passes_at(deadline)
    due_on = period_end(deadline.due_on, deadline.due_precision)
    points = []
    for user_id in recipients.reminded:
        profile = recipients.profiles[user_id]
        tz = _zone(profile.effective_time_zone)
        digest = profile.email_mode == UserProfile.EmailMode.DIGEST
        for days in sorted(set(deadline.reminder_days or [])):
            point_on = due_on - dt.timedelta(days=int(days))
            at = _morning(point_on, tz)
            if at >= passes_at:
                continue  # "that morning" of a deadline due at 07:00 would come too late
            points.append(
                _Point(user_id, ReminderKind.REMINDER, point_on, int(days), at, tz, digest)
            )
    for user_id in recipients.told_overdue:
        profile = recipients.profiles[user_id]
        tz = _zone(profile.effective_time_zone)
        digest = profile.email_mode == UserProfile.EmailMode.DIGEST
        # When it passes, but not at night: no earlier than 08:00 that day, their time.
        at = max(passes_at, _morning(passes_at.astimezone(tz).date(), tz))
        points.append(_Point(user_id, ReminderKind.OVERDUE, due_on, None, at, tz, digest))
    return points


def _delivery_time(
    point: _Point, *, not_before: dt.datetime, passes_at: dt.datetime
) -> dt.datetime:
    """When the row is due: the point's time (or now, for a catch-up), moved to the next
    digest morning for digest readers unless that would be after the deadline."""
    when = max(point.at, not_before)
    if point.digest:
        morning = _next_morning(when, point.tz)
        if point.kind == ReminderKind.OVERDUE or morning < passes_at:
            when = morning
    return when


def _cancel_reason(deadline: Deadline, row: Reminder, recipients: _Recipients | None) -> str:
    if deadline.status != DeadlineStatus.OPEN:
        return _("The deadline is %(status)s.") % {"status": deadline.get_status_display().lower()}
    if recipients is not None:
        if row.recipient_id in recipients.excluded:
            return recipients.excluded[row.recipient_id]
        meant_for = (
            recipients.reminded if row.kind == ReminderKind.REMINDER else recipients.told_overdue
        )
        if row.recipient_id not in meant_for:
            return _("No longer a recipient of this deadline.")
    return _("The deadline moved or its reminder days changed.")


def reminders_plan(*, deadline: Deadline, now: dt.datetime | None = None) -> PlanResult:
    """Bring the deadline's outbox rows in line with the deadline as it is now.

    - Points still ahead get a pending row at 08:00 on their day in the recipient's time zone
      (digest readers: their next digest morning).
    - Of the points already past when planning, only the most recent one without a row is
      sent, at once, and only while the deadline has not passed: no late bulk.
    - Pending rows no longer wanted (deadline moved, done, cancelled, reassigned, muted) are
      cancelled with the reason; cancelled rows wanted again are revived. Sent, failed and
      in-flight rows are records and are left alone. Nothing is deleted.
    """
    now = now or timezone.now()
    result = PlanResult()
    with transaction.atomic():
        # One planner per deadline at a time (the deadline's services hold this lock already).
        Deadline.objects.select_for_update().filter(pk=deadline.pk).values_list("pk").first()
        rows = {
            (row.recipient_id, row.kind, row.point_on): row
            for row in Reminder.objects.filter(deadline=deadline, kind__in=_REMINDING)
        }
        recipients = None
        points: dict[tuple, _Point] = {}
        wanted: dict[tuple, dt.datetime] = {}  # key -> when the row should be due
        keep: set[tuple] = set()  # past points whose existing rows stay as they are
        if deadline.status == DeadlineStatus.OPEN:
            recipients = _recipients(deadline)
            points = {point.key: point for point in _points(deadline, recipients)}
            passes_at = deadline_passes_at(deadline)
            latest_past: dict[tuple[int, str], _Point] = {}
            for point in points.values():
                if point.at > now:
                    wanted[point.key] = _delivery_time(point, not_before=now, passes_at=passes_at)
                    continue
                keep.add(point.key)
                group = (point.recipient_id, point.kind)
                if group not in latest_past or point.at > latest_past[group].at:
                    latest_past[group] = point
            for point in latest_past.values():
                if point.kind == ReminderKind.REMINDER and now >= passes_at:
                    continue  # the deadline is over: the overdue notice speaks instead
                row = rows.get(point.key)
                if row is None or row.status == ReminderStatus.CANCELLED:
                    keep.discard(point.key)
                    wanted[point.key] = _delivery_time(point, not_before=now, passes_at=passes_at)

        new_rows = []
        for key, when in wanted.items():
            point = points[key]
            row = rows.get(key)
            if when <= now:
                result.due_now += 1
            if row is None:
                new_rows.append(
                    Reminder(
                        deadline=deadline,
                        recipient_id=point.recipient_id,
                        kind=point.kind,
                        point_on=point.point_on,
                        days_before=point.days_before,
                        digest=point.digest,
                        scheduled_for=when,
                        next_attempt_at=when,
                    )
                )
                result.created += 1
            elif row.status == ReminderStatus.CANCELLED:
                _reschedule(row, when=when, digest=point.digest, revive=True, now=now)
                result.created += 1
            elif row.status == ReminderStatus.PENDING and (
                row.scheduled_for != when or row.digest != point.digest
            ):
                _reschedule(row, when=when, digest=point.digest, revive=False, now=now)
                result.rescheduled += 1
        Reminder.objects.bulk_create(new_rows)

        for key, row in rows.items():
            if row.status != ReminderStatus.PENDING or key in wanted or key in keep:
                continue
            cancelled = Reminder.objects.filter(pk=row.pk, status=ReminderStatus.PENDING).update(
                status=ReminderStatus.CANCELLED,
                cancelled_reason=_cancel_reason(deadline, row, recipients)[:200],
                updated_at=now,
            )
            result.cancelled += cancelled
        if result.due_now:
            transaction.on_commit(_enqueue_dispatch)
    return result


def _reschedule(row: Reminder, *, when: dt.datetime, digest: bool, revive: bool, now) -> None:
    changes = {"scheduled_for": when, "digest": digest, "updated_at": now}
    if revive:
        changes.update(
            status=ReminderStatus.PENDING,
            attempts=0,
            next_attempt_at=when,
            cancelled_reason="",
            last_error="",
        )
        expected = ReminderStatus.CANCELLED
    else:
        expected = ReminderStatus.PENDING
        if row.attempts == 0:
            changes["next_attempt_at"] = when
    Reminder.objects.filter(pk=row.pk, status=expected).update(**changes)


def _enqueue_dispatch() -> None:
    """Ask a worker for a dispatch round now rather than at the next minute."""
    try:
        from cases.tasks import dispatch_due_reminders

        dispatch_due_reminders.delay()
    except Exception:
        # Only a shortcut: the every-minute dispatch sends the row anyway.
        log.warning("Could not enqueue a reminder dispatch; beat will send it.", exc_info=True)


def reminders_replan_open(*, now: dt.datetime | None = None, chunk: int = 200) -> int:
    """Re-plan every open deadline (and close the rows of closed ones). Safe to run any time.

    Picks up what no service call announced: a deadline edited in the admin, a new
    coordinator, a changed time zone or reminder mode, a mute.
    """
    ids = list(
        Deadline.objects.filter(
            Q(status=DeadlineStatus.OPEN)
            | Q(reminders__status=ReminderStatus.PENDING, reminders__kind__in=_REMINDING)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    for start in range(0, len(ids), chunk):
        for deadline in Deadline.objects.filter(pk__in=ids[start : start + chunk]).select_related(
            "case"
        ):
            reminders_plan(deadline=deadline, now=now)
    return len(ids)


def reminders_replan_for_user(*, user: AbstractBaseUser) -> int:
    """Re-plan the open deadlines of every case the user may see (after they change their
    time zone, reminder mode or mutes)."""
    deadlines = access.visible_through_case(
        user, Deadline.objects.filter(status=DeadlineStatus.OPEN)
    ).select_related("case")
    count = 0
    for deadline in deadlines:
        reminders_plan(deadline=deadline)
        count += 1
    return count


def case_mute(*, user: AbstractBaseUser, case: Case, muted: bool = True) -> None:
    """Stop (or resume) reminder emails about one case for one user."""
    with transaction.atomic():
        profile = profile_get(user)
        if muted:
            profile.muted_cases.add(case)
        else:
            profile.muted_cases.remove(case)
        for deadline in case.deadlines.filter(status=DeadlineStatus.OPEN):
            reminders_plan(deadline=deadline)


def calendar_token_regenerate(*, user: AbstractBaseUser) -> str:
    """Give the user a new secret calendar address; the old one stops working at once."""
    profile = profile_get(user)
    profile.calendar_token = new_calendar_token()
    profile.save(update_fields=["calendar_token", "updated_at"])
    return profile.calendar_token


def reminder_retry(*, reminder: Reminder) -> bool:
    """Send a failed reminder again (e.g. after the mail server was fixed)."""
    now = timezone.now()
    retried = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if retried:
        transaction.on_commit(_enqueue_dispatch)
    return bool(retried)


# --- Dispatch --------------------------------------------------------------------------------
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
class _Round:
    """One dispatch round: its outcome so far, its time limit, and what it looks up only once
    (who may see which case, who is assigned to what, each deadline's calendar file)."""

    result: DispatchResult
    stop_at: float
    visible: dict[tuple[int, int], bool] = field(default_factory=dict)
    assignees: dict[int, set[int]] = field(default_factory=dict)
    calendars: dict[tuple, str] = field(default_factory=dict)
    templates: dict[tuple, "_Template"] = field(default_factory=dict)
    urls: dict[tuple, str] = field(default_factory=dict)
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

    def is_assigned(self, deadline: Deadline, user_id: int) -> bool:
        if deadline.pk not in self.assignees:
            self.assignees[deadline.pk] = set(deadline.assignees.values_list("pk", flat=True))
        return user_id in self.assignees[deadline.pk]

    def url(self, name: str, *args) -> str:
        if (name, *args) not in self.urls:
            self.urls[(name, *args)] = getattr(selectors, name)(*args)
        return self.urls[(name, *args)]

    def calendar(self, deadlines: list[Deadline], recipient) -> str:
        """The .ics attachment; the same for everyone unless names are allowed."""
        key = (
            tuple(deadline.pk for deadline in deadlines),
            translation.get_language(),
            recipient.pk if settings.NAMES_IN_NOTIFICATIONS else None,
        )
        if key not in self.calendars:
            self.calendars[key] = deadlines_to_ical(deadlines, for_user=recipient, method="PUBLISH")
        return self.calendars[key]


def reminders_dispatch(
    *, batch_size: int = BATCH_SIZE, time_budget: dt.timedelta = TIME_BUDGET
) -> DispatchResult:
    """One dispatch round: send every due reminder (within the time budget), exactly once."""
    round_ = _Round(DispatchResult(), stop_at=time.monotonic() + time_budget.total_seconds())
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
        elif row.kind in _REMINDING:
            due_on = period_end(deadline.due_on, deadline.due_precision)
            if deadline.status != DeadlineStatus.OPEN:
                reason = _cancel_reason(deadline, row, None)
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
                error = _send_one(mail, _build_email(row, round_), row, round_)
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
    transaction.on_commit(_enqueue_dispatch)


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
    message_id = f"<digest.{digest_id}@{_domain()}>"
    mail = get_connection(fail_silently=False)
    error = _open(mail)
    try:
        if error is None:
            error = _send_one(mail, _build_digest(rows, message_id, round_), rows[0], round_)
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


# --- Emails ----------------------------------------------------------------------------------
def _domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _profile(user) -> UserProfile:
    try:
        return user.profile
    except UserProfile.DoesNotExist:
        return profile_get(user)


def _people(deadline: Deadline, recipient) -> list[str]:
    """Who the case is about, when the installation allows naming them (never by default)."""
    if not settings.NAMES_IN_NOTIFICATIONS:
        return []
    labels = []
    for prisoner in deadline.case.prisoners.all():
        label = prisoner.code
        if prisoner.legal_name and access.may_see_identity(recipient, prisoner):
            label = f"{label} ({prisoner.legal_name})"
        labels.append(label)
    return labels


def _when(deadline: Deadline, days_left: int) -> str:
    """How far away the deadline is, in words; months are counted to their last day."""
    if days_left < 0:
        return ngettext("%(days)d day overdue", "%(days)d days overdue", -days_left) % {
            "days": -days_left
        }
    if deadline.due_precision == DatePrecision.MONTH:
        period = format_fuzzy_date(deadline.due_on, deadline.due_precision)
        return ngettext(
            "%(days)d day left until the end of %(period)s",
            "%(days)d days left until the end of %(period)s",
            days_left,
        ) % {"days": days_left, "period": period}
    if days_left == 0:
        return _("Today")
    if days_left == 1:
        return _("Tomorrow")
    return ngettext("In %(days)d day", "In %(days)d days", days_left) % {"days": days_left}


def _days_left(deadline: Deadline, profile: UserProfile) -> int:
    """Whole days from the recipient's today to the deadline's last day."""
    today = timezone.now().astimezone(_zone(profile.effective_time_zone)).date()
    return (period_end(deadline.due_on, deadline.due_precision) - today).days


def _deadline_context(deadline: Deadline, recipient, profile: UserProfile, round_) -> dict:
    days_left = _days_left(deadline, profile)
    names = settings.NAMES_IN_NOTIFICATIONS
    petition = deadline.petition
    return {
        "deadline": deadline,
        "reference": deadline.case.reference,
        "title": deadline.title,
        "kind": deadline.get_kind_display(),
        "due": deadline.due_display,
        "month_precision": deadline.due_precision == DatePrecision.MONTH,
        "days_left": days_left,
        "when": _when(deadline, days_left),
        "case_url": round_.url("case_url", deadline.case),
        "case_title": deadline.case.title if names else "",
        "people": _people(deadline, recipient),
        "suggest_no_response": deadline.kind == DeadlineKind.REPLY_DUE
        and petition is not None
        and petition.status in _AWAITING_REPLY,
    }


def _render(name: str, context: dict, round_) -> tuple[str, str, str]:
    context.setdefault("LANGUAGE_CODE", translation.get_language())
    context.setdefault("settings_url", round_.url("settings_url"))
    subject = render_to_string(f"emails/{name}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def _ics_part(ical: str) -> MIMEText:
    part = MIMEText(ical, "calendar", "utf-8")
    part.set_param("method", "PUBLISH")
    part.add_header("Content-Disposition", "attachment", filename="deadline.ics")
    return part


# Headers each email of a template has for itself; everything else is the template's.
_OWN_HEADERS = ("To", "Date", "Message-ID")
# Values that go into those headers and the SMTP envelope as they are: ASCII, no spaces, no
# line breaks, nothing to encode or quote. Anything else takes Django's path, which checks.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>")


@dataclass
class _Template:
    """An email as everyone told the same thing reads it: subject, text, HTML, calendar file.

    Serializing the MIME message was the costliest step of sending a reminder
    (bench/reminders_delivery.py), and everyone reminded of one deadline on one day, in one
    language, gets the same message but for To, Date and Message-ID. So a template is
    serialized once, by Django, without those three headers (``serialized``), and each email
    puts its own in front (``_Email.as_bytes``).
    """

    subject: str
    text: str
    html: str
    ical: str
    _serialized: bytes | None = None

    def message(self, *, to: str, message_id: str) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={
                "Message-ID": message_id,
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
            },
        )
        message.attach_alternative(self.html, "text/html")
        message.attach(_ics_part(self.ical))
        return message

    def serialized(self) -> bytes:
        """The message as Django's SMTP backend sends it, less the headers of each email."""
        if self._serialized is None:
            message = self.message(to="to@invalid", message_id="<template@invalid>").message()
            for name in _OWN_HEADERS:
                del message[name]
            self._serialized = message.as_bytes(linesep="\r\n")
        return self._serialized


@dataclass(frozen=True)
class _Email:
    """One email: a template, and who it goes to under which Message-ID."""

    template: _Template
    to: str
    message_id: str

    def message(self) -> EmailMultiAlternatives:
        """The email as a Django message, for any mail backend."""
        return self.template.message(to=self.to, message_id=self.message_id)

    def as_bytes(self) -> bytes | None:
        """The email as it goes on the wire, or None if its headers need Django's checks.

        The same bytes as ``message().message().as_bytes(linesep="\r\n")`` but for the order
        of the headers and the MIME boundaries.
        """
        if not (_PLAIN_ADDRESS.fullmatch(self.to) and _PLAIN_MESSAGE_ID.fullmatch(self.message_id)):
            return None
        date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        own = f"To: {self.to}\r\nDate: {date}\r\nMessage-ID: {self.message_id}\r\n"
        return own.encode("ascii") + self.template.serialized()


def _build_email(row: Reminder, round_: _Round):
    """A callable building the row's email in the recipient's language and time zone."""

    def build() -> _Email:
        recipient = row.recipient
        profile = _profile(recipient)
        with (
            translation.override(profile.language or settings.LANGUAGE_CODE),
            timezone.override(_zone(profile.effective_time_zone)),
        ):
            deadline = row.deadline
            if row.kind == ReminderKind.FAILURE_REPORT:
                context = _deadline_context(deadline, recipient, profile, round_)
                failed = row.about
                context.update(
                    failed=failed,
                    failed_recipient=failed.recipient.get_full_name() or failed.recipient.username,
                    failed_email=failed.recipient.email,
                    failed_error=failed.last_error,
                    failed_attempts=failed.attempts,
                )
                template = _Template(
                    *_render("failure_report", context, round_),
                    ical=round_.calendar([deadline], recipient),
                )
                return _Email(template, to=recipient.email, message_id=row.message_id)
            # Everyone told about this deadline today, in the same language, reads the same
            # email (no names in it): render and serialize it once per round.
            name = "overdue" if row.kind == ReminderKind.OVERDUE else "reminder"
            assigned = round_.is_assigned(deadline, recipient.pk)
            key = (
                name,
                deadline.pk,
                translation.get_language(),
                _days_left(deadline, profile),
                assigned,
                recipient.pk if settings.NAMES_IN_NOTIFICATIONS else None,
            )
            if key not in round_.templates:
                if len(round_.templates) >= TEMPLATES_KEPT:
                    round_.templates.clear()
                context = _deadline_context(deadline, recipient, profile, round_)
                context["assigned"] = assigned
                round_.templates[key] = _Template(
                    *_render(name, context, round_), ical=round_.calendar([deadline], recipient)
                )
            return _Email(round_.templates[key], to=recipient.email, message_id=row.message_id)

    return build


def _build_digest(rows: list[Reminder], message_id: str, round_: _Round):
    def build() -> _Email:
        recipient = rows[0].recipient
        profile = _profile(recipient)
        with (
            translation.override(profile.language or settings.LANGUAGE_CODE),
            timezone.override(_zone(profile.effective_time_zone)),
        ):
            items = []
            for row in sorted(rows, key=lambda row: (row.deadline.due_on, row.pk)):
                item = _deadline_context(row.deadline, recipient, profile, round_)
                item["overdue"] = row.kind == ReminderKind.OVERDUE
                items.append(item)
            context = {
                "recipient": recipient,
                "items": items,
                "count": len(items),
                "today": timezone.localdate(),
            }
            deadlines = list({row.deadline_id: row.deadline for row in rows}.values())
            template = _Template(
                *_render("digest", context, round_), ical=round_.calendar(deadlines, recipient)
            )
            return _Email(template, to=recipient.email, message_id=message_id)

    return build


# --- Calendars -------------------------------------------------------------------------------
def deadlines_to_ical(deadlines: Iterable[Deadline], *, for_user, method: str | None = None) -> str:
    """An iCalendar of deadlines with the same minimal content as the emails.

    A deadline known to the day is an all-day event (or a one-hour event at its time); one known
    to the month sits on the month's last day and says "by end of April 2026".
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Advocacy case tracker//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", _("Case deadlines"))
    stamp = timezone.now().astimezone(dt.UTC).replace(microsecond=0)
    for deadline in deadlines:
        calendar.add_component(_vevent(deadline, for_user=for_user, stamp=stamp))
    return calendar.to_ical().decode()


def _vevent(deadline: Deadline, *, for_user, stamp: dt.datetime) -> CalendarEvent:
    case = deadline.case
    event = CalendarEvent()
    event.add("uid", f"deadline-{deadline.pk}@{_domain()}")
    event.add("dtstamp", stamp)
    summary = f"{case.reference}: {deadline.title}"
    if deadline.due_precision == DatePrecision.MONTH:
        summary = f"{summary} ({deadline.due_display})"
    if deadline.status != DeadlineStatus.OPEN:
        summary = f"[{deadline.get_status_display()}] {summary}"
    event.add("summary", summary)
    due_on = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_time and deadline.due_precision == DatePrecision.DAY:
        start = dt.datetime.combine(due_on, deadline.due_time, tzinfo=_zone(deadline.due_timezone))
        event.add("dtstart", start.astimezone(dt.UTC))
        event.add("duration", dt.timedelta(hours=1))
    else:
        event.add("dtstart", due_on)
        event.add("dtend", due_on + dt.timedelta(days=1))
    url = selectors.case_url(case)
    lines = [
        f"{_('Case')}: {case.reference}",
        f"{_('Due')}: {deadline.due_display}",
        f"{_('Kind')}: {deadline.get_kind_display()}",
    ]
    if settings.NAMES_IN_NOTIFICATIONS:
        lines.insert(1, case.title)
        people = _people(deadline, for_user)
        if people:
            lines.insert(2, ", ".join(people))
    lines.append(url)
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("status", "CANCELLED" if deadline.status == DeadlineStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event
