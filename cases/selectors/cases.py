"""The case list: search, filters and sorting over the cases a user may see."""

import datetime as dt
import math
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Window,
)
from django.db.models.expressions import RawSQL

from cases import access
from cases.models import (
    Authority,
    Case,
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
    # Cases without an open deadline last, on every database (SQLite puts NULLs first).
    "next_deadline": (F("next_deadline_on").asc(nulls_last=True), "-id"),
}
# Each order reads along an index of its own (Case.Meta.indexes).


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
    "next_deadline_on",
    "next_deadline_precision",
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


# A search whose ways in find at most this many (case, way) pairs (a code, a reference, a
# rare word) hands the database the ids it found, as values. Past it, a broad search: the web
# list checks case by case, and counts "more than 1,000" from these ids (_search).
SEARCH_IDS_AS_VALUES = 4000


def _search(
    cases: QuerySet[Case], text: str, *, walk: bool = False
) -> tuple[QuerySet, QuerySet | None]:
    """Case code and title, prisoner code, petition reference and title, authority.

    ``cases``: the cases to search in (every other filter applied). Returns the cases found
    and, for a broad search on PostgreSQL with ``walk``, some of them (a sample read from the
    indexes, for ``capped_page``'s count), else None. ``walk``: a broad search checks case by
    case in the list's order (``_matches_case_by_case``) instead of finding every match.
    """
    # The directory is small (a few hundred authorities): its matches are read first, so
    # that the query holds them as values and a word no authority has skips those ways in.
    authorities = list(
        Authority.objects.filter(Q(name__icontains=text) | Q(short_name__icontains=text))
        .order_by()
        .values_list("pk", flat=True)
    )
    prisoners = Prisoner.objects.filter(code__icontains=text).values("pk")
    if connection.vendor == "postgresql":
        by_text, by_authority = _matching_case_ids(text, authorities, prisoners)
        # The first few thousand ids, the ways in through the text first (index scans that
        # stop early), those through authorities only if still needed. A narrow search: its
        # ids go to the query as values, so that PostgreSQL reads those cases by id instead of
        # guessing how many match and scanning them all.
        limit = SEARCH_IDS_AS_VALUES
        found = [_only(row) for row in by_text[: limit + 1]]
        if by_authority is not None and len(found) <= limit:
            found += [_only(row) for row in by_authority[: limit + 1 - len(found)]]
        if len(found) <= limit:
            return cases.filter(pk__in=_as_values(found)), None
        if walk:
            sample = cases.filter(pk__in=_as_values(found))
            return _matches_case_by_case(cases, text, authorities, prisoners), sample
        every = by_text if by_authority is None else by_text.union(by_authority, all=True)
        return cases.filter(pk__in=every), None
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
    return cases.filter(pk__in=matched.values("pk")), None


def _matches_case_by_case(
    cases: QuerySet[Case], text: str, authorities: list[int], prisoners: QuerySet
) -> QuerySet[Case]:
    """PostgreSQL: whether a case matches, checked for each case through indexes on its own
    rows, for a broad search ("Ministry"): read in the list's order, the first page's cases
    are found after a few hundred cases instead of finding (and sorting) tens of thousands.

    Each EXISTS is grouped with a HAVING that always holds, which only keeps PostgreSQL from
    turning it into a hashed set of every matching case (it must then run it case by case,
    through the index on ``case_id``): a hash of every petition to a ministry is what made
    the search cost as much as its matches (see docs/performance.md).
    """
    from django.contrib.postgres.search import SearchQuery, SearchVector

    query = SearchQuery(text, config="simple", search_type="websearch")
    case_vector = SearchVector("reference", "title", "summary", config="simple")
    petition_vector = SearchVector("reference", "title", config="simple")

    def per_case(queryset: QuerySet, case_path: str) -> Exists:
        rows = queryset.filter(**{case_path: OuterRef("pk")}).values(case_path)
        return Exists(rows.annotate(n=Count("pk")).filter(n__gt=0))

    matches = (
        Q(search_vector=query)
        | Q(reference__iexact=text)
        | per_case(Petition.objects.annotate(v=petition_vector).filter(v=query), "case")
        | per_case(Case.prisoners.through.objects.filter(prisoner_id__in=prisoners), "case")
    )
    if authorities:
        matches |= (
            per_case(Petition.objects.filter(addressed_to__in=authorities), "case")
            | per_case(
                Petition.copied_to.through.objects.filter(authority_id__in=authorities),
                "petition__case",
            )
            | per_case(
                Event.authorities.through.objects.filter(authority_id__in=authorities),
                "event__case",
            )
        )
    return cases.alias(search_vector=case_vector).filter(matches)


