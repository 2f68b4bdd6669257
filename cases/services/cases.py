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
