"""Who may see and change what: the one home of access control.

A case belongs to its lead organization and may be shared with partner organizations at read
or edit level. Everything that hangs off a case (petitions, events, deadlines, documents,
history, reminders) follows the case. People of concern belong to the organization that
registered them: reading them follows their cases, every other right comes from the owner.
Lists go through the ``*_visible_to`` queryset filters; single objects through the
``get_*_for`` getters, which raise Http404 for anything out of reach (so an outsider cannot
even learn that it exists) and PermissionDenied when the user may see it but not do the thing
asked.
"""

from collections.abc import Iterable
from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from cases.memo import ProcessMemo
from cases.models import Case, CaseShare, Membership, Prisoner
from cases.models.cases import SEARCH_DOCUMENT_FIELDS
from cases.selectors.compiled import run_statement


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
    return cases_visible_through(case_visibility(user))


# What decides which cases a user sees (``case_visibility``): every case, or the cases of
# these organizations (none if it is empty).
EVERY_CASE = "every case"
CaseVisibility = str | tuple[int, ...]


def case_visibility(user: AbstractBaseUser | AnonymousUser) -> CaseVisibility:
    """What ``cases_visible_to`` filters by, as plain values read now: ``EVERY_CASE``, or the
    ids of the user's organizations, sorted (empty for a visitor, an inactive account or a
    user of no organization). Two users with the same visibility see the same cases, so a
    query built for one (``cases.selectors.cases``) holds for the other; the shares are not
    in it: ``cases_visible_through`` reads them in the query itself."""
    if not _is_signed_in(user):
        return ()
    if _sees_everything(user):
        return EVERY_CASE
    return tuple(sorted(organizations_of(user)))


# The visibility each user last had, kept per process (``case_visibility_guess``): bounded,
# cleared when full.
_LAST_VISIBILITY = ProcessMemo(10_000)


def case_visibility_guess(user: AbstractBaseUser | AnonymousUser) -> CaseVisibility | None:
    """The user's ``case_visibility`` as this process last read it (None if it has not):
    only a guess, for a query that checks it as it runs (``case_visibility_check``), so that
    the user's organizations are not read in a query of their own first. A superuser's is
    known without reading anything."""
    if not _is_signed_in(user):
        return ()
    if _sees_everything(user):
        return EVERY_CASE
    return _LAST_VISIBILITY.get(user.pk)


def case_visibility_read(user: AbstractBaseUser | AnonymousUser) -> CaseVisibility:
    """``case_visibility``, read now, and kept as the next ``case_visibility_guess``."""
    visibility = case_visibility(user)
    if _is_signed_in(user) and not _sees_everything(user):
        _LAST_VISIBILITY.put(user.pk, visibility)
    return visibility


def case_visibility_check(user, visibility: CaseVisibility) -> tuple[str, list]:
    """SQL (and its parameters) of a condition that holds exactly when ``visibility`` is the
    user's ``case_visibility`` when it is evaluated. A query that read cases through
    ``cases_visible_through(visibility)`` and this condition in the same statement (one
    snapshot) may show them only if the condition held: else the guess was out of date and
    the query is run again with the visibility read anew."""
    if visibility == EVERY_CASE:
        # Known from the user's row, read on this request.
        sees = _is_signed_in(user) and _sees_everything(user)
        return ("1 = 1", []) if sees else ("1 = 0", [])
    if not visibility:
        raise ValueError("no organizations: no cases to read, nothing to check")
    table = connection.ops.quote_name(Membership._meta.db_table)
    user_column = Membership._meta.get_field("user").column
    org_column = Membership._meta.get_field("organization").column
    listed = ", ".join(["%s"] * len(visibility))
    # One membership per organization (Membership's one_membership_per_org): as many as
    # listed, and every one of them listed, is exactly these. Names from the model; every
    # value is a parameter.
    sql = (
        f"(SELECT COUNT(*) FROM {table} WHERE {user_column} = %s) = %s AND "  # noqa: S608
        f"(SELECT COUNT(*) FROM {table} WHERE {user_column} = %s AND {org_column} IN ({listed}))"
        " = %s"
    )
    count = len(visibility)
    return sql, [user.pk, count, user.pk, *visibility, count]


