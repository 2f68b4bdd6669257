"""The case list's search document (Case.search_names, Case.search_petitions): kept by the
services through any sequence of changes, a search through it finds exactly what the search
through the petitions, people and authorities themselves finds, and it lets nobody find a
case they may not see."""

import datetime as dt
import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services
from cases.models import Authority, Case, Petition
from cases.models.cases import SEARCH_DOCUMENT_FIELDS, SEARCH_FIELDS
from cases.selectors.cases import _search, _search_live
from cases.services import directory
from cases.services.search import search_documents
from tests import factories

WORDS = ["Ministry", "Justice", "Kursk", "access", "lawyer", "ICRC", "Щастя", "court-martial"]
# What people type: single words (any case), parts of words and codes, several words, the
# search syntax (a negation, a phrase, "or"), LIKE's wildcards, and the document's separator.
QUERIES = [
    *WORDS,
    "ministry",
    "inis",
    "KURSK",
    "щастя",
    "court",
    "martial",
    "Ministry Justice",
    "Justice Kursk",
    "access lawyer",
    "-Kursk",
    "lawyer -access",
    '"Kursk access"',
    '"Ministry of Justice"',
    "Kursk or lawyer",
    "POW",
    "pow-1",
    "-2",
    "OUT-7",
    "OUT",
    "%",
    "_",
    "Kursk\nMinistry",
    "!!",
]


SERIAL = itertools.count(1)  # people's codes, unique within an organization


def stored(case_id: int) -> tuple[str, str]:
    return tuple(Case.objects.values_list(*SEARCH_FIELDS).get(pk=case_id))


def assert_document_is_live() -> None:
    """Each case's stored document is what its rows give now."""
    ids = list(Case.objects.values_list("pk", flat=True))
    live = search_documents(ids)
    for pk in ids:
        assert stored(pk) == live[pk], pk


def assert_search_finds_what_the_rows_find() -> None:
    """Searching through the documents finds what the search through the rows finds, for
    every query."""
    everything = Case.objects.all()
    for q in QUERIES:
        found = set(_search(everything, q).values_list("pk", flat=True))
        assert found == set(_search_live(everything, q).values_list("pk", flat=True)), q


def phrase(draw_words: list[int]) -> str:
    return " ".join(WORDS[n % len(WORDS)] for n in draw_words)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "petition",
                "edit petition",
                "event",
                "edit event",
                "add person",
                "remove person",
                "recode person",
                "rename authority",
                "merge authorities",
            ]
        ),
        st.integers(min_value=0, max_value=11),
        st.lists(st.integers(min_value=0, max_value=15), min_size=0, max_size=3),
    ),
    min_size=1,
    max_size=10,
)


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_the_document_follows_any_sequence_of_changes_and_finds_what_the_rows_find(
    steps, lead_org, coordinator
):
    cases = [
        factories.make_case(
            lead_organization=lead_org, by=coordinator, title=f"Case {n}", summary="Kursk"[:n]
        )
        for n in range(3)
    ]
    authorities = list(Authority.objects.order_by("pk")[:6])
    for n in range(len(authorities), 6):
        authorities.append(
            factories.AuthorityFactory(
                name=f"{WORDS[n % 3]} of {WORDS[(n + 1) % len(WORDS)]} {n}",
                short_name=f"A{n}-{WORDS[n].upper()[:4]}" if n % 2 else "",
            )
        )
    for step, which, words in steps:
        case = cases[which % len(cases)]
        authority = authorities[which % len(authorities)]
        others = [authorities[w % len(authorities)] for w in words]
        petitions = list(Petition.objects.filter(case__in=cases).order_by("pk"))
        people = list(case.prisoners.order_by("pk"))
        if step == "petition" or (step == "edit petition" and not petitions):
            factories.make_petition(
                case=case,
                by=coordinator,
                title=phrase(words) or "Request",
                reference=f"OUT-{which}" if which % 3 else "",
                addressed_to=authority,
                copied_to=others,
            )
        elif step == "edit petition":
            services.petition_update(
                petition=petitions[which % len(petitions)],
                by=coordinator,
                title=phrase(words) or "Request",
                reference=f"OUT-7{which}",
                copied_to=others,
            )
        elif step == "event":
            services.event_log(
                case=case,
                by=coordinator,
                kind="visit",
                title="Visit",
                occurred_on=dt.date(2026, 1, 5),
                authorities=others,
            )
        elif step == "edit event":
            event = case.events.order_by("pk").first()
            if event is not None:
                services.event_update(event=event, by=coordinator, authorities=others)
        elif step == "add person":
            services.prisoner_register(case=case, by=coordinator, code=f"POW-{next(SERIAL)}")
        elif step == "remove person" and people:
            services.case_remove_prisoner(
                case=case, prisoner=people[which % len(people)], by=coordinator, reason="Moved"
            )
        elif step == "recode person" and people:
            person = people[which % len(people)]
            services.prisoner_update(
                prisoner=person, by=coordinator, code=f"{phrase(words)[:8]}-{next(SERIAL)}"
            )
        elif step == "rename authority":
            directory.authority_update(
                authority=authority,
                by=coordinator,
                name=f"{phrase(words)} {authority.pk}",
                short_name=f"S-{which}",
            )
        elif step == "merge authorities":
            duplicate = others[0] if others else None
            if duplicate is not None and duplicate.pk != authority.pk:
                directory.authority_merge(keep=authority, duplicate=duplicate, by=coordinator)
                authorities = [a for a in authorities if a.pk != duplicate.pk]
        assert_document_is_live()
    assert_search_finds_what_the_rows_find()


