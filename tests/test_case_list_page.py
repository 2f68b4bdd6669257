"""The case list's page query (cases.selectors.cases.case_list_page): one query for the page's
ids, its capped count and the versions its rows are kept under, built once per process for
each search, and checking the reader's organizations as this process last read them. It must
find exactly what the ORM's paging finds, and never show a case the reader may no longer see."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import access, services
from cases.models import CaseShare, Membership
from cases.selectors import cases as selectors
from cases.selectors import timeline as timeline_selectors
from cases.selectors.cases import CaseFilters, capped_page, case_list_page
from tests import factories

TODAY = dt.date(2026, 6, 1)
LIST = reverse("cases:case-list")


def listed(case, body: str) -> bool:
    """Whether the page lists the case (its row's link: the search box may echo its code)."""
    return f'href="{reverse("cases:case-detail", args=[case.pk])}"' in body


def orm_page(user, filters, number, *, per_page):
    """The page as the ORM pages it: what case_list_page gave before it was one query."""
    ids = selectors.case_list(user, filters, today=TODAY).values_list("pk", flat=True)
    return capped_page(ids, number, per_page=per_page)


@pytest.fixture
def many_cases(lead_org, partner_org, coordinator):
    other = factories.OrganizationFactory()
    ministry = factories.AuthorityFactory(name="Ministry of Justice")
    made = []
    for n in range(9):
        lead = [lead_org, other][n % 3 == 2]
        case = factories.make_case(
            lead_organization=lead,
            by=coordinator if lead == lead_org else factories.member(other, "coordinator"),
            title=f"Detention {9 - n}",
            opened_on=dt.date(2025, 1, 1) + dt.timedelta(days=n),
        )
        if n % 2:
            factories.make_petition(
                case=case, by=factories.member(lead, "editor"), addressed_to=ministry
            )
        made.append(case)
    # A case of the other organization shared with the partner.
    CaseShare.objects.create(case=made[2], organization=partner_org, level="read")
    return made


@pytest.mark.django_db
def test_the_page_query_finds_what_the_orm_pages_find(
    many_cases, coordinator, partner, outsider, monkeypatch
):
    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    searches = [
        CaseFilters(),
        CaseFilters(sort="title"),
        CaseFilters(sort="opened_on"),
        CaseFilters(sort="next_deadline"),
        CaseFilters(q="Ministry"),
        CaseFilters(q="Detention 3"),
        CaseFilters(q="nothing like it"),
    ]
    for user in (coordinator, partner, outsider):
        for filters in searches:
            for number in (1, 2, 3, 4, 9, 0, "x", None):
                # Twice: the second time with the query's SQL kept and the reader's
                # organizations guessed.
                for _ in range(2):
                    page = case_list_page(user, filters, number, per_page=2, today=TODAY)
                    expected = orm_page(user, filters, number, per_page=2)
                    assert list(page) == list(expected), (user, filters, number)
                    assert (page.number, page.count, page.has_more) == (
                        expected.number,
                        expected.count,
                        expected.has_more,
                    ), (user, filters, number)
                    if page.versions is not None:
                        assert page.versions == timeline_selectors.timeline_versions(list(page))
                        assert page.everywhere_version == timeline_selectors.everywhere_version()


@pytest.mark.django_db
def test_the_page_carries_the_versions_its_rows_are_kept_under(many_cases, coordinator):
    filters = CaseFilters(sort="title")
    before = case_list_page(coordinator, filters, 1, per_page=50, today=TODAY)
    case = many_cases[0]
    services.case_update(case=case, by=coordinator, title="Detention 9 (renamed)")
    after = case_list_page(coordinator, filters, 1, per_page=50, today=TODAY)
    assert after.versions == timeline_selectors.timeline_versions(list(after))
    assert after.versions[case.pk] != before.versions[case.pk]
    assert after.everywhere_version == before.everywhere_version
    factories.AuthorityFactory(name="A new authority")  # the directory changes
    again = case_list_page(coordinator, filters, 1, per_page=50, today=TODAY)
    assert again.everywhere_version == timeline_selectors.everywhere_version()


@pytest.mark.django_db
def test_a_reader_who_left_the_organization_sees_nothing_at_once(client, many_cases, viewer):
    """The list checks the reader's organizations, as this process last read them, in the
    query that reads the cases: a membership ended (even around the application) shows
    nothing more on the very next page."""
    client.force_login(viewer)
    shown = many_cases[0]
    assert listed(shown, client.get(LIST).content.decode())
    assert access.case_visibility_guess(viewer) == access.case_visibility(viewer)
    Membership.objects.filter(user=viewer).delete()
    body = client.get(LIST).content.decode()
    assert not listed(shown, body)
    assert "No cases yet." in body
    body = client.get(LIST, {"q": shown.reference}).content.decode()
    assert not listed(shown, body)


@pytest.mark.django_db
def test_a_reader_who_joined_another_organization_sees_its_cases_at_once(
    client, many_cases, partner, lead_org
):
    client.force_login(partner)
    led = many_cases[0]
    shared = many_cases[2]
    body = client.get(LIST).content.decode()
    assert listed(shared, body) and not listed(led, body)
    Membership.objects.create(user=partner, organization=lead_org, role="viewer")
    body = client.get(LIST).content.decode()
    assert listed(shared, body) and listed(led, body)


@pytest.mark.django_db
def test_a_partner_whose_share_ended_no_longer_finds_the_case(client, many_cases, partner):
    client.force_login(partner)
    shared = many_cases[2]
    assert listed(shared, client.get(LIST, {"q": "Detention"}).content.decode())
    CaseShare.objects.filter(case=shared).delete()
    for params in ({}, {"q": "Detention"}, {"q": shared.reference}, {"sort": "title"}):
        assert not listed(shared, client.get(LIST, params).content.decode()), params


@pytest.mark.django_db
def test_a_superuser_sees_every_case_and_an_outsider_none(client, many_cases, outsider, staff):
    client.force_login(outsider)
    body = client.get(LIST).content.decode()
    assert not any(listed(case, body) for case in many_cases)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    body = client.get(LIST).content.decode()
    assert all(listed(case, body) for case in many_cases)


@pytest.mark.django_db
def test_a_list_page_seen_again_reads_the_cases_in_one_query(client, many_cases, coordinator):
    """The page's ids, its count, the versions of its rows and of the directory, and the
    check of the reader's organizations: one query, beside the session's and the user's."""
    client.force_login(coordinator)
    for params in ({}, {"q": "Ministry"}, {"sort": "title"}):
        client.get(LIST, params)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, params)
        assert response.status_code == 200
        sqls = [q["sql"] for q in ctx.captured_queries]
        assert sum('"cases_case"' in sql for sql in sqls) == 1, sqls
        assert not any(sql.lstrip().startswith('SELECT "cases_membership"') for sql in sqls)
        assert not any(sql.lstrip().startswith('SELECT "cases_timelineversion"') for sql in sqls)
        assert len(sqls) <= 4, sqls


