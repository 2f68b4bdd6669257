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
)

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


def case_timeline_queryset(
    case: Case,
    *,
    kinds: list[str] | None = None,
    prisoner: Prisoner | None = None,
    newest_first: bool = True,
) -> QuerySet[TimelineEntry]:
    """Entries of the case and of its people of concern.

    Open deadlines are not in the stream: they are pinned above it (see pinned_deadlines).
    """
    prisoner_ids = case.prisoners.values("pk")
    entries = TimelineEntry.objects.filter(Q(case=case) | Q(prisoner_id__in=prisoner_ids))
    entries = entries.exclude(
        kind=TimelineEntry.Kind.DEADLINE, deadline__status=DeadlineStatus.OPEN
    )
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if prisoner is not None:
        concerned = Event.prisoners.through.objects.filter(
            event_id=OuterRef("event_id"), prisoner=prisoner
        )
        entries = entries.filter(Q(prisoner=prisoner) | Exists(concerned))
    if newest_first:
        order = [F("happened_on").desc(), F("happened_at").desc(nulls_last=True), F("id").desc()]
    else:
        order = [F("happened_on").asc(), F("happened_at").asc(nulls_first=True), F("id").asc()]
    return (
        entries.order_by(*order)
        .select_related(
            "event__created_by",
            "petition__addressed_to",
            "deadline",
            "document",
            "actor",
            "prisoner",
        )
        .prefetch_related(
            "event__organizations",
            "event__authorities",
            "event__prisoners",
            "petition__requests",
            "petition__filed_by",
        )
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
    """One page of the timeline. The number of queries does not grow with its length."""
    page = max(page, 1)
    start = (page - 1) * page_size
    queryset = case_timeline_queryset(
        case, kinds=kinds, prisoner=prisoner, newest_first=newest_first
    )
    rows = list(queryset[start : start + page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    for entry in rows:
        if entry.kind in (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.CHANGE):
            entry.field_label = _field_label(entry)
            entry.old_label = _label(entry, entry.old_value)
            entry.new_label = _label(entry, entry.new_value)
    return TimelinePage(entries=rows, page=page, has_more=has_more)


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