def _matching_case_ids(
    text: str, authorities: list[int], prisoners: QuerySet
) -> tuple[QuerySet, QuerySet | None]:
    """PostgreSQL: the ids of the cases a search finds, as a UNION of one query per way in:
    those through the text, and those through the authorities (None if no authority
    matches). Kept apart so that the first few ids are read without starting the ways in
    through authorities, which find tens of thousands of rows for a word like "Ministry".

    Each part reads through an index of its own. Written as one OR across a join and EXISTS
    subqueries instead, it made PostgreSQL compute the text vector of every case (and of
    every petition) on every search (see docs/performance.md).
    """
    from django.contrib.postgres.search import SearchQuery, SearchVector

    query = SearchQuery(text, config="simple", search_type="websearch")
    # Both vectors match GIN expression indexes (migration 0007_search_indexes).
    case_vector = SearchVector("reference", "title", "summary", config="simple")
    petition_vector = SearchVector("reference", "title", config="simple")
    by_text = _union(
        Case.objects.annotate(v=case_vector).filter(v=query).values("pk"),
        Case.objects.filter(reference__iexact=text).values("pk"),
        Petition.objects.annotate(v=petition_vector).filter(v=query).values("case_id"),
        Case.prisoners.through.objects.filter(prisoner_id__in=prisoners).values("case_id"),
    )
    if not authorities:
        return by_text, None
    by_authority = _union(
        Petition.objects.filter(addressed_to__in=authorities).values("case_id"),
        Petition.copied_to.through.objects.filter(authority_id__in=authorities).values(
            "petition__case_id"
        ),
        Event.authorities.through.objects.filter(authority_id__in=authorities).values(
            "event__case_id"
        ),
    )
    return by_text, by_authority


def _as_values(ids: list[int]) -> RawSQL:
    """PostgreSQL: these ids as one array (``IN (SELECT unnest(...))``), not thousands of
    parameters to parse; PostgreSQL knows how many there are."""
    return RawSQL("SELECT unnest(%s::bigint[])", [sorted(set(ids))])


def _only(row: dict):
    """The one value of a row of ``_union`` (named after the first part's column)."""
    (value,) = row.values()
    return value


def _union(*parts: QuerySet) -> QuerySet:
    first, *rest = (part.order_by() for part in parts)
    return first.union(*rest, all=True)


def case_list(user, filters: CaseFilters, *, today: dt.date) -> QuerySet[Case]:
    """The cases the user may see that the filters select, in the order asked."""
    return _case_list(user, filters, today=today)[0]


def case_list_page(
    user, filters: CaseFilters, number, *, per_page: int, today: dt.date
) -> "CappedPage":
    """One page of ``case_list`` as ids, with a count capped at ``COUNT_CAP``: what the web
    list shows. A broad search reads its page case by case in the list's order and counts
    from a sample of its matches (``capped_page``)."""
    cases, sample = _case_list(user, filters, today=today, walk=True)
    ids = cases.select_related(None).prefetch_related(None).values_list("pk", flat=True)
    return capped_page(ids, number, per_page=per_page, sample=sample)


