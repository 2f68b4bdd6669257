"""Keeps the case timeline (TimelineEntry) in step with history.

Every history row written anywhere (services, admin, commands) passes through
``on_history_row``; it adds or refreshes the timeline entry it implies. Because it hangs off
history itself, no code path can change a status without it showing on the timeline.
``timeline_rebuild`` recomputes the whole projection from history.

The same receiver changes the case's ``TimelineVersion`` token (``timeline_touch``), in the
transaction of the change: the case page caches its rendered timeline under those tokens.
"""

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.models import (
    Alert,
    AlertCheck,
    Case,
    CaseShare,
    DatePrecision,
    Deadline,
    Development,
    DevelopmentLink,
    Document,
    Event,
    Petition,
    PetitionRequest,
    Prisoner,
    TimelineEntry,
    TimelineVersion,
)
from cases.models.timeline import new_shown_version

Kind = TimelineEntry.Kind
Subject = TimelineEntry.Subject

_SUBJECTS: dict[type, str] = {
    Case: Subject.CASE,
    Petition: Subject.PETITION,
    Prisoner: Subject.PRISONER,
    Deadline: Subject.DEADLINE,
}
# Changes of these fields of a person of concern are worth a line on the timeline.
NOTABLE_PRISONER_FIELDS = (
    "place_of_detention",
    "icrc_registration",
    "unhcr_registration",
    "wish_status",
    "wish_destination",
    "risk_level",
)
WISH_FIELDS = ("wish_status", "wish_destination")


def _day_of(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)


def _links(instance) -> dict:
    """The case / prisoner / object an entry about ``instance`` hangs from."""
    if isinstance(instance, Case):
        return {"case_id": instance.pk}
    if isinstance(instance, Prisoner):
        return {"prisoner_id": instance.pk}
    if isinstance(instance, Petition):
        return {"case_id": instance.case_id, "petition_id": instance.pk}
    if isinstance(instance, Deadline):
        return {"case_id": instance.case_id, "deadline_id": instance.pk}
    raise TypeError(type(instance))


def _upsert(kind: str, key: dict, *, created: dict | None = None, **values) -> None:
    """Refresh the entry, or write it with ``created`` too (who first recorded it)."""
    updated = TimelineEntry.objects.filter(kind=kind, **key).update(**values)
    if not updated:
        TimelineEntry.objects.create(kind=kind, **key, **values, **(created or {}))


_ANSWERED = {"acknowledged", "under_review", "granted", "partly_granted", "rejected"}


def status_happened_on(instance, record, previous) -> tuple[dt.date, str]:
    """When the status change of ``record`` happened, with its precision.

    What the person said (``status_changed_on``); for a change recorded before that was
    kept, the best date stored with it: the response date of an answer, the filing date of a
    filing, the closing date of a case; otherwise the day it was recorded.
    """
    if record.status_changed_on is not None:
        return record.status_changed_on, record.status_changed_precision or DatePrecision.DAY
    new = getattr(record, instance.status_field)
    if isinstance(instance, Petition):
        response = record.response_received_on
        if new in _ANSWERED and response and response != previous.response_received_on:
            return response, DatePrecision.DAY
        if new == "filed" and record.filed_on:
            return record.filed_on, DatePrecision.DAY
    if isinstance(instance, Case) and new == "closed" and record.closed_on:
        return record.closed_on, DatePrecision.DAY
    return _day_of(record.history_date), DatePrecision.DAY


def _at(on: dt.date, moment: dt.datetime) -> dt.datetime | None:
    """The recorded moment orders entries of the same day only when it is that day."""
    return moment if on == _day_of(moment) else None


