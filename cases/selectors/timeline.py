"""The case timeline: one chronological stream, read with a fixed number of queries."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from cases.models import (
    Case,
    Deadline,
    DeadlineStatus,
    Event,
    Petition,
    Prisoner,
    TimelineEntry,
    TimelineVersion,
)
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


def _label(entry: TimelineEntry, value: str) -> str:
    model = _SUBJECT_MODELS.get(entry.subject)
    if model is None or not value:
        return value
    choices = dict(model._meta.get_field(entry.field).flatchoices)
    return str(choices.get(value, value))


def _field_label(entry: TimelineEntry) -> str:
    model = _SUBJECT_MODELS.get(entry.subject)
    if model is None:
        return entry.field
    return str(model._meta.get_field(entry.field).verbose_name)


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
    entries = TimelineEntry.objects.filter(Q(case=case) | Q(prisoner_id__in=people))
    if not kinds or TimelineEntry.Kind.DEADLINE not in kinds:
        # Pinned above the stream; asked for by kind ("Deadline"), they are in it too.
        open_deadlines = Deadline.objects.filter(status=DeadlineStatus.OPEN).values("pk")
        entries = entries.exclude(kind=TimelineEntry.Kind.DEADLINE, deadline_id__in=open_deadlines)
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
    start = (page - 1) * page_size
    people = list(case.prisoners.values_list("pk", flat=True))
    ids = list(
        _entries(case, people, kinds=kinds, prisoner=prisoner)
        .order_by(*_order(newest_first))
        .values_list("pk", flat=True)[start : start + page_size + 1]
    )
    has_more = len(ids) > page_size
    ids = ids[:page_size]
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


def timeline_version(case: Case) -> str:
    """The version of what is shown about the case (its timeline, its page, its row in the
    case list): changes with any change to it. One query."""
    return timeline_versions([case.pk])[case.pk]


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
    everywhere = tokens.get(TimelineVersion.ALL, "0")
    return {pk: f"{tokens.get(scope, '0')}-{everywhere}" for scope, pk in scopes.items()}


@dataclass
class PinnedDeadline:
    deadline: Deadline
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def pinned_deadlines(case: Case, *, today: dt.date) -> list[PinnedDeadline]:
    """Open deadlines, soonest first, with the days left (negative when overdue)."""
    deadlines = (
        case.deadlines.filter(status=DeadlineStatus.OPEN)
        .select_related("petition")
        .prefetch_related("assignees")
        .order_by("due_on", "due_time", "id")
    )
    return [PinnedDeadline(d, d.days_left(today)) for d in deadlines]


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
