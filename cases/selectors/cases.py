"""The case list: search, filters and sorting over the cases a user may see."""

import datetime as dt
import math
import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
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

from cases import access
from cases.memo import ProcessMemo
from cases.models import (
    Authority,
    Case,
    Event,
    Petition,
    Prisoner,
    TimelineVersion,
)
from cases.models.cases import SEARCH_SEPARATOR as SEPARATOR
from cases.selectors import timeline as timeline_selectors

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

# PostgreSQL's text vectors of the case's own text and of each petition's, each matching a
# GIN expression index (migration 0007). The search document stores both of a case
# (Case.search_case_words, Case.search_petition_words: migration 0024).
CASE_WORDS = SearchVector("reference", "title", "summary", config="simple")
PETITION_WORDS = SearchVector("reference", "title", config="simple")


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


def _search(cases: QuerySet[Case], text: str) -> QuerySet[Case]:
    """The cases (of ``cases``, every other filter applied) that ``text`` finds: by the case's
    own reference, title and summary, and through its search document (``Case.search_names``,
    ``Case.search_petitions``: its people's codes, its authorities' names, its petitions'
    references and titles), one row per case. Finds exactly what ``_search_live`` finds
    through the rows themselves (tests/test_search_document.py)."""
    if SEPARATOR in text:
        return _search_live(cases, text)  # the document's lines would not hold it apart
    if connection.vendor != "postgresql":
        # SQLite: every part as a substring, as _search_live matches them.
        return cases.filter(
            Q(search_names__icontains=text)
            | Q(reference__icontains=text)
            | Q(title__icontains=text)
            | Q(summary__icontains=text)
            | Q(search_petitions__icontains=text)
        )
    # PostgreSQL: people's codes and authorities' names as substrings (trigram index on
    # UPPER(search_names)); the case's and the petitions' text as words (the stored vectors
    # and their GIN indexes, migration 0024), and a case code typed in any case. Every test
    # reads an index, so a rare word is found through them; a broad one is read along the
    # list's order, and the cheapest and most often true test comes first (PostgreSQL stops
    # at the first that holds).
    query = SearchQuery(text, config="simple", search_type="websearch")
    matches = Q(search_names__icontains=text)
    shape = _query_shape(text)
    if shape.nodes:
        matches |= Q(search_case_words=query)
    matches |= Q(reference__iexact=text)
    if shape.nodes:
        # The petitions' vector is that of all of them together: it holds a word exactly when
        # one petition does, so a query of one word is answered by it alone. Several words
        # must hold in one petition (as _search_live asks), which each petition checks, once
        # the vector of them all has passed the same query with its phrases read as "and" (a
        # test that every such match passes, whatever the positions). A negation is no such
        # test: those queries go to the petitions directly (no index: slow on many cases).
        one_petition = Exists(
            Petition.objects.alias(words=PETITION_WORDS)
            .filter(case=OuterRef("pk"), words=query)
            .values("pk")
        )
        if shape.nodes == 1:
            matches |= Q(search_petition_words=query)
        elif not shape.negated:
            matches |= Q(search_petition_words=_GivenQuery(shape.without_phrases)) & one_petition
        else:
            matches |= one_petition
    return cases.filter(matches)


@dataclass(frozen=True)
class _QueryShape:
    nodes: int  # lexemes and operators (numnode): 1 for one word, 0 for none
    negated: bool
    without_phrases: str  # the query as text, each phrase operator made "&"


# A tsquery's text: quoted lexemes (a quote doubled inside), phrase operators, anything else.
_TSQUERY_TOKENS = re.compile(r"'(?:[^']|'')*'(?::[A-Za-z*]+)?|<(?:-|\d+)>|.", re.DOTALL)


def _query_shape(text: str) -> _QueryShape:
    """PostgreSQL: the shape of the search's query. A plain ASCII word (letters only) is one
    lexeme without asking the database."""
    if text.isascii() and text.isalpha():
        return _QueryShape(nodes=1, negated=False, without_phrases="")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numnode(q), q::text FROM websearch_to_tsquery('simple', %s) AS q", [text]
        )
        nodes, shown = cursor.fetchone()
    tokens = _TSQUERY_TOKENS.findall(shown)
    return _QueryShape(
        nodes=nodes,
        negated="!" in tokens,
        without_phrases="".join(" & " if t.startswith("<") else t for t in tokens),
    )


