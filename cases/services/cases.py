import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from cases.models import (
    CASE_TRANSITIONS,
    Case,
    CaseReferenceCounter,
    CaseShare,
    CaseStatus,
    Organization,
    Prisoner,
)

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
) -> Case:
    opened_on = opened_on or timezone.localdate()
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


def case_change_status(*, case: Case, to: str, by: AbstractBaseUser, reason: str) -> Case:
    """Open, advocate, monitor, close or reopen a case; closing dates it, reopening undates it."""
    closed_on = timezone.localdate() if to == CaseStatus.CLOSED else None
    if closed_on is not None and closed_on < case.opened_on:
        closed_on = case.opened_on
    return apply_transition(
        instance=case,
        to=to,
        by=by,
        reason=reason,
        transitions=CASE_TRANSITIONS,
        changes={"closed_on": closed_on},
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
    **fields,
) -> Case:
    """Edit a case's details (not its status or lead organization)."""
    for forbidden in ("status", "lead_organization", "reference", "closed_on"):
        if forbidden in fields:
            raise ValueError(f"{forbidden} is not edited with case_update")
    for name, value in fields.items():
        setattr(case, name, value)
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
