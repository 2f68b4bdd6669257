"""The case timeline: one chronological stream, read with a fixed number of queries."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    BigIntegerField,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.utils.translation import get_language

from cases.models import (
    Case,
    Deadline,
    DeadlineStatus,
    Development,
    Event,
    Petition,
    PetitionRequest,
    Prisoner,
    TimelineEntry,
    TimelineVersion,
)
from cases.models.base import _choice_labels
from cases.models.deadlines import format_due
from cases.selectors.compiled import compiled, stand_in
from cases.selectors.history import reason_display

PAGE_SIZE = 50
KIND_CHOICES = TimelineEntry.Kind.choices
_SUBJECT_MODELS = {
    TimelineEntry.Subject.CASE: Case,
    TimelineEntry.Subject.PETITION: Petition,
    TimelineEntry.Subject.PRISONER: Prisoner,
    TimelineEntry.Subject.DEADLINE: Deadline,
}


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    page: int
    has_more: bool


def _label_of(subject: str, field: str, value: str) -> str:
    model = _SUBJECT_MODELS.get(subject)
    if model is None or not value:
        return value
    return str(_labels(model, field).get(value, value))


def _field_label_of(subject: str, field: str) -> str:
    model = _SUBJECT_MODELS.get(subject)
    if model is None:
        return field
    return str(model._meta.get_field(field).verbose_name)


def _label(entry: TimelineEntry, value: str) -> str:
    return _label_of(entry.subject, entry.field, value)


def _field_label(entry: TimelineEntry) -> str:
    return _field_label_of(entry.subject, entry.field)


def _recorded(entry: TimelineEntry) -> tuple:
    """When the entry's fact was first recorded, and by whom (beside when it happened)."""
    if entry.kind == TimelineEntry.Kind.EVENT and entry.event is not None:
        return entry.event.created_at, entry.event.created_by or entry.actor
    for name in ("petition", "deadline", "document"):
        if entry.kind == name and getattr(entry, name) is not None:
            return getattr(entry, name).created_at, entry.actor
    return entry.recorded_at, entry.actor


# What the template shows of each entry: the related rows in the same query or one more each.
_RELATED = (
    "event__created_by",
    "petition__addressed_to",
    "deadline",
    "document",
    "actor",
    "prisoner",
    "development_link__development",
)
_PREFETCH = (
    "development_link__development__authorities",
    "event__organizations",
    "event__authorities",
    "event__prisoners",
    "petition__requests",
    "petition__filed_by",
)


def _order(newest_first: bool) -> list:
    if newest_first:
        return [F("happened_on").desc(), F("happened_at").desc(nulls_last=True), F("id").desc()]
    return [F("happened_on").asc(), F("happened_at").asc(nulls_first=True), F("id").asc()]


def _entries(
    case: Case, people, *, kinds: list[str] | None, prisoner: Prisoner | None
) -> QuerySet[TimelineEntry]:
    """The entries shown, filtered on the timeline table alone (no join).

    ``people`` are the ids of the case's people of concern, as a list or a subquery.
    Open deadlines are not in the stream: they are pinned above it (see pinned_deadlines),
    unless deadlines are asked for by kind: then every deadline is.
    """
    return _filtered(
        TimelineEntry.objects.filter(Q(case=case) | Q(prisoner_id__in=people)),
        kinds=kinds,
        prisoner=prisoner,
    )


def _filtered(entries: QuerySet, *, kinds: list[str] | None, prisoner) -> QuerySet:
    """``entries`` less the open deadlines (unless asked for by kind), of these kinds, about
    this person (a model or an id) if one is given."""
    if not kinds or TimelineEntry.Kind.DEADLINE not in kinds:
        # Pinned above the stream; asked for by kind ("Deadline"), they are in it too. Each
        # deadline entry's own deadline looked up by its key: "deadline_id IN (the open
        # deadlines)" read every open deadline of every case (4.4 ms at 10,000 cases, and
        # growing with them; docs/performance.md, "Case timeline").
        is_open = Deadline.objects.filter(pk=OuterRef("deadline_id"), status=DeadlineStatus.OPEN)
        entries = entries.exclude(Q(kind=TimelineEntry.Kind.DEADLINE) & Exists(is_open))
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if prisoner is not None:
        concerned = Event.prisoners.through.objects.filter(
            event_id=OuterRef("event_id"), prisoner=prisoner
        )
        entries = entries.filter(Q(prisoner=prisoner) | Exists(concerned))
    return entries