class _GivenQuery(SearchQuery):
    """A tsquery given as its text, taken as it is (no parsing, no normalising)."""

    template = "%(expressions)s::tsquery"


def _search_live(cases: QuerySet[Case], text: str) -> QuerySet[Case]:
    """What ``_search`` finds, read through the petitions, people and authorities themselves
    (a join or an EXISTS per way in, per case): the reference that the search document must
    agree with, and the search for a text that holds the document's separator."""
    authorities = Authority.objects.filter(Q(name__icontains=text) | Q(short_name__icontains=text))
    related = (
        Exists(
            Case.prisoners.through.objects.filter(
                case_id=OuterRef("pk"), prisoner__code__icontains=text
            )
        )
        | Exists(
            Petition.objects.filter(case=OuterRef("pk")).filter(
                Q(addressed_to__in=authorities) | Q(copied_to__in=authorities)
            )
        )
        | Exists(Event.objects.filter(case=OuterRef("pk"), authorities__in=authorities))
    )
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="simple", search_type="websearch")
        petitions = Petition.objects.alias(words=PETITION_WORDS).filter(
            case=OuterRef("pk"), words=query
        )
        matched = cases.alias(case_words=CASE_WORDS).filter(
            Q(case_words=query) | Q(reference__iexact=text) | Exists(petitions) | related
        )
    else:
        petitions = Petition.objects.filter(case=OuterRef("pk")).filter(
            Q(reference__icontains=text) | Q(title__icontains=text)
        )
        matched = cases.filter(
            Q(reference__icontains=text)
            | Q(title__icontains=text)
            | Q(summary__icontains=text)
            | Exists(petitions)
            | related
        )
    return matched


def case_list(user, filters: CaseFilters, *, today: dt.date) -> QuerySet[Case]:
    """The cases the user may see that the filters select, in the order asked."""
    return _case_list(access.cases_visible_to(user), filters, today=today)


