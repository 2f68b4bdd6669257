"""The content of a dossier for one audience: the case's data with what the profile hides
left out, before anything is rendered.

Templates (templates/dossiers/) and the tabular exports render only what is built here, so
a field the profile hides is never in reach of a template. Every date is a string made by
``format_fuzzy_date`` (month and year precision never become a day). Built in the active
language (``translation.override`` around the call).
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    Case,
    DatePrecision,
    DeadlineStatus,
    Document,
    Petition,
    Prisoner,
    TimelineEntry,
    format_fuzzy_date,
)
from cases.selectors import timeline as timeline_selectors

from .profiles import IDENTITY, Facet, Profile


def day(value: dt.date | None) -> str:
    return format_fuzzy_date(value, DatePrecision.DAY)


@dataclass
class Person:
    code: str
    legal_name: str = ""
    nationality: str = ""
    birth_year: str = ""
    rank_unit: str = ""
    captured: str = ""
    captured_where: str = ""
    detaining_authority: str = ""
    place_of_detention: str = ""
    custody_status: str = ""
    wish: str = ""
    wish_expressed: str = ""
    wish_source: str = ""
    icrc: str = ""
    unhcr: str = ""
    risk_level: str = ""
    health_notes: str = ""
    notes: str = ""


@dataclass
class PetitionItem:
    title: str
    reference: str
    addressed_to: str
    copied_to: str
    filed_by: str
    filed_on: str
    channel: str
    status: str
    legal_bases: list[str]
    summary: str
    requests: list[tuple[str, str, str]]  # kind, text, outcome
    response_received: str
    response_summary: str
    history: list["Line"] = field(default_factory=list)


@dataclass
class Line:
    """One timeline line: when, what kind, a title, details, why, who."""

    when: str
    kind: str
    title: str
    details: list[str] = field(default_factory=list)
    reason: str = ""
    who: str = ""
    recorded: str = ""


@dataclass
class DeadlineItem:
    title: str
    kind: str
    due: str
    petition: str
    notes: str


@dataclass
class DocumentItem:
    pk: int
    title: str
    description: str
    original_name: str
    sha256: str
    size: int
    content_type: str
    added: str


@dataclass
class Dossier:
    case_reference: str
    title: str
    summary: str
    status: str
    priority: str
    lead: str
    partners: list[str]
    opened: str
    closed: str
    people: list[Person]
    petitions: list[PetitionItem]
    deadlines: list[DeadlineItem]
    documents: list[DocumentItem]
    document_count: int
    timeline_count: int
    # Lines are read lazily (``timeline_lines``) so that a long case is never all in memory.
    counted: list[tuple[str, int]]  # kinds summarised instead of listed (public)


def _keeps(profile: Profile, facet: str, *, identity: bool = True) -> bool:
    if facet in IDENTITY and not identity:
        return False
    return facet in profile.keeps


def _person(p: Prisoner, profile: Profile, identity: bool) -> Person:
    keeps = lambda facet: _keeps(profile, facet, identity=identity)  # noqa: E731
    wish = p.get_wish_status_display()
    if p.wish_destination:
        wish = f"{wish}: {p.wish_destination}"
    registration = lambda status, ref: (  # noqa: E731
        f"{status} ({ref})" if ref and keeps(Facet.REFERENCES) else str(status)
    )
    return Person(
        code=p.code,
        legal_name=p.legal_name if keeps(Facet.LEGAL_NAME) else "",
        nationality=p.nationality if keeps(Facet.PERSON_DETAILS) else "",
        birth_year=str(p.birth_year or "") if keeps(Facet.PERSON_DETAILS) else "",
        rank_unit=p.rank_unit if keeps(Facet.PERSON_DETAILS) else "",
        captured=p.captured_on_display,
        captured_where=p.captured_where,
        detaining_authority=str(p.detaining_authority or ""),
        # A place marked need-to-know goes only where the identity goes (the profile keeps
        # legal names and the exporter may see them): Prisoner.identity_fields().
        place_of_detention=p.place_of_detention
        if keeps(Facet.PLACES_OF_DETENTION)
        and (not p.place_of_detention_sensitive or keeps(Facet.LEGAL_NAME))
        else "",
        custody_status=p.get_custody_status_display(),
        wish=wish,
        wish_expressed=p.wish_expressed_on_display,
        wish_source=p.wish_source if keeps(Facet.SOURCES) else "",
        icrc=registration(p.get_icrc_registration_display(), p.icrc_reference),
        unhcr=registration(p.get_unhcr_registration_display(), p.unhcr_reference),
        risk_level=p.get_risk_level_display(),
        health_notes=p.health_notes if keeps(Facet.HEALTH_NOTES) else "",
        notes=p.notes if keeps(Facet.PERSON_NOTES) else "",
    )


def _petition(p: Petition, profile: Profile) -> PetitionItem:
    texts = Facet.PETITION_TEXTS in profile.keeps
    bases = p.get_legal_bases_display()
    if p.legal_basis_other and texts:
        bases.append(p.legal_basis_other)
    return PetitionItem(
        title=p.title,
        reference=p.reference if texts else "",
        addressed_to=str(p.addressed_to),
        copied_to=", ".join(str(a) for a in p.copied_to.all()),
        filed_by=", ".join(str(o) for o in p.filed_by.all()),
        filed_on=day(p.filed_on),
        channel=p.get_channel_display(),
        status=p.get_status_display(),
        legal_bases=bases,
        summary=p.summary if texts else "",
        requests=[
            (r.get_kind_display(), r.text if texts else "", r.get_outcome_display())
            for r in p.requests.all()
        ],
        response_received=day(p.response_received_on),
        response_summary=p.response_summary if texts else "",
    )


def build_dossier(*, case: Case, user, profile: Profile) -> Dossier:
    """The dossier's data for ``profile`` as ``user`` may see it (access checked by the
    caller: the user may read the case)."""
    people = list(case.prisoners.select_related("detaining_authority").order_by("code"))
    persons = [_person(p, profile, access.may_see_identity(user, p)) for p in people]
    rows = list(
        case.petitions.select_related("addressed_to")
        .prefetch_related("copied_to", "filed_by", "requests")
        .order_by("filed_on", "id")
    )
    petitions = [_petition(p, profile) for p in rows]
    _add_petition_history(rows, petitions, profile)
    deadlines = []
    for d in case.deadlines.filter(status=DeadlineStatus.OPEN).select_related("petition"):
        deadlines.append(
            DeadlineItem(
                title=d.title,
                kind=d.get_kind_display(),
                due=d.due_display,
                petition=d.petition.title if d.petition else "",
                notes=d.notes if Facet.INTERNAL_NOTES in profile.keeps else "",
            )
        )
    documents = list(
        case.documents.order_by("created_at", "id").only(
            "pk",
            "title",
            "description",
            "original_name",
            "sha256",
            "size",
            "content_type",
            "created_at",
        )
    )
    keeps_documents = Facet.DOCUMENTS in profile.keeps
    entries = timeline_selectors.case_timeline_queryset(case, newest_first=False)
    counted: list[tuple[str, int]] = []
    if Facet.FULL_TIMELINE not in profile.keeps:
        summary = Counter(
            entries.exclude(kind__in=_PUBLIC_KINDS).values_list("kind", flat=True).order_by()
        )
        labels = dict(TimelineEntry.Kind.choices)
        counted = [(str(labels.get(k, k)), n) for k, n in sorted(summary.items())]
    return Dossier(
        case_reference=case.reference,
        title=case.title,
        summary=case.summary,
        status=case.get_status_display(),
        priority=case.get_priority_display(),
        lead=case.lead_organization.name,
        partners=[s.organization.name for s in case.shares.select_related("organization")],
        opened=day(case.opened_on),
        closed=day(case.closed_on),
        people=persons,
        petitions=petitions,
        deadlines=deadlines,
        documents=[_document(d) for d in documents] if keeps_documents else [],
        document_count=len(documents),
        timeline_count=entries.count(),
        counted=counted,
    )


def _add_petition_history(rows: list[Petition], items: list[PetitionItem], profile) -> None:
    """Each petition's status changes (and the responses recorded with them), in order."""
    by_pk = {p.pk: item for p, item in zip(rows, items, strict=True)}
    changes = (
        TimelineEntry.objects.filter(
            petition_id__in=by_pk,
            kind=TimelineEntry.Kind.STATUS,
            subject=TimelineEntry.Subject.PETITION,
        )
        .select_related("actor", "petition")
        .order_by("happened_on", "happened_at", "id")
    )
    for entry in changes:
        old = timeline_selectors._label(entry, entry.old_value) or "—"
        new = timeline_selectors._label(entry, entry.new_value) or "—"
        line = Line(
            when=format_fuzzy_date(entry.happened_on, entry.precision),
            kind=entry.get_kind_display(),
            title=f"{old} → {new}",
        )
        if entry.reason and Facet.INTERNAL_NOTES in profile.keeps:
            line.reason = entry.reason
        if entry.actor_id and Facet.STAFF_NAMES in profile.keeps:
            line.who = entry.actor.get_username()
        by_pk[entry.petition_id].history.append(line)


