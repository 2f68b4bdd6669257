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
    """
    # Imported here: icalendar takes half a second to import, and only feeds and emails use it.
    from icalendar import Calendar

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


def _vevent(deadline: Deadline, *, for_user, stamp: dt.datetime):
    from icalendar import Event as CalendarEvent

    case = deadline.case
    event = CalendarEvent()
    event.add("uid", f"deadline-{deadline.pk}@{mail_domain()}")
    event.add("dtstamp", stamp)
    summary = f"{case.reference}: {deadline.title}"
    if deadline.due_precision == DatePrecision.MONTH:
        summary = f"{summary} ({deadline.due_display})"
    if deadline.status != DeadlineStatus.OPEN:
        summary = f"[{deadline.get_status_display()}] {summary}"
    event.add("summary", summary)
    due_on = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_time and deadline.due_precision == DatePrecision.DAY:
        start = dt.datetime.combine(due_on, deadline.due_time, tzinfo=zone(deadline.due_timezone))
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
        people = people_named(deadline, for_user)
        if people:
            lines.insert(2, ", ".join(people))
    lines.append(url)
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("status", "CANCELLED" if deadline.status == DeadlineStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event
