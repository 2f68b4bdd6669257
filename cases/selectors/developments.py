"""Reads about developments: what a user sees of one, and the deadlines it may move.

A development never says which other cases it is linked to: every read here goes through the
cases the reader may see (cases/access.py), and nothing counts the others.
"""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from cases import access
from cases.models import (
    Case,
    Deadline,
    DeadlineMove,
    DeadlineStatus,
    Development,
    DevelopmentLink,
)

# Statuses a deadline may be moved from: open, or missed (a missed deadline moved keeps its
# status: reopening it takes a reason of its own, deadline_change_status).
MOVABLE_STATUSES = (DeadlineStatus.OPEN, DeadlineStatus.MISSED)


def developments_for(user, *, q: str = "") -> QuerySet[Development]:
    rows = access.developments_visible_to(user).select_related("owner")
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(description__icontains=q))
    return rows.order_by("-happened_on", "-id")


def development_links_visible(user, development: Development) -> QuerySet[DevelopmentLink]:
    """The development's links to cases the reader may see (and only those)."""
    return (
        development.links.filter(case__in=access.cases_visible_to(user))
        .select_related("case", "linked_by")
        .order_by("case__reference", "case_id")
    )


def cases_to_link(user, development: Development, *, q: str = "") -> QuerySet[Case]:
    """Cases the user may edit that the development is not linked to yet."""
    rows = access.cases_editable_by(user).exclude(development_links__development=development)
    if q:
        rows = rows.filter(Q(reference__icontains=q) | Q(title__icontains=q))
    return rows.order_by("reference", "pk")


def developments_to_link(user, case: Case) -> QuerySet[Development]:
    """Developments the user sees that are not linked to the case yet."""
    return (
        access.developments_visible_to(user)
        .exclude(links__case=case)
        .select_related("owner")
        .order_by("-happened_on", "-id")
    )


@dataclass
class MoveCandidates:
    """The deadlines a move would touch: those the user may move, and those on linked cases
    they see but may not edit ("not yours to move"). Deadlines on cases they cannot see are
    in neither."""

    movable: list[Deadline] = field(default_factory=list)
    not_yours: list[Deadline] = field(default_factory=list)


def move_candidates(
    user, development: Development, *, kind: str = "", status: str = ""
) -> MoveCandidates:
    """Deadlines on the development's linked cases matching the filter (kind; status, open
    and missed when not given), split by what the user may do. Two queries."""
    statuses = [status] if status else list(MOVABLE_STATUSES)
    rows = (
        Deadline.objects.filter(
            case__development_links__development=development,
            case__in=access.cases_visible_to(user),
            status__in=statuses,
        )
        .select_related("case", "petition")
        .order_by("case__reference", "due_on", "pk")
    )
    if kind:
        rows = rows.filter(kind=kind)
    editable = set(
        access.cases_editable_by(user)
        .filter(development_links__development=development)
        .values_list("pk", flat=True)
    )
    result = MoveCandidates()
    for deadline in rows:
        (result.movable if deadline.case_id in editable else result.not_yours).append(deadline)
    return result


def deadline_moves_of(development: Development) -> QuerySet[DeadlineMove]:
    return development.deadline_moves.select_related("by", "undone_by").order_by("-applied_at")


def move_items_visible(user, move: DeadlineMove):
    """The items of a move on cases the reader may see."""
    return (
        move.items.filter(deadline__case__in=access.cases_visible_to(user))
        .select_related("deadline__case")
        .order_by("deadline__case__reference", "pk")
    )