def _case_list(
    user, filters: CaseFilters, *, today: dt.date, walk: bool = False
) -> tuple[QuerySet[Case], QuerySet | None]:
    cases = access.cases_visible_to(user)
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
        # The earliest open deadline is past if any open deadline is.
        cases = cases.filter(next_deadline_on__lt=today)
    sample = None
    text = filters.q.strip()
    if text:
        cases, sample = _search(cases, text, walk=walk)
    return _as_listed(cases).order_by(*SORTS.get(filters.sort, SORTS["-opened_on"])), sample


def cases_as_listed(ids: list[int]) -> QuerySet[Case]:
    """These cases with what a row of the case list shows. Only for ids that came out of
    ``case_list`` for the same user: it checks no access itself."""
    return _as_listed(Case.objects.filter(pk__in=ids))


def _as_listed(cases: QuerySet[Case]) -> QuerySet[Case]:
    """What the list shows (and sorts on), and no more: no summaries; of people their code
    and risk; the next open deadline."""
    # The next open deadline's day and its precision, as the deadline services keep them on
    # the case (Case.next_deadline_on): the row shows "by end of April 2026", never a day the
    # deadline does not hold.
    return (
        cases.annotate(next_deadline=F("next_deadline_on"))
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


# The case list counts its matches up to this many; past it, it says "more than 1,000".
COUNT_CAP = 1000


@dataclass
class CappedPage:
    """One page of the case list, with a count that stops at ``cap``: what Django's ``Page``
    offers the templates, except that ``paginator.num_pages`` is None (and ``over_cap`` True)
    when there are more than ``cap`` rows, since they were not all counted."""

    object_list: list
    number: int
    per_page: int
    count: int  # exact up to ``cap``; ``cap`` + 1 means "more than ``cap``"
    cap: int
    has_more: bool

    @property
    def over_cap(self) -> bool:
        return self.count > self.cap

    @property
    def paginator(self) -> "CappedPage":  # page.paginator.count, as templates use it
        return self

    @property
    def num_pages(self) -> int | None:
        return None if self.over_cap else max(math.ceil(self.count / self.per_page), 1)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self.has_more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def capped_page(
    queryset: QuerySet,
    number,
    *,
    per_page: int,
    cap: int | None = None,
    sample: QuerySet | None = None,
) -> CappedPage:
    """One page of ``queryset`` and how many rows it has, counted up to ``cap`` only.

    Pages like Django's ``Paginator.get_page`` (a bad number gives the first page, one past
    the end the last), but never counts every match. A page within the first ``cap`` rows
    (the pages people read) comes with its count in one query: the first ``cap`` + 1 rows,
    which are ids (pass ``values_list("pk", flat=True)``) or anything as light. A search
    matching 90,000 cases so costs what one matching 1,000 does, and its matches are found
    once. A page further on reads its rows (and one more, for "next") at their offset; only
    a page number past the end counts everything, to find the last page.
    """
    cap = COUNT_CAP if cap is None else cap
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    known = sample.order_by()[: cap + 1].count() if sample is not None else 0
    if known > cap:
        # More than ``cap`` of the sample alone: the rows only, the count is known.
        rows = list(queryset[start : start + per_page + 1]) if number >= 1 else []
        count = known
    elif number >= 1 and start + per_page <= cap:
        head = list(queryset[: cap + 1])
        count = len(head)
        rows = head[start : start + per_page + 1]
    else:
        rows = list(queryset[start : start + per_page + 1]) if number >= 1 else []
        count = cap + 1 if rows else queryset.order_by()[: cap + 1].count()
    if not rows and number != 1:
        total = count if count <= cap else queryset.count()
        number = max(math.ceil(total / per_page), 1)
        start = (number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1]) if total else []
    return CappedPage(
        object_list=rows[:per_page],
        number=number,
        per_page=per_page,
        count=count,
        cap=cap,
        has_more=len(rows) > per_page,
    )