def project(instance, record, previous, *, shown_version: str | None = None) -> None:
    """Write the timeline entries implied by one history ``record`` of ``instance``.

    ``previous`` is the object's history row before this one (None for a creation). The
    entries it rewrites get ``shown_version`` (a new one unless given).
    """
    shown_version = shown_version or new_shown_version()
    history_type = record.history_type
    if history_type == "-":
        return  # entries of a deleted row go with it (foreign keys cascade)
    moment = record.history_date
    actor_id = record.history_user_id
    reason = record.history_change_reason or ""

    if isinstance(instance, Case) and history_type == "+":
        TimelineEntry.objects.create(
            kind=Kind.CASE_OPENED,
            case_id=instance.pk,
            happened_on=instance.opened_on,
            precision=DatePrecision.DAY,
            happened_at=moment,
            recorded_at=moment,
            actor_id=actor_id,
            reason=reason,
            history_id=record.pk,
        )
    elif isinstance(instance, Event):
        at = (
            timezone.make_aware(
                dt.datetime.combine(instance.occurred_on, instance.occurred_at_time)
            )
            if instance.occurred_at_time
            else None
        )
        _upsert(
            Kind.EVENT,
            {"event_id": instance.pk},
            case_id=instance.case_id,
            happened_on=instance.occurred_on,
            precision=instance.occurred_on_precision,
            happened_at=at,
            recorded_at=moment,
            shown_version=shown_version,
            created={"actor_id": actor_id},
        )
    elif isinstance(instance, Petition):
        _upsert(
            Kind.PETITION,
            {"petition_id": instance.pk},
            case_id=instance.case_id,
            happened_on=instance.filed_on or _day_of(instance.created_at or moment),
            precision=DatePrecision.DAY,
            happened_at=None if instance.filed_on else moment,
            recorded_at=moment,
            shown_version=shown_version,
            created={"actor_id": actor_id},
        )
    elif isinstance(instance, Deadline):
        _upsert(
            Kind.DEADLINE,
            {"deadline_id": instance.pk},
            case_id=instance.case_id,
            happened_on=instance.due_on,
            precision=instance.due_precision,
            happened_at=None,
            recorded_at=moment,
            shown_version=shown_version,
            created={"actor_id": actor_id},
        )
    elif isinstance(instance, DevelopmentLink) and history_type == "+":
        # A development linked to the case: shown when it happened, as its record says.
        development = instance.development
        TimelineEntry.objects.create(
            kind=Kind.DEVELOPMENT,
            case_id=instance.case_id,
            development_link_id=instance.pk,
            happened_on=development.happened_on,
            precision=development.happened_precision,
            happened_at=None,
            recorded_at=moment,
            actor_id=actor_id,
            history_id=record.pk,
        )
    elif isinstance(instance, Development) and history_type == "~":
        # Its date was corrected: every linked case's entry follows.
        TimelineEntry.objects.filter(
            kind=Kind.DEVELOPMENT, development_link__development_id=instance.pk
        ).update(
            happened_on=instance.happened_on,
            precision=instance.happened_precision,
            recorded_at=moment,
            shown_version=shown_version,
        )
    elif isinstance(instance, Document) and history_type == "+":
        TimelineEntry.objects.create(
            kind=Kind.DOCUMENT,
            case_id=instance.case_id,
            document_id=instance.pk,
            happened_on=instance.dated_on or _day_of(moment),
            precision=(instance.dated_precision or DatePrecision.DAY)
            if instance.dated_on
            else DatePrecision.DAY,
            happened_at=_at(instance.dated_on or _day_of(moment), moment),
            recorded_at=moment,
            actor_id=actor_id,
            history_id=record.pk,
        )

    subject = _SUBJECTS.get(type(instance))
    if subject is None or previous is None:
        return
    changed = [instance.status_field]
    if isinstance(instance, Prisoner):
        changed += NOTABLE_PRISONER_FIELDS
    # What changed with the status happened when the status changed; other changes, when
    # they were recorded.
    status_changed = getattr(previous, instance.status_field) != getattr(
        record, instance.status_field
    )
    if status_changed:
        on, precision = status_happened_on(instance, record, previous)
    else:
        on, precision = _day_of(moment), DatePrecision.DAY
    if isinstance(instance, Prisoner) and record.place_of_detention_sensitive:
        # The place became need-to-know: earlier entries stop saying where it was, too.
        TimelineEntry.objects.filter(prisoner_id=instance.pk, field="place_of_detention").exclude(
            old_value="", new_value=""
        ).update(old_value="", new_value="", shown_version=shown_version)
    for name in changed:
        old, new = getattr(previous, name), getattr(record, name)
        if old == new:
            continue
        when = (on, precision)
        if not status_changed and name in WISH_FIELDS and record.wish_expressed_on:
            # A wish changes when it was expressed, as the record says.
            when = (record.wish_expressed_on, record.wish_expressed_on_precision)
        if name == "place_of_detention" and (
            record.place_of_detention_sensitive or previous.place_of_detention_sensitive
        ):
            old = new = ""  # a need-to-know place: the timeline says it changed, not where
        TimelineEntry.objects.create(
            kind=Kind.STATUS if name == instance.status_field else Kind.CHANGE,
            subject=subject,
            field=name,
            old_value=old or "",
            new_value=new or "",
            happened_on=when[0],
            precision=when[1],
            happened_at=_at(when[0], moment),
            recorded_at=moment,
            actor_id=actor_id,
            reason=reason,
            history_id=record.pk,
            **_links(instance),
        )