def cases_visible_through(visibility: CaseVisibility) -> QuerySet[Case]:
    """The cases that a user of this ``case_visibility`` sees."""
    if visibility == EVERY_CASE:
        return Case.objects.all()
    # The user's organizations are read first (a few rows), so that the query holds them as
    # values: PostgreSQL then estimates from its statistics how many cases those organizations
    # lead. As a subquery OR'ed with an EXISTS on shares, each side was guessed at half of all
    # cases, which inflated every plan of the case list at 100,000 cases (and set off JIT
    # compilation: docs/performance.md). The shares stay a subquery (one hashed set per
    # query, however many cases are shared with the organization).
    org_ids = list(visibility)
    if not org_ids:
        return Case.objects.none()
    shared = CaseShare.objects.filter(organization_id__in=org_ids).values("case_id")
    return Case.objects.filter(Q(lead_organization_id__in=org_ids) | Q(pk__in=shared))


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
    shares = {s.organization_id: s.level for s in case.shares.all()}
    memberships = Membership.objects.filter(user=user).values_list("organization_id", "role")
    return _level_from(memberships, lead_organization_id=case.lead_organization_id, shares=shares)


def _level_from(
    memberships: Iterable[tuple[int, str]], *, lead_organization_id: int, shares: dict[int, str]
) -> Level:
    """The most a user with these memberships (organization, role) may do on a case led by
    ``lead_organization_id`` and shared with ``shares`` (organization: share level): their
    role in the lead organization, or in a partner the case is shared with, capped by the
    share's level. Never more than what one membership gives on its own."""
    best = Level.NONE
    for organization_id, role in memberships:
        role_level = _ROLE_LEVEL[role]
        if organization_id == lead_organization_id:
            best = max(best, role_level)
        elif organization_id in shares:
            best = max(best, min(role_level, _SHARE_LEVEL[shares[organization_id]]))
    return best


def get_case_for(user, pk, *, level: Level = Level.READ) -> Case:
    """The case, if the user may see it (else 404) and do ``level`` on it (else 403)."""
    case = cases_visible_to(user).select_related("lead_organization").filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    if level > Level.READ and case_level(user, case) < level:
        raise PermissionDenied
    return case


# The case with, on each row, one of the reader's memberships (organization, role) and the
# case's share with that organization, if any: everything ``_level_from`` needs, in one query
# (the case page's first, on every view), without the search document. Table names are the
# models' own; the values are parameters.
_CASE, _MEMBERSHIP, _SHARE = (m._meta.db_table for m in (Case, Membership, CaseShare))
_CASE_FIELDS = [f for f in Case._meta.concrete_fields if f.name not in SEARCH_DOCUMENT_FIELDS]
_CASE_COLUMNS = ", ".join(f"c.{f.column}" for f in _CASE_FIELDS)
_CASE_FOR_READER_SQL = f"""
SELECT {_CASE_COLUMNS},
       m.organization_id AS reader_organization_id, m.role AS reader_role,
       s.level AS reader_share_level
FROM {_CASE} c
JOIN {_MEMBERSHIP} m ON m.user_id = %s
LEFT JOIN {_SHARE} s ON s.case_id = c.id AND s.organization_id = m.organization_id
WHERE c.id = %s
ORDER BY m.organization_id
"""  # noqa: S608 (table names from the models; every value is a parameter)


_case_converters: list | None = None  # per field: its column and the ORM's converters


