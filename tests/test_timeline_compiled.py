"""The timeline's queries compiled once per process (cases/selectors/compiled.py) return what
the ORM returns for the same values, on a case with every kind of entry.

- The page's ids: every filter (none, by kind, with and without deadlines, by person), both
  orders, first and later pages.
- The entries' columns, and the lists they show (people, authorities, organizations,
  filers, requests, a development's authorities), for any subset of kinds.
- A compiled query run a second time with other values reads those values, not the first.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Prisoner, TimelineEntry
from cases.models.developments import DevelopmentKind
from cases.selectors import timeline
from cases.selectors.compiled import compiled, stand_in
from cases.services import developments
from tests import factories
from tests.test_timeline_shown import full_case  # noqa: F401  (the fixture)


@pytest.fixture
def every_kind(full_case, coordinator):  # noqa: F811
    """``full_case`` with a development linked to it, so that every kind of entry is there."""
    court = factories.AuthorityFactory(name="Appeal court", short_name="AC")
    development = developments.development_create(
        by=coordinator,
        owner=full_case.lead_organization,
        title="Amnesty law passed",
        kind=DevelopmentKind.values[0],
        happened_on=dt.date(2025, 4, 2),
        authorities=[court],
    )
    developments.development_link_case(development=development, case=full_case, by=coordinator)
    return full_case


def _orm_ids(case, people, *, kinds, prisoner, newest_first, start, size):
    """The page's ids by the definition: the case's entries or its people's, one condition
    (``_page_ids`` reads them as a UNION of the two on PostgreSQL)."""
    queryset = timeline._entries(case, people, kinds=kinds, prisoner=prisoner)
    queryset = queryset.order_by(*timeline._order(newest_first)).values_list("pk", flat=True)
    return list(queryset[start : start + size + 1])


@pytest.mark.django_db
def test_the_page_ids_are_the_orms_for_every_filter(every_kind, coordinator):
    case = every_kind
    kinds_present = set(
        TimelineEntry.objects.filter(case=case).values_list("kind", flat=True)
    ) | set(TimelineEntry.objects.filter(prisoner__cases=case).values_list("kind", flat=True))
    assert set(TimelineEntry.Kind.values) <= kinds_present
    people = list(case.prisoners.values_list("pk", flat=True))
    person = Prisoner.objects.get(code="POW-A")
    # Entries that hang from both a case and a person (the schema allows it): on this case,
    # read once, not once for the case and again for the person; on another case, read for
    # the person.
    other = factories.make_case(lead_organization=case.lead_organization, by=coordinator)
    for on in (case, other):
        TimelineEntry.objects.create(
            kind="change", subject="prisoner", field="risk_level", case=on, prisoner=person,
            happened_on=dt.date(2025, 3, 15), precision="day",
            recorded_at=dt.datetime(2025, 3, 15, tzinfo=dt.UTC),
        )  # fmt: skip
    filters = [None, ["deadline"], ["event", "petition"], ["status", "change"], ["development"]]
    compared = 0
    for kinds in filters:
        for prisoner in (None, person):
            for newest_first in (True, False):
                for page in (1, 2, 3):
                    size = 3
                    ids, more = timeline._page_ids(
                        case,
                        page=page,
                        kinds=kinds,
                        prisoner=prisoner,
                        newest_first=newest_first,
                        page_size=size,
                        people=people,
                    )
                    expected = _orm_ids(
                        case,
                        people,
                        kinds=kinds,
                        prisoner=prisoner,
                        newest_first=newest_first,
                        start=(page - 1) * size,
                        size=size,
                    )
                    assert (ids, more) == (expected[:size], len(expected) > size)
                    compared += bool(expected)
    assert compared > 20  # most shapes had entries to compare


@pytest.mark.django_db
def test_a_case_without_people_reads_its_own_entries(case):
    ids, more = timeline._page_ids(
        case, page=1, kinds=None, prisoner=None, newest_first=True, page_size=50, people=[]
    )
    expected = _orm_ids(case, [], kinds=None, prisoner=None, newest_first=True, start=0, size=50)
    assert ids == expected[:50] and ids and not more


@pytest.mark.django_db
def test_the_entries_and_their_lists_are_the_orms(every_kind):
    ids = list(TimelineEntry.objects.filter(case=every_kind).values_list("pk", flat=True))
    ids += list(
        TimelineEntry.objects.filter(prisoner__cases=every_kind).values_list("pk", flat=True)
    )
    query = compiled(
        ("shown",), lambda: timeline._shown_queryset([stand_in(0)]), {"ids": ("many", stand_in(0))}
    )
    fast = sorted(query.dicts(ids=ids), key=lambda row: row["id"])
    orm = sorted(timeline._shown_queryset(ids), key=lambda row: row["id"])
    assert fast == orm
    assert {row["kind"] for row in fast} == set(TimelineEntry.Kind.values)
    # One entry by its key (the page after a change): the same row as in the list.
    one = compiled(
        ("shown_one",), lambda: timeline._shown_queryset(stand_in(0)), {"id": ("one", stand_in(0))}
    )
    assert [one.dicts(id=row["id"]) for row in orm] == [[row] for row in orm]
    assert timeline.timeline_shown(ids[:1]) == timeline.timeline_shown(ids[:2])[:1]
    # The types the ORM converts to (dates, times, datetimes) on every backend.
    assert all(isinstance(row["happened_on"], dt.date) for row in fast)

    event_ids = sorted({r["event_id"] for r in orm if r["event_id"]})
    petition_ids = sorted({r["petition_id"] for r in orm if r["petition_id"]})
    development_ids = sorted(
        {
            r["development_link__development_id"]
            for r in orm
            if r["development_link__development_id"]
        }
    )
    assert event_ids and petition_ids and development_ids
    # Each kind alone or with others; one id of a kind (read by that id) or a list of them
    # (the same ids twice: read as a list, each row once).
    for chosen in range(1, 8):
        for times in (1, 2):
            args = [
                ids_ * times if chosen & (1 << n) else []
                for n, ids_ in enumerate((event_ids, petition_ids, development_ids))
            ]
            rows = timeline._entry_list_rows(*args)
            assert rows == [tuple(row) for row in timeline._entry_lists_queryset(*args)]
            assert rows  # every subset has something to list
    assert {
        row[1] for row in timeline._entry_list_rows(event_ids, petition_ids, development_ids)
    } == {
        "people",
        "authorities",
        "organizations",
        "filed_by",
        "requests",
        "development_authorities",
    }


@pytest.mark.django_db
def test_a_compiled_query_reads_the_values_of_each_run(every_kind, django_assert_num_queries):
    entries = TimelineEntry.objects.filter(case=every_kind).order_by("pk")
    ids = list(entries.values_list("pk", flat=True))
    first, second = timeline.timeline_shown(ids[:2]), timeline.timeline_shown(ids[2:5])
    assert [e.pk for e in first] == ids[:2]
    assert [e.pk for e in second] == ids[2:5]
    # An entry that lists nothing (no event, petition or development): its row alone.
    opened = entries.get(kind=TimelineEntry.Kind.CASE_OPENED).pk
    with CaptureQueriesContext(connection) as ctx:
        timeline.timeline_shown([opened])
    assert len(ctx.captured_queries) == 1
    assert timeline.timeline_shown([]) == []


@pytest.mark.django_db
def test_the_case_people_are_the_orms(every_kind, lead_org, coordinator):
    people = timeline.case_people(every_kind)
    assert people == list(timeline.case_people_queryset(every_kind))
    assert [p["code"] for p in people] == ["POW-A", "POW-B"]
    alone = factories.make_case(lead_organization=lead_org, by=coordinator)
    assert timeline.case_people(alone) == [] == list(timeline.case_people_queryset(alone))
