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
from .derived import cases_rebuild
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


def next_deadline_of(case_id: int) -> tuple[dt.date | None, str]:
    """The case's earliest open deadline, computed from its deadlines: (day, precision), or
    (None, "") when none is open. What ``Case.next_deadline_on`` holds."""
    soonest = (
        Deadline.objects.filter(case_id=case_id, status=DeadlineStatus.OPEN)
        .order_by("due_on", "id")
        .values_list("due_on", "due_precision")
        .first()
    )
    return soonest if soonest is not None else (None, "")


@transaction.atomic
def case_refresh_next_deadline(*, case_id: int) -> bool:
    """Store the case's next open deadline on the case (``Case.next_deadline_on``); True if it
    changed. Called by every service that creates, moves, reopens or closes a deadline, in
    its transaction.

    A plain queryset update of these two columns alone: they are excluded from the case's
    history (derived data; the deadline's own history row records the change), so no case
    history row is due, and ``Case.save()`` never writes them.
    """
    # The case row first, locked: two deadlines of the case changed at once are then summed
    # up one after the other, the second seeing the first (each in its own transaction).
    list(Case.objects.select_for_update().filter(pk=case_id).values_list("pk"))
    due_on, precision = next_deadline_of(case_id)
    changed = (
        Case.objects.filter(pk=case_id)
        .exclude(next_deadline_on=due_on, next_deadline_precision=precision)
        .update(next_deadline_on=due_on, next_deadline_precision=precision)
        if due_on is not None
        else Case.objects.filter(pk=case_id, next_deadline_on__isnull=False).update(
            next_deadline_on=None, next_deadline_precision=""
        )
    )
    return bool(changed)


def cases_refresh_next_deadlines(*, case_ids: list[int]) -> int:
    """``case_refresh_next_deadline`` for many cases at once (a development moving hundreds of
    deadlines, the rebuild command): a few statements in all. Returns how many changed.
    Run inside the caller's transaction."""
    # The cases first, locked: a deadline service changing one of them meanwhile waits (its
    # refresh updates the case row), or has committed before we read.
    stored = list(
        Case.objects.select_for_update()
        .filter(pk__in=case_ids)
        .order_by("pk")
        .values_list("pk", "next_deadline_on", "next_deadline_precision")
    )
    soonest: dict[int, tuple[dt.date, str]] = {}
    rows = (
        Deadline.objects.filter(case_id__in=case_ids, status=DeadlineStatus.OPEN)
        .order_by("case_id", "-due_on", "-id")
        .values_list("case_id", "due_on", "due_precision")
    )
    for case_id, due_on, precision in rows:
        soonest[case_id] = (due_on, precision)  # the last one per case is the earliest
    stale = {
        pk: soonest.get(pk, (None, ""))
        for pk, on, precision in stored
        if (on, precision) != soonest.get(pk, (None, ""))
    }
    # Derived columns outside the case's history (see case_refresh_next_deadline): a plain
    # bulk update of these two columns alone, one statement.
    Case.objects.bulk_update(
        [
            Case(pk=pk, next_deadline_on=due_on, next_deadline_precision=precision)
            for pk, (due_on, precision) in stale.items()
        ],
        ["next_deadline_on", "next_deadline_precision"],
    )
    return len(stale)


def cases_rebuild_next_deadlines(*, batch_size: int = 2000) -> tuple[int, int]:
    """Recompute ``Case.next_deadline_on`` of every case: (cases looked at, cases changed)."""
    return cases_rebuild(cases_refresh_next_deadlines, batch_size=batch_size)


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
    case_refresh_next_deadline(case_id=deadline.case_id)
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
    case_before = deadline.case_id
    for name, value in fields.items():
        setattr(deadline, name, value)
    _normalise(deadline)
    plausibility.check(
        _date_findings(deadline, due_changed=(deadline.due_on, deadline.due_precision) != before),
        confirmed=confirmed,
    )
    deadline.full_clean()
    save_tracked(deadline, by=by, reason=reason)
    for case_id in {case_before, deadline.case_id}:
        case_refresh_next_deadline(case_id=case_id)
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
        case_refresh_next_deadline(case_id=deadline.case_id)
        # Done, cancelled or missed: pending reminders are cancelled; reopened: planned again.
        reminders_plan(deadline=deadline)
    return deadline