def case_timeline_queryset(
    case: Case,
    *,
    kinds: list[str] | None = None,
    prisoner: Prisoner | None = None,
    newest_first: bool = True,
) -> QuerySet[TimelineEntry]:
    """Entries of the case and of its people of concern, in order, with what they show."""
    entries = _entries(case, case.prisoners.values("pk"), kinds=kinds, prisoner=prisoner)
    return (
        entries.order_by(*_order(newest_first))
        .select_related(*_RELATED)
        .prefetch_related(*_PREFETCH)
    )


def _page_ids(case: Case, **page) -> tuple[list[int], bool]:
    """The ids of one page of entries, in order, and whether more follow (``page``: the
    arguments of ``_page_rows``)."""
    rows, has_more = _page_rows(case, **page)
    return [pk for pk, _version in rows], has_more


def _page_rows(
    case: Case,
    *,
    page: int,
    kinds: list[str] | None,
    prisoner: Prisoner | None,
    newest_first: bool,
    page_size: int,
    people: list[int] | None = None,
) -> tuple[list[tuple[int, str]], bool]:
    """The entries of one page, in order, as (id, ``shown_version``), and whether more
    follow (two queries, one when the ids of the case's people are given)."""
    start = (page - 1) * page_size
    if people is None:
        people = list(case.prisoners.values_list("pk", flat=True))
    slots = {"case": ("one", stand_in(0))}
    values = {"case": case.pk}
    if _reads_a_union(people):
        # Each person's entries are a part of their own (_page_ids_queryset): one slot each.
        shape = len(people)
        stand_ins = [stand_in(10 + n) for n in range(len(people))]
        for n, pk in enumerate(people):
            slots[f"person{n}"] = ("one", stand_ins[n])
            values[f"person{n}"] = pk
    else:
        shape = bool(people)
        stand_ins = [stand_in(1)] if people else []
        if people:
            slots["people"] = ("many", stand_in(1))
            values["people"] = people
    if prisoner is not None:
        slots["prisoner"] = ("one", stand_in(2))
        values["prisoner"] = prisoner.pk
    key = ("page_ids", shape, tuple(kinds or ()), prisoner is None, newest_first)
    query = compiled(
        (*key, start, page_size),
        lambda: _page_ids_queryset(
            stand_in(0),
            stand_ins,
            kinds=kinds,
            prisoner=None if prisoner is None else stand_in(2),
            newest_first=newest_first,
            start=start,
            size=page_size + 1,
        ),
        slots,
    )
    rows = [(row[0], row[1]) for row in query.rows(**values)]
    return rows[:page_size], len(rows) > page_size


def _page_ids_queryset(
    case, people, *, kinds: list[str] | None, prisoner, newest_first: bool, start: int, size: int
) -> QuerySet:
    """The ids of entries ``start`` to ``start + size`` of those shown, in order, as rows that
    begin with the id and the entry's ``shown_version`` (``_page_rows`` compiles it once per
    shape; ``case`` and ``prisoner`` are models or ids).

    On PostgreSQL, as a UNION of the case's own entries and, for each of its people, their
    entries that are not the case's (on another case or none), each part sorted and cut on
    its own (``people`` are one id or stand-in each): the case's part
    walks timeline_case_idx backwards (already in date order, an incremental sort within a
    day) and stops after ``start + size`` rows. The same condition with OR read every entry
    of the case and sorted them all: a sequential scan of 10,000 entries, 7.8 ms against
    2.1 ms (docs/performance.md, "Case timeline"). tests/test_timeline_compiled.py checks it
    against the OR form for every filter.
    """
    order = _order(newest_first)
    if not _reads_a_union(people):
        # SQLite cannot sort and cut the parts of a UNION: the OR form (the definition).
        entries = _entries(case, people, kinds=kinds, prisoner=prisoner)
        return entries.order_by(*order).values_list("pk", "shown_version")[start : start + size]
    # The id, the version, and what the UNION is sorted by.
    columns = ("pk", "shown_version", "happened_on", "happened_at")
    own = _filtered(TimelineEntry.objects.filter(case=case), kinds=kinds, prisoner=prisoner)
    # Each person's on their own: a walk of timeline_prisoner_idx that stops after the page.
    # All of them in one part ("prisoner_id IN ...") read every entry of every person and
    # sorted them (750 for the 10,000-entry case: 0.5 ms).
    theirs = [
        _filtered(
            TimelineEntry.objects.filter(Q(prisoner_id=person) & ~Q(case=case)),
            kinds=kinds,
            prisoner=prisoner,
        )
        for person in people
    ]
    parts = [
        entries.order_by(*order).values_list(*columns)[: start + size] for entries in (own, *theirs)
    ]
    return parts[0].union(*parts[1:], all=True).order_by(*order)[start : start + size]