def _case_values(values) -> list:
    """The case's columns as the ORM converts them (SQLite returns dates as text)."""
    global _case_converters
    connection = connections[Case.objects.db]
    if _case_converters is None:
        _case_converters = [
            (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            for col in (field.get_col("c") for field in _CASE_FIELDS)
        ]
    converted = []
    for (col, convs), value in zip(_case_converters, values, strict=True):
        for convert in convs:
            value = convert(value, col, connection)
        converted.append(value)
    return converted


def get_case_and_level(user, pk: int) -> tuple[Case, Level]:
    """The case, if the user may see it (else 404), with the most they may do on it.

    The same rules as ``get_case_for`` and ``case_level`` (``_level_from``), read in one
    query instead of four (the reader's organizations, the case, its shares, the reader's
    memberships again): the case page's. A case is visible exactly when the level is at
    least READ. The lead organization is not loaded with the case.
    """
    if not _is_signed_in(user):
        raise Http404("No such case.")
    if _sees_everything(user):
        case = Case.objects.filter(pk=pk).first()
        if case is None:
            raise Http404("No such case.")
        return case, Level.MANAGE
    # Prepared on PostgreSQL: planning it took longer than running it.
    rows = run_statement(_CASE_FOR_READER_SQL, [user.pk, int(pk)])
    if not rows:
        raise Http404("No such case.")
    width = len(_CASE_FIELDS)
    case = Case.from_db(
        Case.objects.db,
        [f.attname for f in _CASE_FIELDS],
        _case_values(rows[0][:width]),
    )
    readers = [row[width:] for row in rows]  # (organization, role, share level)
    level = _level_from(
        [(organization_id, role) for organization_id, role, _share in readers],
        lead_organization_id=case.lead_organization_id,
        shares={organization_id: share for organization_id, _role, share in readers if share},
    )
    if level < Level.READ:
        raise Http404("No such case.")
    return case, level


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


# --- People of concern: rights come from the owner ---------------------------------------------
# A person belongs to the organization that registered them (``Prisoner.owner``). Reading
# follows cases: whoever may see a case sees the people on it, by code. Everything else on the
# person (editing, revealing the identity, linking them into a case) is the owner's to allow,
# never "some case contains them". A link of a person into a case is itself an act of the
# owner (its coordinators, or its editors for a case the owner leads) and of the case (edit
# rights on it); ending a share unlinks the partner's people (services.case_unshare).


def person_level(user, prisoner: Prisoner) -> Level:
    """What the user may do on the person itself, from their role in the owning organization."""
    if not _is_signed_in(user):
        return Level.NONE
    if _sees_everything(user):
        return Level.MANAGE
    role = (
        Membership.objects.filter(user=user, organization_id=prisoner.owner_id)
        .values_list("role", flat=True)
        .first()
    )
    return _ROLE_LEVEL[role] if role else Level.NONE


def prisoners_visible_to(user) -> QuerySet[Prisoner]:
    """People owned by one of the user's organizations, or on a case the user may see."""
    if not _is_signed_in(user):
        return Prisoner.objects.none()
    if _sees_everything(user):
        return Prisoner.objects.all()
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    on_cases = Prisoner.cases.through.objects.filter(
        prisoner=OuterRef("pk"), case__in=cases_visible_to(user)
    )
    return Prisoner.objects.filter(Q(owner_id__in=org_ids) | Exists(on_cases))


def get_prisoner_for(user, pk) -> Prisoner:
    """A person the user may see (else 404)."""
    prisoner = prisoners_visible_to(user).select_related("owner").filter(pk=pk).first()
    if prisoner is None:
        raise Http404("No such person.")
    return prisoner


def prisoners_linkable_by(user) -> QuerySet[Prisoner]:
    """People the user may put on a case at all: owned by an organization where they edit.
    Whether a given case may have them is ``may_link_prisoner``."""
    if not _is_signed_in(user):
        return Prisoner.objects.none()
    if _sees_everything(user):
        return Prisoner.objects.all()
    writers = Membership.objects.filter(
        user=user, role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR]
    ).values("organization_id")
    return Prisoner.objects.filter(owner_id__in=writers)


def may_link_prisoner(user, prisoner: Prisoner, case: Case) -> bool:
    """Whether the user may put the person on the case: edit rights on the case, and the
    owner's consent: an editor of the owner for the owner's own cases, its coordinator for a
    case led by another organization."""
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    if case_level(user, case) < Level.EDIT:
        return False
    needed = Level.EDIT if case.lead_organization_id == prisoner.owner_id else Level.MANAGE
    return person_level(user, prisoner) >= needed


