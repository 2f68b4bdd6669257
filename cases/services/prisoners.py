import datetime as dt

from django.contrib.auth.models import AbstractBaseUser

from cases.models import CUSTODY_TRANSITIONS, DatePrecision, Prisoner

from . import plausibility
from .transitions import apply_transition, save_tracked


def _date_findings(prisoner: Prisoner) -> list:
    return [
        plausibility.happened("captured_on", prisoner.captured_on, prisoner.captured_on_precision),
        plausibility.happened(
            "wish_expressed_on", prisoner.wish_expressed_on, prisoner.wish_expressed_on_precision
        ),
    ]


def prisoner_create(
    *,
    by: AbstractBaseUser,
    code: str,
    reason: str = "Added",
    confirmed: bool | None = None,
    **fields,
) -> Prisoner:
    prisoner = Prisoner(code=code, **fields)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    prisoner.full_clean()
    save_tracked(prisoner, by=by, reason=reason)
    return prisoner


def prisoner_change_custody(
    *,
    prisoner: Prisoner,
    to: str,
    by: AbstractBaseUser,
    reason: str,
    happened_on: dt.date | None = None,
    happened_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
    **changes,
) -> Prisoner:
    """Record a change of custody (detained → transferred, ...) with the reason for it and
    when it happened (today if not given).

    ``changes`` may carry fields that change with it, e.g. the new place of detention.
    """
    for name, value in changes.items():
        setattr(prisoner, name, value)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    return apply_transition(
        instance=prisoner,
        to=to,
        by=by,
        reason=reason,
        transitions=CUSTODY_TRANSITIONS,
        changes=changes,
        happened_on=happened_on,
        happened_precision=happened_precision,
        confirmed=confirmed,
    )


def prisoner_update(
    *,
    prisoner: Prisoner,
    by: AbstractBaseUser,
    reason: str = "Edited",
    confirmed: bool | None = None,
    **fields,
) -> Prisoner:
    """Edit a person's details; a custody change needs prisoner_change_custody (a reason)."""
    if "custody_status" in fields:
        raise ValueError("custody_status changes through prisoner_change_custody")
    for name, value in fields.items():
        setattr(prisoner, name, value)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    prisoner.full_clean()
    save_tracked(prisoner, by=by, reason=reason)
    return prisoner
