"""The case list's search document (``Case.search_names``, ``Case.search_petitions``).

What a search finds a case by that is not on the case row itself: the codes of its people,
the names of the authorities its petitions and events name, its petitions' references and
titles. Stored on the case so that a search word reads one row per case instead of joining
petitions, people and authorities (cases.selectors.cases._search). Derived data: every
service that changes what it holds calls ``cases_refresh_search`` in its own transaction
(petitions, events, people on a case, a person's code, an authority's name, a merge of
authorities, and the admin's saves and deletes); ``rebuild_search_documents`` recomputes it.
"""

from collections.abc import Iterable

from django.db import transaction

from cases.models import Case, Event, Petition
from cases.models.cases import SEARCH_FIELDS
from cases.models.cases import SEARCH_SEPARATOR as SEPARATOR

from .derived import cases_rebuild

# One entry a line. A search text holding the separator is searched live, without the
# document (selectors.cases._search): any other text is a substring of the joined lines
# exactly when it is a substring of one of them.


def search_documents(case_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(search_names, search_petitions) of each of these cases, from their rows now."""
    ids = sorted(set(case_ids))
    names: dict[int, set[str]] = {pk: set() for pk in ids}
    petitions: dict[int, list[str]] = {pk: [] for pk in ids}
    rows = Case.prisoners.through.objects.filter(case_id__in=ids).values_list(
        "case_id", "prisoner__code"
    )
    for case_id, code in rows:
        names[case_id].add(code)
    rows = (
        Petition.objects.filter(case_id__in=ids)
        .order_by("pk")
        .values_list(
            "case_id", "reference", "title", "addressed_to__name", "addressed_to__short_name"
        )
    )
    for case_id, reference, title, name, short_name in rows:
        petitions[case_id] += [reference, title]
        names[case_id].update((name, short_name))
    for rows in (
        Petition.copied_to.through.objects.filter(petition__case_id__in=ids).values_list(
            "petition__case_id", "authority__name", "authority__short_name"
        ),
        Event.authorities.through.objects.filter(event__case_id__in=ids).values_list(
            "event__case_id", "authority__name", "authority__short_name"
        ),
    ):
        for case_id, name, short_name in rows:
            names[case_id].update((name, short_name))
    return {
        pk: (
            SEPARATOR.join(sorted(filter(None, names[pk]))),
            SEPARATOR.join(filter(None, petitions[pk])),
        )
        for pk in ids
    }


def cases_refresh_search(*, case_ids: Iterable[int | None]) -> int:
    """Store the search document of these cases as their rows now say; returns how many
    changed. Call it in the transaction of the change, after the change."""
    ids = sorted({pk for pk in case_ids if pk is not None})
    if not ids:
        return 0
    with transaction.atomic():
        # The cases first, locked: another change to one of them waits here until this one
        # has committed, and then reads it (so neither writes a document without the other).
        stored = list(
            Case.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", *SEARCH_FIELDS)
        )
        documents = search_documents(ids)
        stale = [
            Case(pk=pk, search_names=documents[pk][0], search_petitions=documents[pk][1])
            for pk, names, petitions in stored
            if (names, petitions) != documents[pk]
        ]
        # Derived columns outside the case's history (see Case.search_names): a plain bulk
        # update of these two columns alone.
        Case.objects.bulk_update(stale, SEARCH_FIELDS, batch_size=1000)
    return len(stale)


def cases_naming_authority(authority_id: int) -> set[int]:
    """Ids of the cases whose search document names this authority (by a petition addressed
    or copied to it, or an event involving it)."""
    return {
        *Petition.objects.filter(addressed_to_id=authority_id).values_list("case_id", flat=True),
        *Petition.copied_to.through.objects.filter(authority_id=authority_id).values_list(
            "petition__case_id", flat=True
        ),
        *Event.authorities.through.objects.filter(authority_id=authority_id).values_list(
            "event__case_id", flat=True
        ),
    }


def cases_of_person(prisoner_id: int) -> list[int]:
    """Ids of the cases this person is on."""
    return list(
        Case.prisoners.through.objects.filter(prisoner_id=prisoner_id).values_list(
            "case_id", flat=True
        )
    )


def cases_rebuild_search(*, batch_size: int = 2000) -> tuple[int, int]:
    """Recompute the search document of every case: (cases looked at, cases changed)."""
    return cases_rebuild(cases_refresh_search, batch_size=batch_size)
