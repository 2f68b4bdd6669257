"""Imprecise dates: a date stored beside its precision, rendered without inventing a day.

This is the one date renderer: templates (the ``fuzzy_date``, ``day`` and ``moment`` tags
and filters of ``cases_tags``), emails, calendars and exports render every date through
``format_fuzzy_date`` (a date with its precision), ``format_day`` (a date known to the day)
or ``format_moment`` (a recorded date and time, in the reader's time zone).

"March 2025" is stored as (2025-03-01, month) when it says when something happened, and a
deadline "by April 2026" as (2026-04-30, month): the stored day is the one the statement is
certain by (the start of the period for what happened, the end of it for what is due). The day
itself is never shown unless the precision is "day".
"""

import calendar
import datetime as dt

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class DatePrecision(models.TextChoices):
    DAY = "day", _("Exact day")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


def period_start(value: dt.date, precision: str) -> dt.date:
    if precision == DatePrecision.MONTH:
        return value.replace(day=1)
    if precision == DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    return value


def period_end(value: dt.date, precision: str) -> dt.date:
    if precision == DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    if precision == DatePrecision.YEAR:
        return value.replace(month=12, day=31)
    return value


def format_fuzzy_date(value: dt.date | None, precision: str, *, by: bool = False) -> str:
    """Render a date as precisely as it is known: "5 January 2026", "March 2025", "2025".

    With ``by=True`` (deadlines) a month or year reads "by end of April 2026".
    """
    if value is None:
        return ""
    if precision == DatePrecision.MONTH:
        if by:
            # The month as the language says it after "by end of" ("E": Ukrainian puts it in
            # the genitive, "до кінця квітня 2026"); the same as "F" in most languages.
            return gettext("by end of %(month)s %(year)s") % {
                "month": formats.date_format(value, "E"),
                "year": value.year,
            }
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    if precision == DatePrecision.YEAR:
        if by:
            return gettext("by end of %(year)s") % {"year": value.year}
        return str(value.year)
    return formats.date_format(value, "DATE_FORMAT")


def format_day(value: dt.date | None) -> str:
    """A date known to the day ("Jan. 8, 2026" in the active language)."""
    return format_fuzzy_date(value, DatePrecision.DAY)


def format_moment(value: dt.datetime | None) -> str:
    """When something was recorded, in the active time zone ("Jan. 8, 2026, 9:02 a.m.";
    Korean "2026년 1월 8일 오전 9:02")."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")