def may_unlink_prisoner(user, prisoner: Prisoner, case: Case) -> bool:
    """Whether the user may take the person off the case: the owner's editors (the person is
    theirs to withdraw), or the editors of the organization leading the case. A partner with
    an edit share may not empty the lead's list of people."""
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    if person_level(user, prisoner) >= Level.EDIT:
        return True
    return Membership.objects.filter(
        user=user,
        organization_id=case.lead_organization_id,
        role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
    ).exists()


def may_edit_prisoner(user, prisoner: Prisoner) -> bool:
    return person_level(user, prisoner) >= Level.EDIT


def may_see_identity(user, prisoner: Prisoner) -> bool:
    """Identities (legal name, notes, health notes, a sensitive place of detention) are
    need-to-know: the owner's coordinators, its members granted identity access, and
    superusers. Never anyone else, whatever case the person is on."""
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    return (
        Membership.objects.filter(user=user, organization_id=prisoner.owner_id)
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


def registering_organization(user, case: Case):
    """The organization a person registered by ``user`` on ``case`` belongs to: the lead, if
    the user edits there; else the partner whose edit share lets them add to the case; None
    if they may not add people to it."""
    from cases.models import Organization

    if not _is_signed_in(user):
        return None
    if _sees_everything(user):
        return case.lead_organization
    writers = {
        m.organization_id
        for m in Membership.objects.filter(
            user=user, role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR]
        )
    }
    if case.lead_organization_id in writers:
        return case.lead_organization
    shares = case.shares.filter(organization_id__in=writers, level=CaseShare.Level.EDIT)
    share = shares.order_by("organization__name").first()
    return Organization.objects.get(pk=share.organization_id) if share else None


def cases_to_link(user, prisoner: Prisoner) -> QuerySet[Case]:
    """Cases the user may put the person on (not on them yet)."""
    if person_level(user, prisoner) < Level.EDIT:
        return Case.objects.none()
    editable = cases_editable_by(user).exclude(prisoners=prisoner)
    if person_level(user, prisoner) >= Level.MANAGE:
        return editable
    return editable.filter(lead_organization_id=prisoner.owner_id)


def cases_to_request_link(user, prisoner: Prisoner) -> QuerySet[Case]:
    """Cases the user may edit but may not put the person on without the owner's consent:
    they may ask the owner for it (services.person_link_request)."""
    if not prisoners_visible_to(user).filter(pk=prisoner.pk).exists():
        return Case.objects.none()
    direct = cases_to_link(user, prisoner).values("pk")
    return cases_editable_by(user).exclude(prisoners=prisoner).exclude(pk__in=direct)


# --- Teams, the directory and access review (issue 12) ----------------------------------------
# An organization's team is run by its coordinators: only they (and superusers) see its
# members, invitations and sessions. Anyone else who belongs to the organization gets 403;
# everyone else 404, so that an outsider learns nothing about another organization's team.
# The directory (organizations and authorities) is readable by every signed-in user.


def organizations_coordinated_by(user) -> QuerySet:
    from cases.models import Organization

    if not _is_signed_in(user):
        return Organization.objects.none()
    if _sees_everything(user):
        return Organization.objects.all()
    return Organization.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.COORDINATOR
    )