_TRACKED = (Case, Prisoner, Petition, Deadline, Event, Document, Development, DevelopmentLink)


def timeline_touch(
    *, case_ids: list[int] | None = None, parts: tuple[str, ...] = TimelineVersion.PARTS
) -> None:
    """Give the timelines of these cases (None: of every case) a new version token, and the
    parts of their pages named in ``parts`` (all unless told).

    Called in the transaction of the change, so the new token and the new data become
    visible together; a page cached under the old token is simply never asked for again.
    """
    scopes = (
        [TimelineVersion.ALL]
        if case_ids is None
        else [
            scope
            for pk in sorted(set(case_ids))
            for scope in (
                TimelineVersion.case_scope(pk),
                *(TimelineVersion.part_scope(pk, part) for part in parts),
            )
        ]
    )
    if not scopes:
        return
    token = uuid.uuid4().hex
    TimelineVersion.objects.bulk_create(
        [TimelineVersion(scope=scope, token=token) for scope in scopes],
        update_conflicts=True,
        unique_fields=["scope"],
        update_fields=["token"],
    )


def _cases_showing(instance, history_type: str) -> list[int] | None:
    """The cases whose pages may show this row (None: possibly any case).

    Kept narrow on purpose: "all" is one row that every such change locks until it commits,
    so the fewer changes take it, the less they wait for each other.
    """
    if isinstance(instance, Case):
        return [instance.pk]
    if isinstance(instance, Prisoner):
        if history_type == "-":
            return None  # their links to cases are gone already: touch them all (rare)
        return list(instance.cases.values_list("pk", flat=True))
    if isinstance(instance, PetitionRequest):
        case_id = (
            Petition.objects.filter(pk=instance.petition_id)
            .values_list("case_id", flat=True)
            .first()
        )
        return None if case_id is None else [case_id]
    if isinstance(instance, AlertCheck):
        case_id = Alert.objects.filter(pk=instance.alert_id).values_list("case_id", flat=True)
        return list(case_id)
    if isinstance(instance, Development):
        # Shown on the cases it is linked to, and no other.
        return list(instance.links.values_list("case_id", flat=True))
    case_id = getattr(instance, "case_id", None)
    # Organizations, authorities, memberships: shown (by name) on any case.
    return None if case_id is None else [case_id]


