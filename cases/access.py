"""Who may see and change what: the one home of access control.

A case belongs to its lead organization and may be shared with partner organizations at read
or edit level. Everything that hangs off a case (people, petitions, events, deadlines,
documents, history, reminders) follows the case. Lists go through the ``*_visible_to``
queryset filters; single objects through the ``get_*_for`` getters, which raise Http404 for
anything out of reach (so an outsider cannot even learn that it exists) and PermissionDenied
when the user may see it but not do the thing asked.
"""

from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from cases.models import Case, CaseShare, Membership, Prisoner


class Level(IntEnum):
    """What a user may do on a case, each level including the ones below."""

    NONE = 0
    READ = 1
    EDIT = 2
    MANAGE = 3  # the lead organization's coordinators: sharing, closing, identities


_ROLE_LEVEL = {
    Membership.Role.VIEWER: Level.READ,
    Membership.Role.EDITOR: Level.EDIT,
    Membership.Role.COORDINATOR: Level.MANAGE,
}
_SHARE_LEVEL = {CaseShare.Level.READ: Level.READ, CaseShare.Level.EDIT: Level.EDIT}


def _is_signed_in(user) -> bool:
    return user is not None and not isinstance(user, AnonymousUser) and user.is_active


def _sees_everything(user) -> bool:
    return user.is_superuser


def cases_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    """Cases led by one of the user's organizations or shared with one of them."""
    if not _is_signed_in(user):
        return Case.objects.none()
    if _sees_everything(user):
        return Case.objects.all()
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    shared = CaseShare.objects.filter(case=OuterRef("pk"), organization_id__in=org_ids)
    return Case.objects.filter(Q(lead_organization_id__in=org_ids) | Exists(shared))


def cases_editable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    if not _is_signed_in(user):
        return Case.objects.none()
    if _sees_everything(user):
        return Case.objects.all()
    writers = Membership.objects.filter(
        user=user, role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR]
    ).values("organization_id")
    shared = CaseShare.objects.filter(
        case=OuterRef("pk"), organization_id__in=writers, level=CaseShare.Level.EDIT
    )
    return Case.objects.filter(Q(lead_organization_id__in=writers) | Exists(shared))


def case_level(user: AbstractBaseUser | AnonymousUser, case: Case) -> Level:
    """The most the user may do on this case."""
    if not _is_signed_in(user):
        return Level.NONE
    if _sees_everything(user):
        return Level.MANAGE
    best = Level.NONE
    shares = {s.organization_id: s.level for s in case.shares.all()}
    for membership in Membership.objects.filter(user=user):
        role_level = _ROLE_LEVEL[membership.role]
        if membership.organization_id == case.lead_organization_id:
            best = max(best, role_level)
        elif membership.organization_id in shares:
            share_level = _SHARE_LEVEL[shares[membership.organization_id]]
            best = max(best, min(role_level, share_level))
    return best


def get_case_for(user, pk, *, level: Level = Level.READ) -> Case:
    """The case, if the user may see it (else 404) and do ``level`` on it (else 403)."""
    case = cases_visible_to(user).select_related("lead_organization").filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    if level > Level.READ and case_level(user, case) < level:
        raise PermissionDenied
    return case


def visible_through_case(user, queryset: QuerySet, *, case_path: str = "case") -> QuerySet:
    """Rows of a model hanging off a case (through ``case_path``), limited to cases the user
    may see."""
    return queryset.filter(**{f"{case_path}__in": cases_visible_to(user)})


def get_for(user, queryset: QuerySet, pk, *, level: Level = Level.READ, case_path: str = "case"):
    """A row hanging off a case (petition, event, deadline, document; a reminder through its
    deadline, ``case_path="deadline__case"``), checked like its case."""
    rows = visible_through_case(user, queryset, case_path=case_path).select_related(case_path)
    obj = rows.filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found.")
    case = obj
    for step in case_path.split("__"):
        case = getattr(case, step)
    if level > Level.READ and case_level(user, case) < level:
        raise PermissionDenied
    return obj


def prisoners_visible_to(user) -> QuerySet[Prisoner]:
    """People of concern on at least one case the user may see."""
    if not _is_signed_in(user):
        return Prisoner.objects.none()
    if _sees_everything(user):
        return Prisoner.objects.all()
    return Prisoner.objects.filter(cases__in=cases_visible_to(user)).distinct()


def may_see_identity(user, prisoner: Prisoner) -> bool:
    """Legal names are need-to-know: coordinators of a lead organization of one of the
    person's cases, members of it granted identity access, and superusers."""
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    lead_orgs = prisoner.cases.values("lead_organization_id")
    return (
        Membership.objects.filter(user=user, organization_id__in=lead_orgs)
        .filter(Q(role=Membership.Role.COORDINATOR) | Q(identity_access=True))
        .exists()
    )


def organizations_of(user) -> list[int]:
    if not _is_signed_in(user):
        return []
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def require_signed_in(user) -> None:
    if not _is_signed_in(user):
        raise PermissionDenied


def may_export(user, case: Case | None, *, external: bool) -> bool:
    """Whether the user may export this case (or, with ``case=None``, their case list).

    The case list, which mixes cases of several lead organizations, is only exported for the
    team or a partner (``external=False``). Any reader of a case may export it for their own
    team or a partner. Sending it outside (an authority, ICRC/UNHCR, the public) is the lead
    organization's decision: its editors and coordinators (and superusers) only. Identities
    within an export follow ``may_see_identity`` person by person; every export is on the
    access log.
    """
    if not _is_signed_in(user):
        return False
    if case is None:
        return not external
    level = case_level(user, case)
    if level < Level.READ:
        return False
    if not external:
        return True
    if _sees_everything(user):
        return True
    return Membership.objects.filter(
        user=user,
        organization_id=case.lead_organization_id,
        role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
    ).exists()
