import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    CASE_TRANSITIONS,
    Case,
    CaseReferenceCounter,
    CaseShare,
    CaseStatus,
    DatePrecision,
    Deadline,
    DeadlineStatus,
    Event,
    Membership,
    Organization,
    Prisoner,
)
from cases.models.dates import format_day

from . import plausibility
from .actors import is_system_actor
from .deadlines import deadline_update
from .reminders import reminders_plan
from .search import cases_refresh_search
from .transitions import apply_transition, save_tracked


def _check_people_change(
    *, case: Case, by: AbstractBaseUser, added: Iterable[Prisoner], removed: Iterable[Prisoner]
) -> None:
    """A person goes on a case only with their owner's consent (access.may_link_prisoner)
    and comes off it only by their owner or the case's lead (access.may_unlink_prisoner)."""
    if is_system_actor(by):
        return
    refused_in = [p.code for p in added if not access.may_link_prisoner(by, p, case)]
    refused_out = [p.code for p in removed if not access.may_unlink_prisoner(by, p, case)]
    errors = []
    if refused_in:
        errors.append(
            _(
                "You may not put %(people)s on this case: a person goes on a case led by "
                "another organization only through a coordinator of the organization that "
                "registered them."
            )
            % {"people": ", ".join(sorted(refused_in))}
        )
    if refused_out:
        errors.append(
            _(
                "You may not take %(people)s off this case: only the organization that "
                "registered them or the case's lead organization may."
            )
            % {"people": ", ".join(sorted(refused_out))}
        )
    if errors:
        raise ValidationError({"prisoners": errors})


def _unlink(*, case: Case, prisoners: list[Prisoner], by: AbstractBaseUser, reason: str) -> None:
    """Take people off a case and off its events, on record."""
    if not prisoners:
        return
    case._history_user = by
    case._change_reason = reason
    case.prisoners.remove(*prisoners)
    for event in Event.objects.filter(case=case, prisoners__in=prisoners).distinct():
        event._history_user = by
        event._change_reason = reason
        event.prisoners.remove(*prisoners)
    cases_refresh_search(case_ids=[case.pk])


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
    prisoners = list(prisoners)
    if prisoners:
        _check_people_change(case=case, by=by, added=prisoners, removed=[])
        case._history_user = by
        case._change_reason = reason
        case.prisoners.set(prisoners)
        cases_refresh_search(case_ids=[case.pk])
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
        wanted = {p.pk: p for p in prisoners}
        current = {p.pk: p for p in case.prisoners.all()}
        added = [p for pk, p in wanted.items() if pk not in current]
        removed = [p for pk, p in current.items() if pk not in wanted]
        _check_people_change(case=case, by=by, added=added, removed=removed)
        case._history_user = by
        case._change_reason = reason
        if added:
            case.prisoners.add(*added)
        _unlink(case=case, prisoners=removed, by=by, reason=reason)
        cases_refresh_search(case_ids=[case.pk])
    return case


@transaction.atomic
def case_add_prisoner(*, case: Case, prisoner: Prisoner, by: AbstractBaseUser) -> None:
    """Put a person on a case, with the consent of the person's owner (see
    access.may_link_prisoner); refused with PermissionDenied otherwise."""
    if not is_system_actor(by) and not access.may_link_prisoner(by, prisoner, case):
        raise PermissionDenied
    case._history_user = by
    case._change_reason = f"{prisoner.code} added to the case"
    case.prisoners.add(prisoner)
    cases_refresh_search(case_ids=[case.pk])


@transaction.atomic
def case_remove_prisoner(
    *, case: Case, prisoner: Prisoner, by: AbstractBaseUser, reason: str
) -> None:
    """Take a person off a case (and off its events): the person's owner or the case's lead."""
    if not is_system_actor(by) and not access.may_unlink_prisoner(by, prisoner, case):
        raise PermissionDenied
    _unlink(case=case, prisoners=[prisoner], by=by, reason=reason)


@transaction.atomic
def case_unshare(*, share: CaseShare, by: AbstractBaseUser, reason: str) -> None:
    """Stop sharing a case with a partner; the deletion is on record with who and why.

    Ending a share ends what came through it, at once: the partner's people come off the case
    (they were on it through the share, and their owner could no longer see or withdraw them),
    the partner's members stop being assignees of its deadlines, and their reminders are
    re-planned (so nothing more is sent to them).
    """
    case = share.case
    organization_id = share.organization_id
    share._history_user = by
    share._change_reason = reason
    share.delete()
    # Stored in English like every reason the system writes (history is append-only).
    ended = f"Share with {share.organization} ended: {reason}"
    _unlink(
        case=case,
        prisoners=list(case.prisoners.filter(owner_id=organization_id)),
        by=by,
        reason=ended,
    )
    members = Membership.objects.filter(organization_id=organization_id).values("user_id")
    for deadline in Deadline.objects.filter(case=case, assignees__in=members).distinct():
        still_seeing = [user for user in deadline.assignees.all() if access.case_level(user, case)]
        deadline_update(deadline=deadline, by=by, reason=ended, assignees=still_seeing)
    for deadline in Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN):
        reminders_plan(deadline=deadline)
