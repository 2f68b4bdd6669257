from django.contrib.auth.models import AbstractBaseUser

from cases.models import CUSTODY_TRANSITIONS, Prisoner

from .transitions import apply_transition, save_tracked


def prisoner_create(
    *, by: AbstractBaseUser, code: str, reason: str = "Added", **fields
) -> Prisoner:
    prisoner = Prisoner(code=code, **fields)
    prisoner.full_clean()
    save_tracked(prisoner, by=by, reason=reason)
    return prisoner


def prisoner_change_custody(
    *, prisoner: Prisoner, to: str, by: AbstractBaseUser, reason: str, **changes
) -> Prisoner:
    """Record a change of custody (detained → transferred, ...) with the reason for it.

    ``changes`` may carry fields that change with it, e.g. the new place of detention.
    """
    return apply_transition(
        instance=prisoner,
        to=to,
        by=by,
        reason=reason,
        transitions=CUSTODY_TRANSITIONS,
        changes=changes,
    )


def prisoner_update(
    *, prisoner: Prisoner, by: AbstractBaseUser, reason: str = "Edited", **fields
) -> Prisoner:
    """Edit a person's details; a custody change needs prisoner_change_custody (a reason)."""
    if "custody_status" in fields:
        raise ValueError("custody_status changes through prisoner_change_custody")
    for name, value in fields.items():
        setattr(prisoner, name, value)
    prisoner.full_clean()
    save_tracked(prisoner, by=by, reason=reason)
    return prisoner