def _reads_a_union(people: list) -> bool:
    """Whether the page's ids are read as a UNION of the case's entries and each of its
    people's (PostgreSQL; SQLite cannot sort and cut the parts of a UNION)."""
    return (
        bool(people)
        and connections[DEFAULT_DB_ALIAS].features.supports_slicing_ordering_in_compound
    )


def case_timeline(
    case: Case,
    *,
    page: int = 1,
    kinds: list[str] | None = None,
    prisoner: Prisoner | None = None,
    newest_first: bool = True,
    page_size: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the timeline. The number of queries does not grow with its length.

    Read in two steps so that the cost hardly grows with the length either: first the ids
    of the page, sorted on the timeline table alone (with the people's ids as a list, the
    "case or its people" condition is a BitmapOr of timeline_case_idx and
    timeline_prisoner_idx on PostgreSQL); then only those rows, with everything they show.
    In one query, PostgreSQL joins every entry of the case to its event, petition, ... before
    sorting and keeping 51 (see docs/performance.md).
    """
    page = max(page, 1)
    ids, has_more = _page_ids(
        case, page=page, kinds=kinds, prisoner=prisoner, newest_first=newest_first,
        page_size=page_size,
    )  # fmt: skip
    found = (
        TimelineEntry.objects.select_related(*_RELATED).prefetch_related(*_PREFETCH).in_bulk(ids)
    )
    rows = [found[pk] for pk in ids if pk in found]
    for entry in rows:
        entry.recorded_when, entry.recorded_by = _recorded(entry)
        entry.reason = reason_display(entry.reason)
        if entry.kind in (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.CHANGE):
            entry.field_label = _field_label(entry)
            entry.old_label = _label(entry, entry.old_value)
            entry.new_label = _label(entry, entry.new_value)
    return TimelinePage(entries=rows, page=page, has_more=has_more)


# --- What the case page shows of each entry, read as values ---------------------------------
# The page renders entries from these small records, never from model instances: the
# selector reads only the columns shown (one query for the entries with their event,
# petition, deadline and document, one per kind of list they show), and works out every
# label, so that rendering an entry reads nothing (tests/test_timeline_shown.py).


@dataclass(frozen=True)
class Named:
    """An organization or authority as an entry shows it (``abbr``, ``names``, ``str``)."""

    name: str
    short_name: str

    def __str__(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True)
class EventShown:
    id: int
    kind_label: str
    title: str
    description: str
    source: str
    occurred_at_time: dt.time | None
    people: tuple[str, ...]  # codes of the people of concern it concerns
    authorities: tuple[Named, ...]
    organizations: tuple[Named, ...]


@dataclass(frozen=True)
class RequestShown:
    kind_label: str
    outcome: str
    outcome_label: str


@dataclass(frozen=True)
class PetitionShown:
    id: int
    title: str
    filed_on: dt.date | None
    addressed_to: Named | None
    filed_by: tuple[Named, ...]
    requests: tuple[RequestShown, ...]


@dataclass(frozen=True)
class DeadlineShown:
    title: str
    status: str
    status_label: str
    kind_label: str
    due_display: str


@dataclass(frozen=True)
class DocumentShown:
    id: int
    title: str
    dated_on: dt.date | None
    sha256: str


@dataclass(frozen=True)
class DevelopmentShown:
    id: int
    kind_label: str
    title: str
    description: str
    source: str
    authorities: tuple[Named, ...]


@dataclass(frozen=True)
class EntryShown:
    """One timeline entry with everything the page shows of it, and nothing else: two
    entries that are equal render alike (for the same language, time zone and edit rights).
    The page keeps each as written under the entry's ``shown_version``
    (cases/views/cases.py, ``_entries_html``)."""

    pk: int
    kind: str
    kind_label: str
    subject: str
    happened_on: dt.date
    precision: str
    prisoner_id: int | None
    prisoner_code: str
    event: EventShown | None
    petition: PetitionShown | None
    deadline: DeadlineShown | None
    document: DocumentShown | None
    development: DevelopmentShown | None
    field_label: str
    old_label: str
    new_label: str
    reason: str
    recorded_when: dt.datetime | None
    recorded_by: str  # a username, or "" when nobody is on record


@dataclass
class TimelineShown:
    entries: list[EntryShown]
    page: int
    has_more: bool


_SHOWN_COLUMNS = (
    "id", "kind", "subject", "field", "old_value", "new_value", "reason", "happened_on",
    "precision", "recorded_at", "prisoner_id", "prisoner__code", "actor__username",
    "event_id", "event__kind", "event__title", "event__description", "event__source",
    "event__occurred_at_time", "event__created_at", "event__created_by__username",
    "petition_id", "petition__title", "petition__filed_on", "petition__created_at",
    "petition__addressed_to__name", "petition__addressed_to__short_name",
    "deadline_id", "deadline__title", "deadline__status", "deadline__kind",
    "deadline__due_on", "deadline__due_precision", "deadline__due_time",
    "deadline__due_timezone", "deadline__created_at",
    "document_id", "document__title", "document__dated_on", "document__sha256",
    "document__created_at",
    "development_link_id", "development_link__development_id",
    "development_link__development__kind", "development_link__development__title",
    "development_link__development__description", "development_link__development__source",
)  # fmt: skip


def _labels(model, field: str) -> dict:
    """{value: label} of a choice field, in the active language (looked up once per language)."""
    return _choice_labels(model._meta.get_field(field), get_language())


def _listed(
    queryset, owner: str, tag: str, a: str, b: str | None, *, text: str | None, numbers: tuple
) -> QuerySet:
    """One list the entries show, as rows (owner id, tag, a, b, sort text, sort number 1,
    sort number 2) that the lists of every kind share, so that one UNION reads them all."""
    blank, zero = Value("", output_field=CharField()), Value(0, output_field=BigIntegerField())
    n1, n2 = ([F(n) for n in numbers] + [zero, zero])[:2]
    return queryset.annotate(
        l_owner=F(owner),
        l_tag=Value(tag, output_field=CharField()),
        l_a=F(a),
        l_b=F(b) if b else blank,
        l_text=F(text) if text else blank,
        l_n1=n1,
        l_n2=n2,
    ).values_list("l_owner", "l_tag", "l_a", "l_b", "l_text", "l_n1", "l_n2")


def _named(queryset, owner: str, tag: str, relation: str) -> QuerySet:
    """``_listed`` for a list of organizations or authorities (``relation``), by name."""
    return _listed(
        queryset,
        owner,
        tag,
        f"{relation}__name",
        f"{relation}__short_name",
        text=f"{relation}__name",
        numbers=(f"{relation}_id",),
    )


def _owned_by(field: str, ids) -> dict:
    """A filter on ``field``: one of ``ids`` (a list), or ``ids`` itself (one id)."""
    return {f"{field}__in" if isinstance(ids, list) else field: ids}


def _entry_lists_queryset(
    event_ids: list[int], petition_ids: list[int], development_ids: list[int] = ()
) -> QuerySet | None:
    """The rows of ``_entry_lists`` (owner, tag, a, b, sort keys) as one ordered UNION
    queryset; None when no ids are given."""
    parts = []
    if development_ids:
        through = Development.authorities.through.objects.filter(
            **_owned_by("development_id", development_ids)
        )
        parts.append(_named(through, "development_id", "development_authorities", "authority"))
    if event_ids:
        through = Event.prisoners.through.objects.filter(**_owned_by("event_id", event_ids))
        parts.append(
            _listed(
                through,
                "event_id",
                "people",
                "prisoner__code",
                None,
                text="prisoner__code",
                numbers=("prisoner_id",),
            )
        )
        through = Event.authorities.through.objects.filter(**_owned_by("event_id", event_ids))
        parts.append(_named(through, "event_id", "authorities", "authority"))
        through = Event.organizations.through.objects.filter(**_owned_by("event_id", event_ids))
        parts.append(_named(through, "event_id", "organizations", "organization"))
    if petition_ids:
        through = Petition.filed_by.through.objects.filter(**_owned_by("petition_id", petition_ids))
        parts.append(_named(through, "petition_id", "filed_by", "organization"))
        requests = PetitionRequest.objects.filter(
            **_owned_by("petition_id", petition_ids)
        ).order_by()
        parts.append(
            _listed(
                requests,
                "petition_id",
                "requests",
                "kind",
                "outcome",
                text=None,
                numbers=("position", "id"),
            )
        )
    if not parts:
        return None
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return rows.order_by("l_tag", "l_owner", "l_text", "l_n1", "l_n2")


def _entry_list_rows(
    event_ids: list[int], petition_ids: list[int], development_ids: list[int] = ()
) -> list[tuple]:
    """The rows of ``_entry_lists_queryset``, its SQL compiled once per process for each
    combination of the kinds of ids given."""
    if not (event_ids or petition_ids or development_ids):
        return []
    names = ("events", "petitions", "developments")
    given = dict(zip(names, (event_ids, petition_ids, development_ids), strict=True))
    # A list of one id is read by that id (the page after a change), whose plan reads each
    # row by its index where a list's, made for any length, may hash whole tables.
    shape = {name: min(len(given[name]), 2) for name in names}
    stand_ins = {name: stand_in(n) for n, name in enumerate(names)}
    slots = {
        name: ("one" if shape[name] == 1 else "many", stand_ins[name])
        for name in names
        if shape[name]
    }
    query = compiled(
        ("entry_lists", *shape.values()),
        lambda: _entry_lists_queryset(
            *(
                []
                if not shape[name]
                else stand_ins[name]
                if shape[name] == 1
                else [stand_ins[name]]
                for name in names
            )
        ),
        slots,
    )
    return query.rows(
        **{
            name: given[name][0] if how == "one" else list(given[name])
            for name, (how, _s) in slots.items()
        }
    )


def _entry_lists(
    event_ids: list[int], petition_ids: list[int], development_ids: list[int] = ()
) -> dict[tuple[str, int], list]:
    """What the entries list, in one query: the people (by code), authorities and
    organizations (by name) of these events; who filed these petitions (by name) and what
    they request (in order); the authorities of these developments. {(tag, owner id):
    [values]}, each list in the models' order."""
    rows = _entry_list_rows(event_ids, petition_ids, development_ids)
    kinds = _labels(PetitionRequest, "kind")
    outcomes = _labels(PetitionRequest, "outcome")
    make = {
        "people": lambda a, b: a,
        "authorities": Named,
        "organizations": Named,
        "filed_by": Named,
        "development_authorities": Named,
        "requests": lambda kind, outcome: RequestShown(
            kinds.get(kind, kind), outcome, outcomes.get(outcome, outcome)
        ),
    }
    lists: dict[tuple[str, int], list] = {}
    for owner, tag, a, b, *_order_keys in rows:
        lists.setdefault((tag, owner), []).append(make[tag](a, b))
    return lists


def _recorded_shown(row: dict) -> tuple:
    """``_recorded`` for a row read as values: (when, username or "")."""
    actor = row["actor__username"] or ""
    if row["kind"] == TimelineEntry.Kind.EVENT and row["event_id"] is not None:
        return row["event__created_at"], row["event__created_by__username"] or actor
    for name in ("petition", "deadline", "document"):
        if row["kind"] == name and row[f"{name}_id"] is not None:
            return row[f"{name}__created_at"], actor
    return row["recorded_at"], actor


def _shown_queryset(ids: list[int] | int) -> QuerySet:
    """The columns ``timeline_shown`` reads of these entries, or of this one (compiled once
    per process)."""
    entries = TimelineEntry.objects.filter(**{"pk__in" if isinstance(ids, list) else "pk": ids})
    return entries.values(*_SHOWN_COLUMNS)


def timeline_shown(ids: list[int]) -> list[EntryShown]:
    """These entries (in this order) as the page shows them: ``EntryShown`` records read
    with at most six queries (entries; people, authorities and organizations of their
    events; filers and requests of their petitions), whatever the number of entries."""
    if not ids:
        return []
    if len(ids) == 1:
        # One entry (the page after a change): by its key. A list's plan, made once for any
        # length, hashes whole tables when they are small (0.6-0.9 ms for one entry on the
        # benchmark's database); a key's reads each joined row by its index.
        query = compiled(
            ("shown_one",), lambda: _shown_queryset(stand_in(0)), {"id": ("one", stand_in(0))}
        )
        found = query.dicts(id=ids[0])
    else:
        query = compiled(
            ("shown",), lambda: _shown_queryset([stand_in(0)]), {"ids": ("many", stand_in(0))}
        )
        found = query.dicts(ids=list(ids))
    rows = {row["id"]: row for row in found}
    rows_in_order = [rows[pk] for pk in ids if pk in rows]
    event_ids = sorted(
        {r["event_id"] for r in rows_in_order if r["kind"] == "event" and r["event_id"]}
    )
    petition_ids = sorted(
        {r["petition_id"] for r in rows_in_order if r["kind"] == "petition" and r["petition_id"]}
    )
    development_ids = sorted(
        {
            r["development_link__development_id"]
            for r in rows_in_order
            if r["kind"] == "development" and r["development_link__development_id"]
        }
    )
    lists = _entry_lists(event_ids, petition_ids, development_ids)
    development_kinds = _labels(Development, "kind")
    entry_kinds = _labels(TimelineEntry, "kind")
    event_kinds = _labels(Event, "kind")
    deadline_kinds = _labels(Deadline, "kind")
    deadline_statuses = _labels(Deadline, "status")
    shown = []
    for row in rows_in_order:
        event = petition = deadline = document = development = None
        if row["event_id"] is not None:
            pk = row["event_id"]
            event = EventShown(
                id=pk,
                kind_label=event_kinds.get(row["event__kind"], row["event__kind"]),
                title=row["event__title"],
                description=row["event__description"],
                source=row["event__source"],
                occurred_at_time=row["event__occurred_at_time"],
                people=tuple(lists.get(("people", pk), ())),
                authorities=tuple(lists.get(("authorities", pk), ())),
                organizations=tuple(lists.get(("organizations", pk), ())),
            )
        if row["petition_id"] is not None:
            pk = row["petition_id"]
            name = row["petition__addressed_to__name"]
            petition = PetitionShown(
                id=pk,
                title=row["petition__title"],
                filed_on=row["petition__filed_on"],
                addressed_to=(
                    None if name is None else Named(name, row["petition__addressed_to__short_name"])
                ),
                filed_by=tuple(lists.get(("filed_by", pk), ())),
                requests=tuple(lists.get(("requests", pk), ())),
            )
        if row["deadline_id"] is not None:
            status = row["deadline__status"]
            deadline = DeadlineShown(
                title=row["deadline__title"],
                status=status,
                status_label=deadline_statuses.get(status, status),
                kind_label=deadline_kinds.get(row["deadline__kind"], row["deadline__kind"]),
                due_display=format_due(
                    row["deadline__due_on"],
                    row["deadline__due_precision"],
                    row["deadline__due_time"],
                    row["deadline__due_timezone"],
                ),
            )
        if row["document_id"] is not None:
            document = DocumentShown(
                id=row["document_id"],
                title=row["document__title"],
                dated_on=row["document__dated_on"],
                sha256=row["document__sha256"],
            )
        if row["development_link__development_id"] is not None:
            pk = row["development_link__development_id"]
            kind = row["development_link__development__kind"]
            development = DevelopmentShown(
                id=pk,
                kind_label=development_kinds.get(kind, kind),
                title=row["development_link__development__title"],
                description=row["development_link__development__description"],
                source=row["development_link__development__source"],
                authorities=tuple(lists.get(("development_authorities", pk), ())),
            )
        field_label = old_label = new_label = ""
        if row["kind"] in (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.CHANGE):
            field_label = _field_label_of(row["subject"], row["field"])
            old_label = _label_of(row["subject"], row["field"], row["old_value"])
            new_label = _label_of(row["subject"], row["field"], row["new_value"])
        recorded_when, recorded_by = _recorded_shown(row)
        shown.append(
            EntryShown(
                pk=row["id"],
                kind=row["kind"],
                kind_label=entry_kinds.get(row["kind"], row["kind"]),
                subject=row["subject"],
                happened_on=row["happened_on"],
                precision=row["precision"],
                prisoner_id=row["prisoner_id"],
                prisoner_code=row["prisoner__code"] or "",
                event=event,
                petition=petition,
                deadline=deadline,
                document=document,
                development=development,
                field_label=field_label,
                old_label=old_label,
                new_label=new_label,
                reason=reason_display(row["reason"]),
                recorded_when=recorded_when,
                recorded_by=recorded_by,
            )
        )
    return shown


def case_people(case: Case) -> list[dict]:
    """The case's people of concern as the timeline's controls list them ({"pk", "code"}, by
    code), with SQL compiled once per process (``compiled``)."""
    query = compiled(
        ("case_people",),
        lambda: case_people_queryset(stand_in(0)),
        {"case": ("one", stand_in(0))},
    )
    return query.dicts(case=case.pk)


def case_people_queryset(case) -> QuerySet:
    """``case_people`` through the ORM (``case``: a case or its id)."""
    return Prisoner.objects.filter(cases=case).order_by("code", "pk").values("pk", "code")


@dataclass
class TimelineRows:
    """One page of the timeline as (entry id, ``shown_version``) pairs, in order: what the
    case page needs to find the entries it keeps as written (``timeline_shown`` reads the
    others)."""

    rows: list[tuple[int, str]]
    page: int
    has_more: bool


def case_timeline_rows(
    case: Case,
    *,
    page: int = 1,
    kinds: list[str] | None = None,
    prisoner: Prisoner | None = None,
    newest_first: bool = True,
    page_size: int = PAGE_SIZE,
    people: list[int] | None = None,
) -> TimelineRows:
    """One page of the timeline as ids and versions, in order (one query with ``people``,
    the ids of the case's people of concern)."""
    page = max(page, 1)
    rows, has_more = _page_rows(
        case, page=page, kinds=kinds, prisoner=prisoner, newest_first=newest_first,
        page_size=page_size, people=people,
    )  # fmt: skip
    return TimelineRows(rows=rows, page=page, has_more=has_more)


def case_timeline_shown(case: Case, **page) -> TimelineShown:
    """One page of the timeline as the case page shows it: ``case_timeline``'s entries, in
    its order, as ``EntryShown`` records (see ``timeline_shown``). ``page``: the arguments of
    ``case_timeline_rows`` (the page, filters, order and the case's people's ids, if the
    caller has them)."""
    found = case_timeline_rows(case, **page)
    ids = [pk for pk, _version in found.rows]
    return TimelineShown(entries=timeline_shown(ids), page=found.page, has_more=found.has_more)


def timeline_version(case: Case) -> str:
    """The version of what is shown about the case (its timeline, its page, its row in the
    case list): changes with any change to it. One query."""
    return timeline_versions([case.pk])[case.pk]


def case_page_scopes(case_id: int) -> list[str]:
    """The ``TimelineVersion`` scopes the versions of a case's page are made of."""
    return [
        TimelineVersion.case_scope(case_id),
        *(TimelineVersion.part_scope(case_id, part) for part in TimelineVersion.PARTS),
        TimelineVersion.ALL,
    ]


def case_page_versions_from(case_id: int, tokens: dict[str, str]) -> dict[str, str]:
    """The version of the case's timeline (``"timeline"``: ``timeline_version``) and of each
    part of its page around it (``TimelineVersion.PARTS``), from the tokens read (scope:
    token) of ``case_page_scopes``: the case page reads them with the reader's state of the
    page, in one query (``selectors.case_page.case_page_state``)."""
    everywhere = tokens.get(TimelineVersion.ALL)
    names = {
        TimelineVersion.case_scope(case_id): "timeline",
        **{TimelineVersion.part_scope(case_id, part): part for part in TimelineVersion.PARTS},
    }
    return {name: version_from(tokens.get(scope), everywhere) for scope, name in names.items()}


def version_from(token: str | None, everywhere: str | None) -> str:
    """A version as the case's views key their kept copies by: a scope's own token and the
    one for changes shown on every case (``everywhere_version``), "0" for one never set."""
    return f"{token or '0'}-{everywhere or '0'}"


def everywhere_of(version: str) -> str:
    """The token for changes shown on every case, out of a version ``version_from`` made
    (tokens are hexadecimal)."""
    return version.split("-", 1)[1]


def everywhere_version() -> str:
    """The token for changes shown on every case: organizations, authorities, user names
    (the shared directory). One query."""
    token = TimelineVersion.objects.filter(scope=TimelineVersion.ALL).values_list("token")
    return next(iter(token), ("0",))[0]


def timeline_versions(case_ids: list[int]) -> dict[int, str]:
    """``timeline_version`` of each of these cases, in one query.

    Made of the case's own token and the one for changes shown on every case (see
    ``TimelineVersion``); "0" for a case nothing has touched since the tokens came in.
    """
    scopes = {TimelineVersion.case_scope(pk): pk for pk in case_ids}
    tokens = dict(
        TimelineVersion.objects.filter(scope__in=[*scopes, TimelineVersion.ALL]).values_list(
            "scope", "token"
        )
    )
    everywhere = tokens.get(TimelineVersion.ALL)
    return {pk: version_from(tokens.get(scope), everywhere) for scope, pk in scopes.items()}


@dataclass
class PinnedDeadline:
    deadline: Deadline
    days_left: int
    assignees: list  # users (id and username), by name

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


_DEADLINE_COLUMNS = tuple(f.attname for f in Deadline._meta.concrete_fields)


def pinned_deadlines_queryset(case) -> QuerySet:
    """The case's open deadlines, soonest first, with their assignees by name (in a fixed
    order: the database's own order followed its plan): one row per deadline and assignee
    (a row without one for a deadline nobody is assigned), the deadline's columns, then the
    assignee's id and username (``case``: a case or its id)."""
    return (
        Deadline.objects.filter(case=case, status=DeadlineStatus.OPEN)
        .order_by("due_on", "due_time", "id", "assignees__username", "assignees__id")
        .values_list(*_DEADLINE_COLUMNS, "assignees__id", "assignees__username")
    )


def pinned_deadlines(case: Case, *, today: dt.date) -> list[PinnedDeadline]:
    """Open deadlines, soonest first, with the days left (negative when overdue) and their
    assignees: one query (``pinned_deadlines_queryset``), compiled once per process."""
    query = compiled(
        ("pinned_deadlines",),
        lambda: pinned_deadlines_queryset(stand_in(0)),
        {"case": ("one", stand_in(0))},
    )
    user_model = get_user_model()
    width, pk = len(_DEADLINE_COLUMNS), _DEADLINE_COLUMNS.index("id")
    pinned: list[PinnedDeadline] = []
    for row in query.rows(case=case.pk):
        if not pinned or pinned[-1].deadline.pk != row[pk]:
            deadline = Deadline.from_db(DEFAULT_DB_ALIAS, _DEADLINE_COLUMNS, row[:width])
            pinned.append(PinnedDeadline(deadline, deadline.days_left(today), []))
        user_id, username = row[width:]
        if user_id is not None:
            user = user_model.from_db(DEFAULT_DB_ALIAS, ("id", "username"), (user_id, username))
            pinned[-1].assignees.append(user)
    return pinned


# --- Read by cursor (the API) ------------------------------------------------------------------
# A cursor is the sort key of the last entry a page showed: (happened_on, happened_at, id).
TimelineCursor = tuple[dt.date, dt.datetime | None, int]


def _after(cursor: TimelineCursor, newest_first: bool) -> Q:
    """Entries after ``cursor`` in the order of ``_order`` (nulls last when newest first)."""
    day, at, pk = cursor
    if newest_first:
        if at is None:
            same_day = Q(happened_at__isnull=True, id__lt=pk)
        else:
            same_day = (
                Q(happened_at__lt=at) | Q(happened_at__isnull=True) | Q(happened_at=at, id__lt=pk)
            )
        return Q(happened_on__lt=day) | (Q(happened_on=day) & same_day)
    if at is None:
        same_day = Q(happened_at__isnull=False) | Q(happened_at__isnull=True, id__gt=pk)
    else:
        same_day = Q(happened_at__gt=at) | Q(happened_at=at, id__gt=pk)
    return Q(happened_on__gt=day) | (Q(happened_on=day) & same_day)


def case_timeline_after(
    case: Case,
    *,
    cursor: TimelineCursor | None = None,
    kinds: list[str] | None = None,
    newest_first: bool = True,
    page_size: int = PAGE_SIZE,
) -> TimelinePage:
    """The entries after ``cursor`` (from the start without one), read like ``case_timeline``
    in two steps and a fixed number of queries; a page is stable while entries are added."""
    people = list(case.prisoners.values_list("pk", flat=True))
    entries = _entries(case, people, kinds=kinds, prisoner=None)
    if cursor is not None:
        entries = entries.filter(_after(cursor, newest_first))
    ids = list(
        entries.order_by(*_order(newest_first)).values_list("pk", flat=True)[: page_size + 1]
    )
    has_more = len(ids) > page_size
    ids = ids[:page_size]
    found = (
        TimelineEntry.objects.select_related(*_RELATED).prefetch_related(*_PREFETCH).in_bulk(ids)
    )
    return TimelinePage(entries=[found[pk] for pk in ids if pk in found], page=0, has_more=has_more)