def case_list_page(
    user, filters: CaseFilters, number, *, per_page: int, today: dt.date
) -> "CappedPage":
    """One page of ``case_list`` as ids, with a count capped at ``COUNT_CAP``: what the web
    list shows. A page within the first ``COUNT_CAP`` cases (the pages people read) also
    comes with the versions of its cases and of the directory (``CappedPage.versions``,
    ``CappedPage.everywhere_version``), all in one query (``_head_page``), which also
    checks the user's organizations as this process last read them
    (``access.case_visibility_guess``) instead of reading them in a query first."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    in_head = number >= 1 and start + per_page <= COUNT_CAP
    if in_head:
        guess = access.case_visibility_guess(user)
        if guess:  # EVERY_CASE or some organizations
            page = _head_page(user, guess, filters, today, number=number, per_page=per_page)
            if page is not None:
                return page
    visibility = access.case_visibility_read(user)
    if in_head and visibility:
        page = _head_page(user, visibility, filters, today, number=number, per_page=per_page)
        if page is not None:
            return page
    # Past the cap, past the end, or nothing to see: paged through the ORM.
    return capped_page(_listed_ids(visibility, filters, today=today), number, per_page=per_page)


def _listed_ids(visibility, filters: CaseFilters, *, today: dt.date) -> QuerySet:
    cases = _case_list(access.cases_visible_through(visibility), filters, today=today)
    return cases.select_related(None).prefetch_related(None).values_list("pk", flat=True)


# The SQL of the case list's first COUNT_CAP + 1 ids, kept per process for each
# (database, visibility, filters, day): building it through the ORM cost more than running it
# (2-8 ms with a search: the search's Q objects, the queryset's clones, the compiler, and for
# a search that is not a plain word a query for its shape). The SQL is what the ORM builds
# from exactly these values, and reads everything else (the cases, their shares, their
# search documents) when it runs, so a kept one answers as a new one would.
_HEAD_SQL = ProcessMemo(512)


def _head_sql(visibility, filters: CaseFilters, today: dt.date) -> tuple[str, tuple]:
    key = (connection.alias, connection.vendor, visibility, filters, today, COUNT_CAP)
    found = _HEAD_SQL.get(key)
    if found is None:
        ids = _listed_ids(visibility, filters, today=today)[: COUNT_CAP + 1]
        sql, params = ids.query.sql_with_params()
        found = (sql, tuple(params))
        _HEAD_SQL.put(key, found)
    return found


def _head_page(
    user, visibility, filters: CaseFilters, today: dt.date, *, number: int, per_page: int
) -> "CappedPage | None":
    """Page ``number`` (within the first ``COUNT_CAP`` rows) in one query: the first
    ``COUNT_CAP`` + 1 ids counted in the database (a window count, so only the page's rows
    come back), and beside each of the page's cases its version and the directory's
    (``TimelineVersion``, as ``timeline_versions`` reads them), under which the list's rows
    and search form are kept rendered.

    None if the page is past the end (``capped_page`` then finds the last page), or if
    ``visibility`` was not the user's when the query ran (``access.case_visibility_check``,
    in the same statement): nothing it read is then used."""
    sql, params = _head_sql(visibility, filters, today)
    check_sql, check_params = access.case_visibility_check(user, visibility)
    qn = connection.ops.quote_name
    versions = qn(TimelineVersion._meta.db_table)
    start = (number - 1) * per_page
    # One row even for an empty page (the check and the directory's version), joined with
    # the page's rows. ROW_NUMBER() OVER () numbers the ids in the order the inner query
    # sorted them; the versions are read for the page's rows only. Names from the models and
    # the ORM's SQL; every value is a parameter.
    page_sql = (
        f"SELECT checked.ok, checked.everywhere, page.id, page.total, page.version "  # noqa: S608
        f"FROM (SELECT ({check_sql}) AS ok, "
        f"(SELECT a.token FROM {versions} a WHERE a.scope = %s) AS everywhere) checked "
        f"LEFT JOIN (SELECT head.id, head.total, head.n, "
        f"(SELECT v.token FROM {versions} v WHERE v.scope = %s || CAST(head.id AS TEXT)) "
        f"AS version FROM ("
        f"SELECT h.{qn('pk')} AS id, COUNT(*) OVER () AS total, ROW_NUMBER() OVER () AS n "
        f"FROM ({sql}) h) head WHERE head.n > %s AND head.n <= %s) page ON 1 = 1 "
        f"ORDER BY page.n"
    )
    all_params = (
        *check_params,
        TimelineVersion.ALL,
        TimelineVersion.case_scope(""),
        *params,
        start,
        start + per_page + 1,
    )
    with connection.cursor() as cursor:
        cursor.execute(page_sql, all_params)
        rows = cursor.fetchall()
    if not rows[0][0]:
        return None  # the guess was out of date: nothing read is used
    everywhere = rows[0][1] or "0"  # a token never set, as timeline_versions reads it
    rows = [row for row in rows if row[2] is not None]
    if not rows and number != 1:
        return None
    shown = rows[:per_page]
    return CappedPage(
        object_list=[row[2] for row in shown],
        number=number,
        per_page=per_page,
        count=rows[0][3] if rows else 0,
        cap=COUNT_CAP,
        has_more=len(rows) > per_page,
        versions={row[2]: timeline_selectors.version_from(row[4], everywhere) for row in shown},
        everywhere_version=everywhere,
    )


def _case_list(cases: QuerySet[Case], filters: CaseFilters, *, today: dt.date) -> QuerySet[Case]:
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
    text = filters.q.strip()
    if text:
        cases = _search(cases, text)
    return _as_listed(cases).order_by(*SORTS.get(filters.sort, SORTS["-opened_on"]))


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
    # Within the first ``cap`` rows (``case_list_page``): each case's ``timeline_version``,
    # and the directory's (``everywhere_version``).
    versions: dict[int, str] | None = None
    everywhere_version: str | None = None

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
    if number >= 1 and start + per_page <= cap:
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
