"""The case's stored next deadline (Case.next_deadline_on), what the case list shows and sorts
on, always equals the earliest open deadline computed from the deadlines themselves."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services
from cases.models import DEADLINE_TRANSITIONS, Case, DatePrecision, Deadline, DeadlineStatus
from cases.services.deadlines import next_deadline_of
from tests import factories


def stored(case_id: int) -> tuple:
    row = Case.objects.values_list("next_deadline_on", "next_deadline_precision").get(pk=case_id)
    return tuple(row)


def assert_stored_is_live(*case_ids: int) -> None:
    for case_id in case_ids or Case.objects.values_list("pk", flat=True):
        assert stored(case_id) == next_deadline_of(case_id), case_id


# One step of a random sequence: (operation, which deadline or case, a day offset, precision,
# status to go to).
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "status"]),
        st.integers(min_value=0, max_value=9),
        st.integers(min_value=-60, max_value=400),
        st.sampled_from([DatePrecision.DAY, DatePrecision.MONTH]),
        st.sampled_from(DeadlineStatus.values),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_stored_next_deadline_follows_any_sequence_of_deadline_changes(
    steps, lead_org, coordinator
):
    cases = [
        factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
        for n in range(2)
    ]
    ids = [c.pk for c in cases]
    deadlines: list[Deadline] = []
    start = dt.date(2026, 6, 1)
    for operation, which, offset, precision, to in steps:
        day = start + dt.timedelta(days=offset)
        if operation == "create" or not deadlines:
            deadlines.append(
                services.deadline_create(
                    case=cases[which % 2],
                    by=coordinator,
                    kind="other",
                    title="Something due",
                    due_on=day,
                    due_precision=precision,
                    confirmed=True,
                )
            )
        elif operation == "move":
            services.deadline_update(
                deadline=deadlines[which % len(deadlines)],
                by=coordinator,
                due_on=day,
                due_precision=precision,
                confirmed=True,
            )
        else:
            deadline = deadlines[which % len(deadlines)]
            deadline.refresh_from_db()
            if to in DEADLINE_TRANSITIONS[deadline.status]:
                services.deadline_change_status(
                    deadline=deadline, to=to, by=coordinator, reason="Because", confirmed=True
                )
        assert_stored_is_live(*ids)


@pytest.mark.django_db
def test_the_list_shows_the_earliest_open_deadline_with_its_precision(case, coordinator):
    assert stored(case.pk) == (None, "")
    later = factories.make_deadline(case=case, by=coordinator, due_on=dt.date(2026, 9, 3))
    assert stored(case.pk) == (dt.date(2026, 9, 3), DatePrecision.DAY)
    april = factories.make_deadline(
        case=case,
        by=coordinator,
        due_on=dt.date(2026, 4, 10),
        due_precision=DatePrecision.MONTH,
        confirmed=True,
    )
    assert stored(case.pk) == (dt.date(2026, 4, 30), DatePrecision.MONTH)
    services.deadline_change_status(deadline=april, to="done", by=coordinator, reason="Visited")
    assert stored(case.pk) == (dt.date(2026, 9, 3), DatePrecision.DAY)
    services.deadline_change_status(deadline=later, to="cancelled", by=coordinator, reason="Moot")
    assert stored(case.pk) == (None, "")


@pytest.mark.django_db
def test_a_deadline_change_writes_no_case_history_and_an_old_copy_cannot_undo_it(case, coordinator):
    stale = Case.objects.get(pk=case.pk)
    case_history = case.history.count()
    deadline = factories.make_deadline(case=case, by=coordinator, due_on=dt.date(2026, 9, 3))
    assert case.history.count() == case_history  # derived data: on the deadline's history
    assert deadline.history.count() == 1
    # An edit of the case loaded before the deadline was set keeps the deadline.
    services.case_update(case=stale, by=coordinator, title="Renamed")
    assert stored(case.pk) == (dt.date(2026, 9, 3), DatePrecision.DAY)
    assert Case.objects.get(pk=case.pk).title == "Renamed"


@pytest.mark.django_db
def test_rebuild_command_repairs_every_case_and_is_idempotent(lead_org, coordinator):
    cases = [
        factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
        for n in range(3)
    ]
    factories.make_deadline(case=cases[0], by=coordinator, due_on=dt.date(2026, 9, 3))
    factories.make_deadline(case=cases[1], by=coordinator, due_on=dt.date(2026, 10, 1))
    # Damage: a wrong day on one case, a deadline on one that has none, one missing.
    Case.objects.filter(pk=cases[0].pk).update(next_deadline_on=dt.date(2030, 1, 1))
    Case.objects.filter(pk=cases[1].pk).update(next_deadline_on=None, next_deadline_precision="")
    Case.objects.filter(pk=cases[2].pk).update(
        next_deadline_on=dt.date(2026, 1, 1), next_deadline_precision="day"
    )
    out = io.StringIO()
    call_command("rebuild_next_deadlines", "--batch-size", "2", stdout=out)
    assert "3 cases, 3 changed" in out.getvalue()
    assert_stored_is_live()
    out = io.StringIO()
    call_command("rebuild_next_deadlines", stdout=out)
    assert "3 cases, 0 changed" in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rebuild_next_deadlines", "--batch-size", "0")


@pytest.mark.django_db
def test_stored_next_deadlines_match_the_reference_demo_data():
    call_command("load_demo", stdout=io.StringIO())
    assert Deadline.objects.filter(status=DeadlineStatus.OPEN).exists()
    assert_stored_is_live()
    out = io.StringIO()
    call_command("rebuild_next_deadlines", stdout=out)
    assert ", 0 changed" in out.getvalue()


# --- The case list: capped count, sorts -----------------------------------------------------


@pytest.mark.django_db
def test_capped_page_pages_without_counting_past_the_cap(lead_org, coordinator):
    from django.core.paginator import Paginator

    from cases.selectors.cases import capped_page

    for n in range(7):
        factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
    cases = Case.objects.order_by("title")
    django = Paginator(cases, 3)
    for number in (1, 2, 3, 99, 0, -1, "x", None, "2"):
        expected = django.get_page(number)
        exact = capped_page(cases, number, per_page=3, cap=10)
        assert [c.title for c in exact] == [c.title for c in expected], number
        assert (exact.number, exact.count, exact.over_cap, exact.num_pages) == (
            expected.number,
            7,
            False,
            3,
        )
        assert (exact.has_next(), exact.has_previous()) == (
            expected.has_next(),
            expected.has_previous(),
        )
        capped = capped_page(cases, number, per_page=3, cap=4)
        assert [c.title for c in capped] == [c.title for c in expected], number
        assert (capped.count, capped.over_cap, capped.num_pages) == (5, True, None)
        assert capped.has_next() == expected.has_next()
    empty = capped_page(Case.objects.none(), 5, per_page=3)
    assert (list(empty), empty.number, empty.count, empty.has_next()) == ([], 1, 0, False)


@pytest.mark.django_db
def test_the_case_list_says_more_than_the_cap_and_still_pages(
    client, lead_org, coordinator, monkeypatch
):
    from django.urls import reverse

    from cases.selectors import cases as selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for n in range(5):
        factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
    monkeypatch.setattr("cases.views.cases.CASES_PER_PAGE", 2)
    client.force_login(coordinator)
    body = client.get(reverse("cases:case-list")).content.decode()
    assert "More than 3 cases" in body
    assert "Page 1<" in body and "page=2" in body
    body = client.get(reverse("cases:case-list"), {"page": 3}).content.decode()
    assert "More than 3 cases" in body and "page=2" in body and "page=4" not in body
    body = client.get(reverse("cases:case-list"), {"q": "Case 1"}).content.decode()
    assert "1 case" in body and "More than" not in body


@pytest.mark.django_db
def test_sorting_by_next_deadline_puts_cases_without_one_last(client, lead_org, coordinator):
    import time_machine
    from django.urls import reverse

    traveller = time_machine.travel(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), tick=False)
    traveller.start()
    none = factories.make_case(lead_organization=lead_org, by=coordinator, title="No deadline")
    late = factories.make_case(lead_organization=lead_org, by=coordinator, title="Late one")
    soon = factories.make_case(lead_organization=lead_org, by=coordinator, title="Soon one")
    factories.make_deadline(case=late, by=coordinator, due_on=dt.date(2026, 9, 3))
    factories.make_deadline(case=soon, by=coordinator, due_on=dt.date(2026, 5, 20), confirmed=True)
    client.force_login(coordinator)
    body = client.get(reverse("cases:case-list"), {"sort": "next_deadline"}).content.decode()
    assert body.index(soon.title) < body.index(late.title) < body.index(none.title)
    body = client.get(reverse("cases:case-list"), {"overdue": "on"}).content.decode()
    traveller.stop()
    assert soon.title in body and late.title not in body and none.title not in body


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_broad_search_read_case_by_case_finds_what_the_full_search_finds(
    lead_org, coordinator, monkeypatch
):
    """The web list reads a broad search in the list's order and counts it up to a cap; it
    must find the same cases, in the same order, as the search that collects every match
    (the API's and the export's)."""
    from cases.selectors import cases as selectors
    from cases.selectors.cases import CaseFilters, case_list, case_list_page

    ministry = factories.AuthorityFactory(name="Ministry of Justice")
    court = factories.AuthorityFactory(name="Military Court")
    other = factories.OrganizationFactory()
    for n in range(9):
        lead = [lead_org, other][n % 3 == 2]
        case = factories.make_case(
            lead_organization=lead,
            by=coordinator,
            title=f"Detention {n}" + (" near the ministry" if n % 4 == 0 else ""),
            opened_on=dt.date(2025, 1, 1) + dt.timedelta(days=n),
        )
        if n % 2:
            factories.make_petition(
                case=case, by=coordinator, addressed_to=[ministry, court][n % 3 == 0]
            )
    for q, sort, cap in [
        ("ministry", "-opened_on", 2),
        ("Ministry", "title", 100),
        ("Detention", "opened_on", 3),
    ]:
        monkeypatch.setattr(selectors, "COUNT_CAP", cap)
        filters = CaseFilters(q=q, sort=sort)
        full = list(
            case_list(coordinator, filters, today=dt.date(2026, 6, 1)).values_list("pk", flat=True)
        )
        assert full, q
        page = case_list_page(coordinator, filters, 1, per_page=50, today=dt.date(2026, 6, 1))
        assert list(page) == full, q
        assert page.count == min(len(full), cap + 1), q
