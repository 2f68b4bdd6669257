"""Plausibility rules for dates, declared once.

Two kinds of finding:

- an **error** for the impossible (a date before 1900 or far in the future, a reply due before
  the petition was filed, a response before filing, a case closed before it was opened): the
  input is refused with a sentence on the field;
- a **warning** for the unlikely (something that "happened" in the future, a deadline that is
  already past when it is set): input from a person is saved only once they confirm (the
  forms pass ``confirmed=False`` until the "Save anyway" box is ticked), so a typo does not
  slip through and a late entry is still possible. Callers that cannot ask anyone (commands,
  tasks, the demo loader, tests' set-up) pass nothing (``confirmed=None``): the input is taken
  as given. Errors are refused from every caller.

Services call ``check([...], confirmed=...)`` with the findings of the rules below before they
write anything; a refusal leaves nothing half-saved (they run in one transaction).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models.dates import (
    DatePrecision,
    format_day,
    format_fuzzy_date,
    period_end,
    period_start,
)

EARLIEST = dt.date(1900, 1, 1)
# How far ahead a date may lie: deadlines and exchange windows are planned months or a few
# years ahead, never decades.
FUTURE_YEARS = 20


@dataclass(frozen=True)
class Finding:
    field: str
    message: str
    error: bool  # True: impossible, refused; False: unlikely, needs confirmation


class ConfirmationNeeded(ValidationError):
    """Input that is unlikely but possible: saved only when the person confirms."""


def _today() -> dt.date:
    return timezone.localdate()


def latest_allowed(today: dt.date | None = None) -> dt.date:
    today = today or _today()
    try:
        return today.replace(year=today.year + FUTURE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + FUTURE_YEARS, day=28)


def in_range(field: str, value: dt.date | None) -> Finding | None:
    """Any date: between 1900 and twenty years from now."""
    if value is None:
        return None
    last = latest_allowed()
    if value < EARLIEST or value > last:
        return Finding(
            field,
            _("Give a date between %(first)s and %(last)s.")
            % {"first": EARLIEST.year, "last": last.year},
            error=True,
        )
    return None


def happened(field: str, value: dt.date | None, precision: str = DatePrecision.DAY):
    """When something happened: a real date, and (unless confirmed) not in the future."""
    if value is None:
        return None
    finding = in_range(field, value)
    if finding:
        return finding
    if period_start(value, precision) > _today():
        return Finding(
            field,
            _("%(date)s is in the future. Did it happen already? Check the date, or save anyway.")
            % {"date": format_fuzzy_date(value, precision)},
            error=False,
        )
    return None


def due(field: str, value: dt.date | None, precision: str = DatePrecision.DAY):
    """A deadline being set: a real date, and (unless confirmed) not already past."""
    if value is None:
        return None
    finding = in_range(field, value)
    if finding:
        return finding
    overdue = (_today() - period_end(value, precision)).days
    if overdue > 0:
        return Finding(
            field,
            ngettext(
                "This deadline is %(days)d day overdue already. Save anyway?",
                "This deadline is %(days)d days overdue already. Save anyway?",
                overdue,
            )
            % {"days": overdue},
            error=False,
        )
    return None


def not_before(field: str, value: dt.date | None, earlier: dt.date | None, message: str):
    """``value`` may not come before ``earlier``: ``message`` takes %(date)s (``earlier``)."""
    if value is None or earlier is None or value >= earlier:
        return None
    return Finding(field, message % {"date": format_day(earlier)}, error=True)


def check(findings: Iterable[Finding | None], *, confirmed: bool | None = None) -> None:
    """Refuse on any error; ask for confirmation on warnings unless ``confirmed``."""
    found = [f for f in findings if f is not None]
    errors: dict[str, list[str]] = {}
    for finding in found:
        if finding.error:
            errors.setdefault(finding.field, []).append(finding.message)
    if errors:
        raise ValidationError(errors, code="implausible")
    warnings: dict[str, list[str]] = {}
    for finding in found:
        warnings.setdefault(finding.field, []).append(finding.message)
    if warnings and confirmed is False:
        raise ConfirmationNeeded(warnings, code="confirm")