@pytest.mark.django_db
def test_a_filter_by_organization_is_checked_against_the_directory(
    client, many_cases, coordinator, lead_org
):
    client.force_login(coordinator)
    body = client.get(LIST, {"organization": lead_org.pk}).content.decode()
    assert f'<option value="{lead_org.pk}" selected>' in body
    assert listed(many_cases[0], body)
    body = client.get(LIST, {"organization": 987654}).content.decode()
    assert "Select a valid choice" in body


@pytest.mark.django_db
def test_a_search_with_a_wrong_value_shows_its_error_every_time(client, many_cases, coordinator):
    """Valid searches' filters are kept per process; one that is not valid is never kept."""
    client.force_login(coordinator)
    for _ in range(2):
        body = client.get(LIST, {"status": "no-such-status"}).content.decode()
        assert "Select a valid choice" in body
        assert listed(many_cases[0], body)  # the filters are dropped, as before
    for _ in range(2):
        body = client.get(LIST, {"q": "Detention 3"}).content.decode()
        assert listed(many_cases[6], body) and not listed(many_cases[0], body)
        assert "Select a valid choice" not in body


@pytest.mark.django_db
def test_a_page_seen_again_shows_a_changed_case_as_it_is_now(client, many_cases, coordinator):
    """The page's rows are kept together under the versions of its cases: a change to one
    of them is shown on the next view."""
    client.force_login(coordinator)
    case = many_cases[0]
    client.get(LIST)
    assert "Detention 9<" in client.get(LIST).content.decode()
    services.case_update(case=case, by=coordinator, title="Detention nine, renamed")
    body = client.get(LIST).content.decode()
    assert "Detention nine, renamed" in body and "Detention 9<" not in body