def _document(d: Document) -> DocumentItem:
    return DocumentItem(
        pk=d.pk,
        title=d.title,
        description=d.description,
        original_name=d.original_name,
        sha256=d.sha256,
        size=d.size,
        content_type=d.content_type,
        added=day(d.created_at.date()),
    )


# What the public profile lists; other kinds are only counted.
_PUBLIC_KINDS = (
    TimelineEntry.Kind.EVENT,
    TimelineEntry.Kind.PETITION,
    TimelineEntry.Kind.CASE_OPENED,
)


def timeline_lines(*, case: Case, profile: Profile, chunk_size: int = 500) -> Iterator[Line]:
    """The case's timeline in the order things happened, redacted for ``profile``, read in
    chunks (memory does not grow with the length of the timeline)."""
    entries = timeline_selectors.case_timeline_queryset(case, newest_first=False)
    full = Facet.FULL_TIMELINE in profile.keeps
    if not full:
        entries = entries.filter(kind__in=_PUBLIC_KINDS)
    for entry in entries.iterator(chunk_size=chunk_size):
        line = _line(entry, profile, full)
        if line is not None:
            yield line


def _line(entry: TimelineEntry, profile: Profile, full: bool) -> Line | None:
    keeps = profile.keeps
    when = format_fuzzy_date(
        entry.happened_on, entry.precision, by=entry.kind == TimelineEntry.Kind.DEADLINE
    )
    line = Line(when=when, kind=entry.get_kind_display(), title="")
    if Facet.STAFF_NAMES in keeps and entry.actor_id and entry.happened_at:
        line.who = entry.actor.get_username()
    kind = entry.kind
    if kind == TimelineEntry.Kind.EVENT:
        event = entry.event
        if event.occurred_at_time and full:
            line.when = f"{line.when} {event.occurred_at_time:%H:%M}"
        line.kind = event.get_kind_display()
        line.title = event.title
        if full and event.description:
            line.details.append(event.description)
        people = [p.code for p in event.prisoners.all()]
        others = [str(a) for a in event.authorities.all()] + [
            str(o) for o in event.organizations.all()
        ]
        if people:
            line.details.append(_("Concerns %(people)s") % {"people": ", ".join(people)})
        if others:
            line.details.append(", ".join(others))
        if event.source and Facet.SOURCES in keeps:
            line.details.append(_("Source: %(source)s") % {"source": event.source})
        if Facet.STAFF_NAMES in keeps and event.created_by_id:
            line.who = event.created_by.get_username()
    elif kind == TimelineEntry.Kind.PETITION:
        petition = entry.petition
        filed = _("Petition filed") if petition.filed_on else _("Petition drafted")
        line.title = f"{filed}: {petition.title}"
        line.details.append(_("to %(authority)s") % {"authority": petition.addressed_to})
        requests = [str(r.get_kind_display()) for r in petition.requests.all()]
        if full and requests:
            line.details.append(", ".join(requests))
    elif kind in (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.CHANGE):
        if entry.subject == TimelineEntry.Subject.PRISONER and (
            entry.field == "place_of_detention" and Facet.PLACES_OF_DETENTION not in keeps
        ):
            return None
        subject = {
            TimelineEntry.Subject.CASE: _("Case"),
            TimelineEntry.Subject.PETITION: entry.petition.title if entry.petition_id else "",
            TimelineEntry.Subject.PRISONER: entry.prisoner.code if entry.prisoner_id else "",
            TimelineEntry.Subject.DEADLINE: entry.deadline.title if entry.deadline_id else "",
        }.get(entry.subject, "")
        old = timeline_selectors._label(entry, entry.old_value) or "—"
        new = timeline_selectors._label(entry, entry.new_value) or "—"
        line.title = f"{subject} — {timeline_selectors._field_label(entry)}: {old} → {new}"
        if entry.reason and Facet.INTERNAL_NOTES in keeps:
            line.reason = entry.reason
    elif kind == TimelineEntry.Kind.DEADLINE:
        deadline = entry.deadline
        line.title = f"{deadline.title} ({deadline.get_status_display()})"
        line.details.append(f"{deadline.get_kind_display()} · {deadline.due_display}")
    elif kind == TimelineEntry.Kind.DOCUMENT:
        if Facet.DOCUMENTS not in keeps:
            return None
        line.title = _("Document added: %(title)s") % {"title": entry.document.title}
        line.details.append(f"SHA-256 {entry.document.sha256}")
    elif kind == TimelineEntry.Kind.DEVELOPMENT:
        # A development linked to the case (issue 17): never which other cases it is on.
        development = entry.development_link.development
        line.kind, line.title = development.get_kind_display(), development.title
        if development.description:
            line.details.append(development.description)
    elif kind == TimelineEntry.Kind.CASE_OPENED:
        line.kind, line.title = "", _("Case opened")
    if line.who and entry.happened_at:
        line.recorded = day(timezone.localdate(entry.happened_at))
    return line
