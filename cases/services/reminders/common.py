"""What every part of reminders shares: times of day in people's own zones, when a deadline
passes, the mail domain, and who may be named in an email."""

import datetime as dt
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from cases import access
from cases.models import (
    DatePrecision,
    Deadline,
    DeadlineStatus,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import period_end
from cases.services.profiles import profile_get

# Reminders reach people at the start of their working day, in their own time zone.
MORNING = dt.time(8, 0)
# The kinds of row that remind someone of a deadline (the others report on those).
REMINDING = [ReminderKind.REMINDER, ReminderKind.OVERDUE]
# Rows the outbox is done with: they have no due time (Reminder.next_attempt_at is cleared).
FINISHED = [ReminderStatus.SENT, ReminderStatus.CANCELLED, ReminderStatus.FAILED]
# What of a deadline an email shows or depends on: when any of these changed since a round
# read the deadline, the deadline is read again before the email goes out.
DEADLINE_VERSION_FIELDS = (
    "status",
    "due_on",
    "due_precision",
    "due_time",
    "due_timezone",
    "title",
    "kind",
)


def deadline_version(deadline: Deadline) -> tuple:
    return tuple(getattr(deadline, name) for name in DEADLINE_VERSION_FIELDS)


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def at_morning(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """08:00 on ``day`` where the recipient is, whatever the offset that day (DST)."""
    return dt.datetime.combine(day, MORNING, tzinfo=tz)


def next_morning(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first 08:00 (recipient's time) at or after ``moment``."""
    morning = at_morning(moment.astimezone(tz).date(), tz)
    if morning >= moment:
        return morning
    return at_morning(moment.astimezone(tz).date() + dt.timedelta(days=1), tz)


def deadline_passes_at(deadline: Deadline) -> dt.datetime:
    """The moment a deadline is over: its time if it has one, else the end of its last day.

    Counted in the deadline's own time zone (or the installation's). A month-precision
    deadline ("by end of April 2026") passes when April ends.
    """
    tz = zone(deadline.due_timezone)
    last_day = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_time and deadline.due_precision == DatePrecision.DAY:
        return dt.datetime.combine(last_day, deadline.due_time, tzinfo=tz)
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def deadline_is_overdue(deadline: Deadline, *, now: dt.datetime | None = None) -> bool:
    """Still open although its moment has passed."""
    now = now or timezone.now()
    return deadline.status == DeadlineStatus.OPEN and now >= deadline_passes_at(deadline)


def mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def profile_of(user) -> UserProfile:
    try:
        return user.profile
    except UserProfile.DoesNotExist:
        return profile_get(user)


def people_named(deadline: Deadline, recipient) -> list[str]:
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
