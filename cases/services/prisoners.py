import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cases import access
from cases.models import CUSTODY_TRANSITIONS, Case, DatePrecision, Organization, Prisoner

from . import alerts, plausibility
from .search import cases_of_person, cases_refresh_search
from .transitions import apply_transition, save_tracked


def _date_findings(prisoner: Prisoner) -> list:
    return [
        plausibility.happened("captured_on", prisoner.captured_on, prisoner.captured_on_precision),
        plausibility.happened(
            "wish_expressed_on", prisoner.wish_expressed_on, prisoner.wish_expressed_on_precision
        ),
    ]


def _check_code_free(prisoner: Prisoner) -> None:
    """Codes are unique per owning organization. The message speaks of the owner's own people
    only: whether another organization uses the code is none of the user's business."""
    taken = Prisoner.objects.filter(owner_id=prisoner.owner_id, code=prisoner.code)
    if prisoner.pk:
        taken = taken.exclude(pk=prisoner.pk)
    if taken.exists():
        raise ValidationError(
            {"code": _("Your organization already has a person with this code or pseudonym.")}
        )


def prisoner_create(
    *,
    by: AbstractBaseUser,
    owner: Organization,
    code: str,
    reason: str = "Added",
    confirmed: bool | None = None,
    **fields,
) -> Prisoner:
    """Register a person of concern, owned by ``owner`` (the registering organization)."""
    prisoner = Prisoner(owner=owner, code=code, **fields)
    _check_code_free(prisoner)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    prisoner.full_clean()
    save_tracked(prisoner, by=by, reason=reason)
    return prisoner


@transaction.atomic
def prisoner_register(*, case: Case, by: AbstractBaseUser, code: str, **fields) -> Prisoner:
    """Register a new person on a case. The person belongs to the organization through which
    ``by`` may add to the case (access.registering_organization): registering them there is
    that organization's own act, so no further consent is asked."""
    owner = access.registering_organization(by, case)
    if owner is None:
        raise PermissionDenied
    prisoner = prisoner_create(by=by, owner=owner, code=code, **fields)
    case._history_user = by
    case._change_reason = f"{prisoner.code} added to the case"
    case.prisoners.add(prisoner)
    cases_refresh_search(case_ids=[case.pk])
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
    if "owner" in changes or "owner_id" in changes:
        raise ValueError("the owner of a person is not changed with a custody change")
    for name, value in changes.items():
        setattr(prisoner, name, value)
    if "code" in changes:
        _check_code_free(prisoner)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    with transaction.atomic():
        before = alerts.stored_alert_state(prisoner)
        apply_transition(
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
        # Into an exchange pool, or (with it) to imminent risk: an urgent alert.
        alerts.alerts_for_change(before=before, prisoner=prisoner, by=by, reason=reason)
        if "code" in changes:  # the cases' search documents hold it
            cases_refresh_search(case_ids=cases_of_person(prisoner.pk))
    return prisoner


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
    if "owner" in fields or "owner_id" in fields:
        raise ValueError("the owner of a person is not changed by an edit")
    for name, value in fields.items():
        setattr(prisoner, name, value)
    _check_code_free(prisoner)
    plausibility.check(_date_findings(prisoner), confirmed=confirmed)
    prisoner.full_clean()
    with transaction.atomic():
        before = alerts.stored_alert_state(prisoner)
        save_tracked(prisoner, by=by, reason=reason)
        # Risk raised to imminent: an urgent alert (a save that keeps it raises none).
        alerts.alerts_for_change(before=before, prisoner=prisoner, by=by, reason=reason)
        if "code" in fields:  # the cases' search documents hold it
            cases_refresh_search(case_ids=cases_of_person(prisoner.pk))
    return prisoner
