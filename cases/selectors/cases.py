"""The case list: search, filters and sorting over the cases a user may see."""

import datetime as dt
import math
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)

from cases import access
from cases.models import (
    Authority,
    Case,
    Deadline,
    DeadlineStatus,
    Event,
    Petition,
    Prisoner,
)

SORTS = {
    "-opened_on": ("-opened_on", "-id"),
    "opened_on": ("opened_on", "id"),
    "reference": ("reference",),
    "title": ("title", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "next_deadline": ("next_deadline", "-id"),
}


# The columns the case list shows or sorts on.
_LISTED = (
    "reference",
    "title",
    "status",
    "priority",
    "opened_on",
    "updated_at",
    "lead_organization__name",
    "lead_organization__short_name",
)


@dataclass(frozen=True)
class CaseFilters:
    q: str = ""
    status: str = ""
    priority: str = ""
    organization: int | None = None
    authority: int | None = None
    risk_level: str = ""
    overdue: bool = False
    sort: str = "-opened_on"


def _search(cases: QuerySet[Case], text: str) -> QuerySet[Case]:
    """Case code and title, prisoner code, petition reference and title, authority."""
    authorities = Authority.objects.filter(
        Q(name__icontains=text) | Q(short_name__icontains=text)
    ).values("pk")
    prisoners = Prisoner.objects.filter(code__icontains=text).values("pk")
    if connection.vendor == "postgresql":
        return cases.filter(pk__in=_matching_case_ids(text, authorities, prisoners))
    petition_authority = Petition.objects.filter(case=OuterRef("pk")).filter(
        Q(addressed_to__in=authorities) | Q(copied_to__in=authorities)
    )
    event_authority = Event.objects.filter(case=OuterRef("pk"), authorities__in=authorities)
    related = Q(prisoners__in=prisoners) | Exists(petition_authority) | Exists(event_authority)
    case_fields = (
        Q(reference__icontains=text) | Q(title__icontains=text) | Q(summary__icontains=text)
    )
    petitions = Petition.objects.filter(case=OuterRef("pk")).filter(
        Q(reference__icontains=text) | Q(title__icontains=text)
    )
    matched = cases.filter(case_fields | Exists(petitions) | related)
    return cases.filter(pk__in=matched.values("pk"))


def _matching_case_ids(text: str, authorities: QuerySet, prisoners: QuerySet) -> QuerySet:
    """PostgreSQL: the ids of the cases a search finds, as a UNION of one query per way in.

    Each part reads through an index of its own. Written as one OR across a join and EXISTS
    subqueries instead, it made PostgreSQL compute the text vector of every case (and of
    every petition) on every search (see docs/performance.md).
    """
    from django.contrib.postgres.search import SearchQuery, SearchVector

    query = SearchQuery(text, config="simple", search_type="websearch")
    # Both vectors match GIN expression indexes (migration 0007_search_indexes).
    case_vector = SearchVector("reference", "title", "summary", config="simple")
    petition_vector = SearchVector("reference", "title", config="simple")
    parts = [
        Case.objects.annotate(v=case_vector).filter(v=query).values("pk"),
        Case.objects.filter(reference__iexact=text).values("pk"),
        Petition.objects.annotate(v=petition_vector).filter(v=query).values("case_id"),
        Case.prisoners.through.objects.filter(prisoner_id__in=prisoners).values("case_id"),
        Petition.objects.filter(addressed_to__in=authorities).values("case_id"),
        Petition.copied_to.through.objects.filter(authority_id__in=authorities).values(
            "petition__case_id"
        ),
        Event.authorities.through.objects.filter(authority_id__in=authorities).values(
            "event__case_id"
        ),
    ]
    first, *rest = (part.order_by() for part in parts)
    return first.union(*rest, all=True)


def case_list(user, filters: CaseFilters, *, today: dt.date) -> QuerySet[Case]:
    cases = access.cases_visible_to(user)
    text = filters.q.strip()
    if text:
        cases = _search(cases, text)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.priority:
        cases = cases.filter(priority=filters.priority)
    if filters.organization:
        cases = cases.filter(
            Q(lead_organization_id=filters.organization)
            | Q(
                pk__in=Case.objects.filter(shares__organization_id=filters.organization).values(
                    "pk"
                )
            )
        )
    if filters.authority:
        cases = cases.filter(
            Exists(
                Petition.objects.filter(case=OuterRef("pk")).filter(
                    Q(addressed_to_id=filters.authority) | Q(copied_to__id=filters.authority)
                )
            )
            | Exists(Event.objects.filter(case=OuterRef("pk"), authorities__id=filters.authority))
        )
    if filters.risk_level:
        cases = cases.filter(
            pk__in=Case.prisoners.through.objects.filter(
                prisoner__risk_level=filters.risk_level
            ).values("case_id")
        )
    if filters.overdue:
        cases = cases.filter(Exists(_open_deadlines().filter(due_on__lt=today)))
    return _as_listed(cases).order_by(*SORTS.get(filters.sort, SORTS["-opened_on"]))


def cases_as_listed(ids: list[int]) -> QuerySet[Case]:
    """These cases with what a row of the case list shows. Only for ids that came out of
    ``case_list`` for the same user: it checks no access itself."""
    return _as_listed(Case.objects.filter(pk__in=ids))


def _open_deadlines() -> QuerySet[Deadline]:
    return Deadline.objects.filter(case=OuterRef("pk"), status=DeadlineStatus.OPEN)


def _as_listed(cases: QuerySet[Case]) -> QuerySet[Case]:
    """What the list shows (and sorts on), and no more: no summaries; of people their code
    and risk; the next open deadline."""
    # The next open deadline's day and its precision: the row shows "by end of April 2026",
    # never a day the deadline does not hold.
    soonest = _open_deadlines().order_by("due_on", "id")
    return (
        cases.annotate(
            next_deadline=Subquery(soonest.values("due_on")[:1]),
            next_deadline_precision=Subquery(soonest.values("due_precision")[:1]),
        )
        .only(*_LISTED)
        .select_related("lead_organization")
        .prefetch_related(Prefetch("prisoners", Prisoner.objects.only("pk", "code", "risk_level")))
    )


def counted_page(queryset: QuerySet, number, *, per_page: int, window: bool = True) -> Page:
    """One page of ``queryset`` and how many rows there are in all, in one query.

    What Django's ``Paginator.get_page`` gives (a bad number gives the first page, one past
    the end the last), but the total comes with the page's rows as a window count
    (``COUNT(*) OVER ()``), so that a search finds its matches once, not once to count them
    and again for the page. Without a search, a plain count and a page read along an index
    cost less (``window=False``): the window makes the database read every row.
    """
    if not window:
        return Paginator(queryset, per_page).get_page(number)
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    counted = queryset.annotate(_total=Window(Count("pk")))

    def rows_of(page_number: int) -> list:
        start = (page_number - 1) * per_page
        return list(counted[start : start + per_page])

    rows = rows_of(number) if number >= 1 else []
    if rows:
        total = rows[0]._total
    elif number == 1:
        total = 0  # the first page is empty: so is everything
    else:
        total = queryset.count()
        number = max(math.ceil(total / per_page), 1)
        rows = rows_of(number) if total else []
    paginator = Paginator(queryset, per_page)
    paginator.count = total  # a cached property: set, not counted again
    return Page(rows, number, paginator)