def get_team_for(user, pk):
    """The organization whose team the user runs (404 unless a member, 403 unless its
    coordinator)."""
    from cases.models import Organization

    if not _is_signed_in(user):
        raise Http404("No such organization.")
    organization = Organization.objects.filter(pk=pk).first()
    if organization is None:
        raise Http404("No such organization.")
    if _sees_everything(user):
        return organization
    role = (
        Membership.objects.filter(user=user, organization=organization)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise Http404("No such organization.")
    if role != Membership.Role.COORDINATOR:
        raise PermissionDenied
    return organization


def get_member_of_team(user, org_pk, pk) -> Membership:
    organization = get_team_for(user, org_pk)
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(organization=organization, pk=pk)
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def get_invitation_of_team(user, org_pk, pk):
    from cases.models import Invitation

    organization = get_team_for(user, org_pk)
    invitation = Invitation.objects.filter(organization=organization, pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def may_edit_authorities(user) -> bool:
    """Editors and coordinators of any organization keep the authorities up to date."""
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    return Membership.objects.filter(
        user=user, role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR]
    ).exists()


def may_edit_organization(user, organization) -> bool:
    if not _is_signed_in(user):
        return False
    if _sees_everything(user):
        return True
    return Membership.objects.filter(
        user=user, organization=organization, role=Membership.Role.COORDINATOR
    ).exists()


def may_merge_directory(user) -> bool:
    """Merging duplicates moves every reference: for the staff who run the installation."""
    return _is_signed_in(user) and user.is_staff


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


# --- API tokens: each user's own -----------------------------------------------------------------
def tokens_of(user):
    """The user's own API tokens (no one else's: not even a superuser lists them here)."""
    from cases.models import ApiToken

    if not _is_signed_in(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def get_token_for(user, pk):
    """One of the user's own tokens (else 404)."""
    token = tokens_of(user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


# --- Developments (issue 17): one event, many cases -------------------------------------------
# A development belongs to the organization that recorded it: its members see it, its editors
# and coordinators change it. Anyone else sees it only through a linked case they may see, and
# sees only those of its cases. Linking it to a case (and unlinking) takes edit rights on the
# case. Deadlines are moved only on cases the user may edit.


def developments_visible_to(user):
    """Developments owned by one of the user's organizations or linked to a case they see."""
    from cases.models import Development, DevelopmentLink

    if not _is_signed_in(user):
        return Development.objects.none()
    if _sees_everything(user):
        return Development.objects.all()
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    linked = DevelopmentLink.objects.filter(
        development=OuterRef("pk"), case__in=cases_visible_to(user)
    )
    return Development.objects.filter(Q(owner_id__in=org_ids) | Exists(linked))


def organizations_recording_developments(user) -> QuerySet:
    """Organizations on whose behalf the user may record a development (editor or above)."""
    from cases.models import Organization

    if not _is_signed_in(user):
        return Organization.objects.none()
    if _sees_everything(user):
        return Organization.objects.all()
    return Organization.objects.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
    )


def may_edit_development(user, development) -> bool:
    return organizations_recording_developments(user).filter(pk=development.owner_id).exists()


def get_development_for(user, pk, *, edit: bool = False):
    """A development the user may see (else 404), and edit if asked (else 403)."""
    development = developments_visible_to(user).select_related("owner").filter(pk=pk).first()
    if development is None:
        raise Http404("No such development.")
    if edit and not may_edit_development(user, development):
        raise PermissionDenied
    return development


def may_link_development(user, development, case: Case) -> bool:
    """Linking a development to a case, or unlinking it: edit rights on the case, and the
    development within sight."""
    if not developments_visible_to(user).filter(pk=development.pk).exists():
        return False
    return case_level(user, case) >= Level.EDIT


def get_development_link_for(user, development, pk):
    """A link of the development to a case the user may see (else 404) and edit (else 403)."""
    link = (
        development.links.filter(case__in=cases_visible_to(user))
        .select_related("case")
        .filter(pk=pk)
        .first()
    )
    if link is None:
        raise Http404("No such link.")
    if case_level(user, link.case) < Level.EDIT:
        raise PermissionDenied
    return link


def get_deadline_move_for(user, pk, *, undo: bool = False):
    """A deadline move of a development the user may see (else 404); undoing it is for whoever
    made it (and superusers), else 403."""
    from cases.models import DeadlineMove

    move = (
        DeadlineMove.objects.filter(development__in=developments_visible_to(user))
        .select_related("development", "by")
        .filter(pk=pk)
        .first()
    )
    if move is None:
        raise Http404("No such deadline move.")
    if undo and not (_sees_everything(user) or move.by_id == user.pk):
        raise PermissionDenied
    return move
