import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    DEADLINE_TRANSITIONS,
    DEFAULT_REMINDER_DAYS,
    Case,
    DatePrecision,
    Deadline,
    DeadlineStatus,
    Petition,
)
from cases.models.dates import period_end
from cases.models.deadlines import MAX_REMINDER_DAYS

from . import plausibility
from .reminders import reminders_plan
from .transitions import apply_transition, save_tracked


def clean_reminder_days(values: Iterable[int]) -> list[int]:
    """Whole days before the deadline, largest first, each once."""
    try:
        days = sorted({int(value) for value in values}, reverse=True)
    except (TypeError, ValueError):
        raise ValidationError(
            {"reminder_days": _("Reminder days must be whole numbers.")}
        ) from None
    if any(day < 0 or day > MAX_REMINDER_DAYS for day in days):
        raise ValidationError(
            {
                "reminder_days": _("Reminder days must be between 0 and %(max)d.")
                % {"max": MAX_REMINDER_DAYS}
            }
        )
    return days


def _normalise(deadline: Deadline) -> None:
    if deadline.due_precision != DatePrecision.DAY:
        deadline.due_time = None
    deadline.due_on = period_end(deadline.due_on, deadline.due_precision)
    if deadline.due_timezone:
        try:
            zoneinfo.ZoneInfo(deadline.due_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {"due_timezone": _("Unknown time zone; use a name such as Europe/Kyiv.")}
            ) from None
    deadline.reminder_days = clean_reminder_days(deadline.reminder_days)


def _date_findings(deadline: Deadline, *, due_changed: bool) -> list:
    """A reply cannot be due before its petition was filed; a deadline set (or moved) into
    the past is asked about."""
    petition = deadline.petition
    filed = petition.filed_on if petition is not None else None
    return [
        plausibility.in_range("due_on", deadline.due_on),
        plausibility.in_range("window_starts_on", deadline.window_starts_on),
        plausibility.not_before(
            "due_on",
            deadline.due_on,
            filed,
            _("The petition was filed on %(date)s: a deadline about it cannot fall before."),
        ),
        plausibility.due("due_on", deadline.due_on, deadline.due_precision)
        if due_changed
        else None,
    ]


@transaction.atomic
def deadline_create(
    *,
    case: Case,
    by: AbstractBaseUser,
    kind: str,
    title: str,
    due_on: dt.date,
    due_precision: str = DatePrecision.DAY,
    petition: Petition | None = None,
    assignees: Iterable[AbstractBaseUser] = (),
    reminder_days: Iterable[int] | None = None,
    reason: str = "Deadline set",
    confirmed: bool | None = None,
    **fields,
) -> Deadline:
    """Set a deadline. "By April 2026" is ``due_on`` in April with ``due_precision="month"``.

    One already past is set only when ``confirmed`` (see plausibility)."""
    if petition is not None and petition.case_id != case.pk:
        raise ValidationError({"petition": _("The petition belongs to another case.")})
    deadline = Deadline(
        case=case,
        petition=petition,
        kind=kind,
        title=title,
        due_on=due_on,
        due_precision=due_precision,
        reminder_days=list(
            DEFAULT_REMINDER_DAYS.get(kind, []) if reminder_days is None else reminder_days
        ),
        status=DeadlineStatus.OPEN,
        **fields,
    )
    _normalise(deadline)
    plausibility.check(_date_findings(deadline, due_changed=True), confirmed=confirmed)
    deadline.full_clean()
    save_tracked(deadline, by=by, reason=reason)
    deadline.assignees.set(list(assignees))
    reminders_plan(deadline=deadline)
    return deadline


@transaction.atomic
def deadline_update(
    *,
    deadline: Deadline,
    by: AbstractBaseUser,
    reason: str = "Deadline edited",
    confirmed: bool | None = None,
    **fields,
) -> Deadline:
    """Move, retitle or re-time a deadline (not its status: see deadline_change_status)."""
    assignees = fields.pop("assignees", None)
    if "status" in fields:
        raise ValidationError({"status": _("Change the status with a reason instead.")})
    before = (deadline.due_on, deadline.due_precision)
    for name, value in fields.items():
        setattr(deadline, name, value)
    _normalise(deadline)
    plausibility.check(
        _date_findings(deadline, due_changed=(deadline.due_on, deadline.due_precision) != before),
        confirmed=confirmed,
    )
    deadline.full_clean()
    save_tracked(deadline, by=by, reason=reason)
    if assignees is not None:
        deadline.assignees.set(list(assignees))
    reminders_plan(deadline=deadline)  # moved or reassigned: re-plan, cancel what is obsolete
    return deadline


def deadline_change_status(
    *,
    deadline: Deadline,
    to: str,
    by: AbstractBaseUser,
    reason: str,
    happened_on: dt.date | None = None,
    happened_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
) -> Deadline:
    """Mark a deadline done, cancelled or missed (or reopen it), saying why and when it
    happened (today if not given)."""
    completed_at = timezone.now() if to == DeadlineStatus.DONE else None
    with transaction.atomic():
        apply_transition(
            instance=deadline,
            to=to,
            by=by,
            reason=reason,
            transitions=DEADLINE_TRANSITIONS,
            changes={"completed_at": completed_at},
            happened_on=happened_on,
            happened_precision=happened_precision,
            confirmed=confirmed,
        )
        # Done, cancelled or missed: pending reminders are cancelled; reopened: planned again.
        reminders_plan(deadline=deadline)
    return deadline