@pytest.mark.django_db
def test_a_search_finds_a_case_by_its_people_petitions_and_authorities(case, coordinator, client):
    ministry = factories.AuthorityFactory(name="Ministry of Justice", short_name="MoJ")
    court = factories.AuthorityFactory(name="Military Court")
    factories.make_petition(
        case=case,
        by=coordinator,
        title="Request for lawyer access",
        reference="OUT-2025-00042",
        addressed_to=court,
        copied_to=[ministry],
    )
    services.prisoner_register(case=case, by=coordinator, code="POW-04216-1")
    other = factories.make_case(lead_organization=case.lead_organization, by=coordinator)
    client.force_login(coordinator)
    for q in ["ministry", "MoJ", "Military", "POW-04216", "OUT-2025-00042", "lawyer access"]:
        body = client.get(reverse("cases:case-list"), {"q": q}).content.decode()
        assert case.reference in body and other.reference not in body, q
    body = client.get(reverse("cases:case-list"), {"q": "Prosecutor"}).content.decode()
    assert case.reference not in body


@pytest.mark.django_db
def test_nobody_finds_a_case_by_what_they_may_not_see(
    lead_org, partner_org, coordinator, partner, outsider, client
):
    """A code, a petition word or an authority of a case matches only for those who may see
    the case: an outsider finds nothing; a partner finds it while the share lasts; a person
    on two cases finds only the one they may see."""
    secret = factories.make_case(lead_organization=lead_org, by=coordinator, title="Detention")
    authority = factories.AuthorityFactory(name="Zorya Penal Colony")
    factories.make_petition(
        case=secret, by=coordinator, title="Request for Halyna", addressed_to=authority
    )
    person = services.prisoner_register(case=secret, by=coordinator, code="PSEUDO-77")
    share = services.case_share(
        case=secret, organization=partner_org, level="read", by=coordinator, reason="Joint work"
    )
    words = ["PSEUDO-77", "Halyna", "Zorya"]

    def found(user, q):
        client.force_login(user)
        return secret.reference in client.get(reverse("cases:case-list"), {"q": q}).content.decode()

    for q in words:
        assert found(coordinator, q) and found(partner, q), q
        assert not found(outsider, q), q
    # The outsider's own case with the same person on it is theirs to find; the lead's is not.
    outside_org = outsider.memberships.get().organization
    theirs = factories.make_case(lead_organization=outside_org, by=outsider, title="Theirs")
    services.case_add_prisoner(case=theirs, prisoner=person, by=services.system_actor("tests"))
    client.force_login(outsider)
    body = client.get(reverse("cases:case-list"), {"q": "PSEUDO-77"}).content.decode()
    assert theirs.reference in body and secret.reference not in body
    # The share ends: so does finding the case.
    services.case_unshare(share=share, by=coordinator, reason="Project over")
    for q in words:
        assert not found(partner, q), q


@pytest.mark.django_db
def test_derived_columns_stay_out_of_history_and_an_old_copy_cannot_undo_them(case, coordinator):
    stale = Case.objects.get(pk=case.pk)
    case_history = case.history.count()
    factories.make_petition(case=case, by=coordinator, title="Request for ICRC access")
    assert case.history.count() == case_history
    services.case_update(case=stale, by=coordinator, title="Renamed")
    assert "ICRC" in stored(case.pk)[1]


@pytest.mark.django_db
def test_a_loaded_case_leaves_its_document_in_the_database_and_reads_it_on_demand(
    case, coordinator
):
    """Case.objects defers the search document (most of a row's bytes), for every reader."""
    factories.make_petition(case=case, by=coordinator, title="Request for ICRC access")
    loaded = Case.objects.get(pk=case.pk)
    assert loaded.get_deferred_fields() == set(SEARCH_DOCUMENT_FIELDS)
    assert "ICRC" in loaded.search_petitions  # read when touched
    related = case.lead_organization.led_cases.get()  # through a relation too
    assert set(SEARCH_DOCUMENT_FIELDS) <= related.get_deferred_fields()


@pytest.mark.django_db
def test_rebuild_command_repairs_every_case_and_is_idempotent(case, coordinator):
    factories.make_petition(case=case, by=coordinator, title="Request for ICRC access")
    good = stored(case.pk)
    Case.objects.filter(pk=case.pk).update(search_names="", search_petitions="stale")
    out = io.StringIO()
    call_command("rebuild_search_documents", "--batch-size", "1", stdout=out)
    assert "1 changed" in out.getvalue()
    assert stored(case.pk) == good
    out = io.StringIO()
    call_command("rebuild_search_documents", stdout=out)
    assert "0 changed" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("rebuild_search_documents", "--batch-size", "0")


@pytest.mark.django_db
def test_the_admin_keeps_the_document(case, coordinator, staff, client):
    authority = factories.AuthorityFactory(name="Old Name")
    petition = factories.make_petition(case=case, by=coordinator, addressed_to=authority)
    client.force_login(staff)
    url = reverse("admin:cases_authority_change", args=[authority.pk])
    response = client.post(url, {"name": "New Name", "kind": authority.kind, "country": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "New Name" in stored(case.pk)[0] and "Old Name" not in stored(case.pk)[0]
    response = client.post(
        reverse("admin:cases_petition_delete", args=[petition.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Petition.objects.filter(pk=petition.pk).exists()
    assert stored(case.pk) == ("", "")