# The parts of the case page (TimelineVersion.PARTS) each kind of row shows on; any other
# kind of row (the case itself, its links to people, anything new) re-renders them all.
_PARTS_SHOWING: dict[type, tuple[str, ...]] = {
    Event: (),  # on the timeline only
    PetitionRequest: (),  # on the timeline only (the petitions card lists no requests)
    Prisoner: ("people",),
    Deadline: ("deadlines", "header"),  # the header shows the next deadline
    Petition: ("lists", "deadlines"),
    Document: ("lists",),
    CaseShare: ("header",),  # the partners, in the header
}


def _parts_showing(instance) -> tuple[str, ...]:
    return _PARTS_SHOWING.get(type(instance), TimelineVersion.PARTS)


def on_user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    """post_save of users (connected in apps.py): timelines show who did what, by username."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a new user is on no timeline yet; signing in changes nothing shown
    timeline_touch()


def _entries_showing(instance) -> list[Q]:
    """The timeline entries that show something of this row, as conditions on them (each
    one an indexed lookup; none: no entry shows it).

    Everything an entry shows comes from its own row, or from these: its event (and the
    people, authorities and organizations it lists), petition (its requests and filers),
    deadline, document, development and its link, and the people's codes. Names shown on
    every case, and users' names, change every case's token instead (``timeline_touch()``).
    """
    pk = instance.pk
    if isinstance(instance, Event):
        return [Q(event_id=pk)]
    if isinstance(instance, Petition):
        return [Q(petition_id=pk)]
    if isinstance(instance, PetitionRequest):
        return [Q(petition_id=instance.petition_id)]
    if isinstance(instance, Deadline):
        return [Q(deadline_id=pk)]
    if isinstance(instance, Document):
        return [Q(document_id=pk)]
    if isinstance(instance, Development):
        return [Q(development_link__development_id=pk)]
    if isinstance(instance, DevelopmentLink):
        return [Q(development_link_id=pk)]
    if isinstance(instance, Prisoner):
        # Their code, on their own entries and on the events that list them (and their
        # own entries redacted when their place becomes need-to-know).
        return [Q(prisoner_id=pk), Q(event__prisoners=pk)]
    return []


def entries_touch(showing: Q, shown_version: str | None = None) -> None:
    """Give the timeline entries ``showing`` selects a new ``shown_version`` (this one if
    given: entries that have it already are not written again): what they show may have
    changed, so the case page writes them again (cases/views/cases.py).

    For every change that passes through history, ``on_history_row`` calls it; a change
    made without a history signal (a bulk update) must call it itself.
    """
    shown_version = shown_version or new_shown_version()
    entries = TimelineEntry.objects.filter(showing).exclude(shown_version=shown_version)
    entries.update(shown_version=shown_version)


def on_history_row(sender, instance, history_instance, **kwargs) -> None:
    """simple_history's post_create_historical_record receiver (connected in apps.py)."""
    timeline_touch(
        case_ids=_cases_showing(instance, history_instance.history_type),
        parts=_parts_showing(instance),
    )
    # One version for the entries project() rewrites and those that show the row, so that
    # an entry is written once.
    shown_version = new_shown_version()
    if isinstance(instance, _TRACKED):
        previous = None
        if history_instance.history_type == "~" and type(instance) in _SUBJECTS:
            previous = history_instance.prev_record
        project(instance, history_instance, previous, shown_version=shown_version)
    # A creation too: a new request changes its petition's entry.
    for showing in _entries_showing(instance):
        entries_touch(showing, shown_version)


@transaction.atomic
def timeline_rebuild() -> int:
    """Recompute every timeline entry from history. Returns how many entries there are."""
    TimelineEntry.objects.all().delete()
    for model in _TRACKED:
        previous_by_id: dict[int, object] = {}
        for record in model.history.order_by("history_date", "history_id").iterator():
            instance = record.instance
            if record.history_type == "-" or not model.objects.filter(pk=record.id).exists():
                previous_by_id[record.id] = record
                continue
            project(instance, record, previous_by_id.get(record.id))
            previous_by_id[record.id] = record
    timeline_touch()
    return TimelineEntry.objects.count()
