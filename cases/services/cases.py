import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    CASE_TRANSITIONS,
    Case,
    CaseReferenceCounter,
    CaseShare,
    CaseStatus,
    DatePrecision,
    Organization,
    Prisoner,
)
from cases.models.dates import format_day

from . import plausibility
from .transitions import apply_transition, save_tracked


def case_assign_reference(case: Case) -> None:
    """Give a new case the next reference, CASE-<year>-<nnnn>.

    The year's counter row is locked until the transaction ends, so numbers are never reused.
    Call it inside the transaction that saves the case.
    """
    year = timezone.now().year
    CaseReferenceCounter.objects.get_or_create(year=year)
    counter = CaseReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    case.reference = f"CASE-{year}-{counter.last_number:04d}"


@transaction.atomic
def case_create(
    *,
    by: AbstractBaseUser,
    title: str,
    lead_organization: Organization,
    summary: str = "",
    priority: str = Case._meta.get_field("priority").default,
    opened_on: dt.date | None = None,
    prisoners: Iterable[Prisoner] = (),
    reason: str = "Case opened",
    confirmed: bool | None = None,
) -> Case:
    opened_on = opened_on or timezone.localdate()
    plausibility.check([plausibility.happened("opened_on", opened_on)], confirmed=confirmed)
    case = Case(
        title=title,
        summary=summary,
        priority=priority,
        lead_organization=lead_organization,
        opened_on=opened_on,
        status=CaseStatus.OPEN,
    )
    case.full_clean(exclude=["reference"])
    case_assign_reference(case)
    save_tracked(case, by=by, reason=reason)
    if prisoners:
        case.prisoners.set(prisoners)
    return case


def case_change_status(
    *,
    case: Case,
    to: str,
    by: AbstractBaseUser,
    reason: str,
    happened_on: dt.date | None = None,
    happened_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
) -> Case:
    """Open, advocate, monitor, close or reopen a case; closing dates it (the day it happened,
    today if not given), reopening undates it."""
    if happened_on is None:
        # Not said: today, or the opening day for a case dated ahead of today.
        happened_on = max(timezone.localdate(), case.opened_on)
    closed_on = None
    if to == CaseStatus.CLOSED:
        if happened_precision != DatePrecision.DAY:
            raise ValidationError({"happened_on": _("Give the exact day the case was closed.")})
        closed_on = happened_on
    plausibility.check(
        [
            plausibility.not_before(
                "happened_on",
                happened_on if happened_precision == DatePrecision.DAY else None,
                case.opened_on,
                _("The case was opened on %(date)s: this cannot have happened before."),
            )
        ]
    )
    return apply_transition(
        instance=case,
        to=to,
        by=by,
        reason=reason,
        transitions=CASE_TRANSITIONS,
        changes={"closed_on": closed_on},
        happened_on=happened_on,
        happened_precision=happened_precision,
        confirmed=confirmed,
    )


@transaction.atomic
def case_share(
    *, case: Case, organization: Organization, level: str, by: AbstractBaseUser, reason: str
) -> CaseShare:
    """Share a case with a partner organization (or change the level of an existing share)."""
    share = CaseShare.objects.filter(case=case, organization=organization).first()
    if share is None:
        share = CaseShare(case=case, organization=organization)
    share.level = level
    share.full_clean()
    save_tracked(share, by=by, reason=reason)
    return share


@transaction.atomic
def case_update(
    *,
    case: Case,
    by: AbstractBaseUser,
    reason: str = "Edited",
    prisoners: Iterable[Prisoner] | None = None,
    confirmed: bool | None = None,
    **fields,
) -> Case:
    """Edit a case's details (not its status or lead organization)."""
    for forbidden in ("status", "lead_organization", "reference", "closed_on"):
        if forbidden in fields:
            raise ValueError(f"{forbidden} is not edited with case_update")
    for name, value in fields.items():
        setattr(case, name, value)
    opened_after_closed = None
    if case.closed_on is not None and case.opened_on and case.opened_on > case.closed_on:
        opened_after_closed = plausibility.Finding(
            "opened_on",
            _("The case was closed on %(date)s: it cannot have been opened after that.")
            % {"date": format_day(case.closed_on)},
            error=True,
        )
    plausibility.check(
        [plausibility.happened("opened_on", case.opened_on), opened_after_closed],
        confirmed=confirmed,
    )
    case.full_clean(exclude=["reference"])
    save_tracked(case, by=by, reason=reason)
    if prisoners is not None:
        case._change_reason = reason
        case.prisoners.set(list(prisoners))
    return case


@transaction.atomic
def case_add_prisoner(*, case: Case, prisoner: Prisoner, by: AbstractBaseUser) -> None:
    case._history_user = by
    case._change_reason = f"{prisoner.code} added to the case"
    case.prisoners.add(prisoner)


@transaction.atomic
def case_unshare(*, share: CaseShare, by: AbstractBaseUser, reason: str) -> None:
    """Stop sharing a case with a partner; the deletion is on record with who and why."""
    share._history_user = by
    share._change_reason = reason
    share.delete()
