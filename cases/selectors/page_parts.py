"""What the case page's kept parts show around the timeline (cases/views/cases.py,
``_page_parts``), read when a part is not in the cache: the header's organizations, the
people card, the latest petitions and documents (the open deadlines are
``timeline.pinned_deadlines``).

Each read is a queryset (``*_queryset``: its definition) compiled once per process and
prepared on PostgreSQL (cases/selectors/compiled.py): built by the ORM and planned by the
database on every request, these few small reads were most of the time of a case page seen
for the first time (a random case under load). The rows come back as the instances the ORM
makes (``Model.from_db``), with the related rows the templates print put in place as
``select_related`` would, so that the templates call the same methods on them.
tests/test_page_parts_compiled.py compares each with what the ORM reads.
"""

from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Model, QuerySet, Window

from cases.models import Authority, Case, CaseShare, Document, Organization, Petition, Prisoner
from cases.selectors.compiled import compiled, stand_in

# The latest petitions and documents the page lists (all of them are on the timeline).
LATEST_ON_CASE_PAGE = 10

# What the people card shows of each person (case_page_top.html): no identity is read.
PEOPLE_CARD_FIELDS = (
    "code",
    "custody_status",
    "risk_level",
    "wish_destination",
    "wish_status",
    "wish_expressed_on",
    "wish_expressed_on_precision",
    "place_of_detention",
    "place_of_detention_sensitive",
    "icrc_registration",
    "unhcr_registration",
)

_CASE_SLOT = {"case": ("one", stand_in(0))}
# A related row as the page prints it: its id and names (``__str__``: the short name or the
# name). Any other field of it is read from the database if asked for, as with ``only``.
_NAMED = ("id", "name", "short_name")


def _made(model: type[Model], names, values) -> Model:
    """The instance of ``model`` the ORM makes of these values of its fields ``names``
    (attribute names, in any order; any other field deferred, as with ``only``)."""
    given = dict(zip(names, values, strict=True))
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in given]
    return model.from_db(DEFAULT_DB_ALIAS, fields, [given[name] for name in fields])


def _columns(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def case_header_queryset(case) -> QuerySet:
    """The lead organization's name, and the case's shares with their organizations' names:
    one row per share (a row without one for a case not shared), by organization id
    (``case``: a case or its id).

    The header used to list the shares in no order asked for: whatever the plan gave, on
    PostgreSQL the organizations' order (a hash join), on SQLite the shares'. The first is
    kept, as an order now asked for."""
    return (
        Case.objects.filter(pk=getattr(case, "pk", case))
        .order_by("shares__organization")
        .values_list(
            "lead_organization__name",
            "shares__id",
            "shares__level",
            "shares__organization",
            "shares__organization__name",
            "shares__organization__short_name",
        )
    )


def case_header(case: Case) -> list[CaseShare]:
    """The case's shares, each with its organization, for the header; the lead organization
    is put on ``case`` (``case.lead_organization``). One query."""
    query = compiled(("case_header",), lambda: case_header_queryset(stand_in(0)), _CASE_SLOT)
    rows = query.rows(case=case.pk)
    if rows:
        lead = _made(Organization, ("id", "name"), (case.lead_organization_id, rows[0][0]))
        Case._meta.get_field("lead_organization").set_cached_value(case, lead)
    shares = []
    for _lead_name, share_id, level, organization_id, name, short_name in rows:
        if share_id is None:
            continue
        share = _made(
            CaseShare,
            ("id", "case_id", "organization_id", "level"),
            (share_id, case.pk, organization_id, level),
        )
        organization = _made(Organization, _NAMED, (organization_id, name, short_name))
        CaseShare._meta.get_field("organization").set_cached_value(share, organization)
        shares.append(share)
    return shares


def people_card_queryset(case) -> QuerySet:
    """The case's people of concern in the model's order, with what the people card shows:
    ``case.prisoners.only(*PEOPLE_CARD_FIELDS)`` as rows (``case``: a case or its id)."""
    return Prisoner.objects.filter(cases=case).values_list("pk", *PEOPLE_CARD_FIELDS)


def people_card(case: Case) -> list[Prisoner]:
    """The case's people as the people card shows them (only ``PEOPLE_CARD_FIELDS`` read).
    One query."""
    query = compiled(("people_card",), lambda: people_card_queryset(stand_in(0)), _CASE_SLOT)
    names = ("id", *PEOPLE_CARD_FIELDS)
    return [_made(Prisoner, names, row) for row in query.rows(case=case.pk)]


_PETITION_COLUMNS = _columns(Petition)
_DOCUMENT_COLUMNS = _columns(Document)


def _latest_queryset(queryset: QuerySet, columns) -> QuerySet:
    """The first ``LATEST_ON_CASE_PAGE`` rows of ``queryset`` as ``columns``, each followed by
    how many rows there are in all (a window count, as ``counted_page`` reads them)."""
    counted = queryset.annotate(_total=Window(Count("pk")))
    return counted.values_list(*columns, "_total")[:LATEST_ON_CASE_PAGE]


def latest_petitions_queryset(case) -> QuerySet:
    """The case's latest petitions (by filing date) with the authority each is addressed to,
    and how many there are (``case``: a case or its id)."""
    petitions = Petition.objects.filter(case=case).order_by("-filed_on", "-id")
    addressed_to = tuple(f"addressed_to__{name}" for name in _NAMED[1:])
    return _latest_queryset(petitions, (*_PETITION_COLUMNS, *addressed_to))


def latest_documents_queryset(case) -> QuerySet:
    """The case's latest documents (by upload) and how many there are (``case``: a case or
    its id)."""
    documents = Document.objects.filter(case=case).order_by("-created_at", "-id")
    return _latest_queryset(documents, _DOCUMENT_COLUMNS)


def _first_page(objects: list, rows: list[tuple]) -> Page:
    """The first page of the list, as ``counted_page`` gives it: ``objects`` made of ``rows``,
    whose last column is the count of all."""
    paginator = Paginator(objects, LATEST_ON_CASE_PAGE)
    paginator.count = rows[0][-1] if rows else 0  # a cached property: set, not counted
    return Page(objects, 1, paginator)


def latest_petitions(case: Case) -> Page:
    """The first page of the case's petitions, latest filed first, each with the authority it
    is addressed to, and how many there are. One query."""
    query = compiled(
        ("latest_petitions",), lambda: latest_petitions_queryset(stand_in(0)), _CASE_SLOT
    )
    rows = query.rows(case=case.pk)
    width = len(_PETITION_COLUMNS)
    addressed_to = Petition._meta.get_field("addressed_to")
    petitions = []
    for row in rows:
        petition = _made(Petition, _PETITION_COLUMNS, row[:width])
        authority = (petition.addressed_to_id, *row[width:-1])
        addressed_to.set_cached_value(petition, _made(Authority, _NAMED, authority))
        petitions.append(petition)
    return _first_page(petitions, rows)


def latest_documents(case: Case) -> Page:
    """The first page of the case's documents, latest first, and how many there are. One
    query."""
    query = compiled(
        ("latest_documents",), lambda: latest_documents_queryset(stand_in(0)), _CASE_SLOT
    )
    rows = query.rows(case=case.pk)
    documents = [_made(Document, _DOCUMENT_COLUMNS, row[:-1]) for row in rows]
    return _first_page(documents, rows)
