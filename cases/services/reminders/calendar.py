"""Calendars: deadlines as iCalendar, for each user's secret feed and for email attachments."""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import DatePrecision, Deadline, DeadlineStatus
from cases.models.dates import period_end
from cases.models.profiles import new_calendar_token
from cases.selectors import reminders as selectors
from cases.services.profiles import profile_get

from .common import mail_domain, people_named, zone


def calendar_token_regenerate(*, user: AbstractBaseUser) -> str:
    """Give the user a new secret calendar address; the old one stops working at once."""
    profile = profile_get(user)
    profile.calendar_token = new_calendar_token()
    profile.save(update_fields=["calendar_token", "updated_at"])
    return profile.calendar_token


def deadlines_to_ical(deadlines: Iterable[Deadline], *, for_user, method: str | None = None) -> str:
    """An iCalendar of deadlines with the same minimal content as the emails.

    A deadline known to the day is an all-day event (or a one-hour event at its time); one known
    to the month sits on the month's last day and says "by end of April 2026".

    Written out directly (RFC 5545: escaped text, lines folded at 75 octets): the icalendar
    library took 2 ms per deadline, the costliest step of a reminder email to one or two
    people (bench/reminders_delivery.py). tests/test_calendar_feed.py reads it back with it.
    """
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Advocacy case tracker//Deadlines//EN",
        "CALSCALE:GREGORIAN",
    ]
    if method:
        lines.append(f"METHOD:{method}")
    lines.append(f"X-WR-CALNAME:{_text(_('Case deadlines'))}")
    stamp = timezone.now().astimezone(dt.UTC).strftime(_UTC_FORMAT)
    for deadline in deadlines:
        lines += _vevent(deadline, for_user=for_user, stamp=stamp)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) for line in lines)


_UTC_FORMAT = "%Y%m%dT%H%M%SZ"


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """One content line, folded into lines of at most 75 octets without splitting a
    character (RFC 5545 3.1), with its CRLF."""
    data = line.encode()
    if len(data) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a UTF-8 character
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74  # a continuation line starts with a space
    return "\r\n ".join(parts) + "\r\n"


def _vevent(deadline: Deadline, *, for_user, stamp: str) -> list[str]:
    case = deadline.case
    summary = f"{case.reference}: {deadline.title}"
    if deadline.due_precision == DatePrecision.MONTH:
        summary = f"{summary} ({deadline.due_display})"
    if deadline.status != DeadlineStatus.OPEN:
        summary = f"[{deadline.get_status_display()}] {summary}"
    event = [
        "BEGIN:VEVENT",
        f"UID:deadline-{deadline.pk}@{mail_domain()}",
        f"DTSTAMP:{stamp}",
        f"SUMMARY:{_text(summary)}",
    ]
    due_on = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_time and deadline.due_precision == DatePrecision.DAY:
        start = dt.datetime.combine(due_on, deadline.due_time, tzinfo=zone(deadline.due_timezone))
        event.append(f"DTSTART:{start.astimezone(dt.UTC).strftime(_UTC_FORMAT)}")
        event.append("DURATION:PT1H")
    else:
        event.append(f"DTSTART;VALUE=DATE:{due_on:%Y%m%d}")
        event.append(f"DTEND;VALUE=DATE:{due_on + dt.timedelta(days=1):%Y%m%d}")
    url = selectors.case_url(case)
    lines = [
        f"{_('Case')}: {case.reference}",
        f"{_('Due')}: {deadline.due_display}",
        f"{_('Kind')}: {deadline.get_kind_display()}",
    ]
    if settings.NAMES_IN_NOTIFICATIONS:
        lines.insert(1, case.title)
        people = people_named(deadline, for_user)
        if people:
            lines.insert(2, ", ".join(people))
    lines.append(url)
    status = "CANCELLED" if deadline.status == DeadlineStatus.CANCELLED else "CONFIRMED"
    event += [
        f"DESCRIPTION:{_text(chr(10).join(lines))}",
        f"URL:{url}",  # a URI, not text: nothing to escape in the case page's address
        f"STATUS:{status}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]
    return event
