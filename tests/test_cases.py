"""Case references: CASE-<year>-<nnnn>, never reused, also when cases are created at once."""

import threading

import pytest
from django.db import connection, connections

from cases import services
from tests import factories


@pytest.mark.django_db
def test_references_count_up_per_year(lead_org, coordinator):
    first = factories.make_case(lead_organization=lead_org, by=coordinator)
    second = factories.make_case(lead_organization=lead_org, by=coordinator)
    year, number = first.reference.split("-")[1:]
    assert second.reference == f"CASE-{year}-{int(number) + 1:04d}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_case_creation_never_shares_a_reference(lead_org, coordinator):
    assert connection.vendor == "postgresql"
    references: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create():
        try:
            barrier.wait()
            case = services.case_create(by=coordinator, title="t", lead_organization=lead_org)
            references.append(case.reference)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(references)) == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_status_changes_from_the_same_start_cannot_both_win(case, coordinator):
    """Two people close the same 'filed' petition at once: one wins, the other is refused."""
    from django.core.exceptions import ValidationError

    from cases.models import Petition

    petition = factories.make_petition(case=case, by=coordinator)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def change(target):
        try:
            mine = Petition.objects.get(pk=petition.pk)
            barrier.wait()
            services.petition_change_status(petition=mine, to=target, by=coordinator, reason="r")
            outcomes.append(f"ok:{target}")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=change, args=(t,)) for t in ("granted", "rejected")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["ok", "refused"]


@pytest.mark.django_db
@pytest.mark.parametrize("window", [True, False])
def test_counted_page_pages_like_djangos_paginator(lead_org, coordinator, window):
    from django.core.paginator import Paginator

    from cases.models import Case
    from cases.selectors.cases import counted_page

    for n in range(7):
        factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
    cases = Case.objects.order_by("title")
    django = Paginator(cases, 3)
    for number in (1, 2, 3, 4, 99, 0, -1, "x", None, "2"):
        page = counted_page(cases, number, per_page=3, window=window)
        expected = django.get_page(number)
        assert [c.title for c in page] == [c.title for c in expected], number
        assert (page.number, page.paginator.count, page.paginator.num_pages) == (
            expected.number,
            7,
            3,
        )
    empty = counted_page(Case.objects.none(), 5, per_page=3, window=window)
    assert (list(empty), empty.number, empty.paginator.count) == ([], 1, 0)
