import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    PETITION_TRANSITIONS,
    Authority,
    Case,
    DatePrecision,
    DeadlineKind,
    LegalBasis,
    Organization,
    Petition,
    PetitionRequest,
    PetitionStatus,
)

from . import plausibility
from .documents import document_check_upload, document_store
from .search import cases_refresh_search
from .transitions import apply_transition, save_tracked

_ANSWERED = {
    PetitionStatus.ACKNOWLEDGED,
    PetitionStatus.UNDER_REVIEW,
    PetitionStatus.GRANTED,
    PetitionStatus.PARTLY_GRANTED,
    PetitionStatus.REJECTED,
}


@dataclass(frozen=True)
class RequestSpec:
    """One thing a petition asks for. With ``id``: an existing request to update (or delete)."""

    kind: str
    text: str = ""
    outcome: str = PetitionRequest.Outcome.PENDING
    id: int | None = None
    delete: bool = False


def clean_legal_bases(values: Iterable[str]) -> list[str]:
    values = list(dict.fromkeys(values))
    unknown = [value for value in values if value not in LegalBasis.values]
    if unknown:
        raise ValidationError(
            {"legal_bases": _("Unknown legal basis: %(values)s") % {"values": ", ".join(unknown)}}
        )
    return values


def _response_not_before_filing(petition: Petition, field: str, response: dt.date | None):
    if response is not None and petition.filed_on is None:
        return plausibility.Finding(
            field, _("A response needs the day the petition was filed."), error=True
        )
    return plausibility.not_before(
        field,
        response,
        petition.filed_on,
        _("The response cannot come before the petition was filed (%(date)s)."),
    )


def _date_findings(petition: Petition) -> list:
    return [
        plausibility.happened("filed_on", petition.filed_on),
        plausibility.happened("response_received_on", petition.response_received_on),
        _response_not_before_filing(
            petition, "response_received_on", petition.response_received_on
        ),
    ]


@transaction.atomic
def petition_create(
    *,
    case: Case,
    by: AbstractBaseUser,
    title: str,
    addressed_to: Authority,
    filed_by: Iterable[Organization],
    requests: Iterable[RequestSpec] = (),
    copied_to: Iterable[Authority] = (),
    filed_on: dt.date | None = None,
    status: str = PetitionStatus.DRAFT,
    reason: str = "",
    uploads: Iterable[File] = (),
    confirmed: bool | None = None,
    **fields,
) -> Petition:
    """Log a petition with its requests and documents, all or nothing.

    A petition logged as filed needs its filing date. Every upload is checked before anything
    is written, so a refused file leaves no petition behind.
    """
    uploads = list(uploads)
    for upload in uploads:
        document_check_upload(upload)
    if status not in {PetitionStatus.DRAFT, PetitionStatus.FILED}:
        raise ValidationError(
            {
                "status": _(
                    "A new petition is either a draft or filed; record later steps as changes."
                )
            }
        )
    if status == PetitionStatus.FILED and filed_on is None:
        raise ValidationError({"filed_on": _("Give the day the petition was filed.")})
    filed_by = list(filed_by)
    if not filed_by:
        raise ValidationError({"filed_by": _("Name at least one organization that files it.")})
    petition = Petition(
        case=case,
        title=title,
        addressed_to=addressed_to,
        filed_on=filed_on,
        status=status,
        **fields,
    )
    petition.legal_bases = clean_legal_bases(petition.legal_bases)
    plausibility.check(_date_findings(petition), confirmed=confirmed)
    petition.full_clean()
    default_reason = "Filed" if status == PetitionStatus.FILED else "Drafted"
    save_tracked(petition, by=by, reason=reason or default_reason)
    petition.filed_by.set(filed_by)
    petition.copied_to.set(list(copied_to))
    for position, spec in enumerate(requests):
        item = PetitionRequest(
            petition=petition,
            position=position,
            kind=spec.kind,
            text=spec.text,
            outcome=spec.outcome,
        )
        item.full_clean()
        save_tracked(item, by=by, reason=reason or default_reason)
    for upload in uploads:
        document_store(case=case, petition=petition, upload=upload, by=by, confirmed=confirmed)
    cases_refresh_search(case_ids=[case.pk])
    return petition


@transaction.atomic
def petition_update(
    *,
    petition: Petition,
    by: AbstractBaseUser,
    reason: str = "Edited",
    filed_by: Iterable[Organization] | None = None,
    copied_to: Iterable[Authority] | None = None,
    requests: Iterable[RequestSpec] | None = None,
    confirmed: bool | None = None,
    **fields,
) -> Petition:
    """Edit a petition and its requests (not its status: see petition_change_status)."""
    if "status" in fields:
        raise ValidationError({"status": _("Change the status with a reason instead.")})
    if (
        "filed_on" in fields
        and fields["filed_on"] is None
        and petition.status
        not in (
            PetitionStatus.DRAFT,
            PetitionStatus.WITHDRAWN,
        )
    ):
        raise ValidationError(
            {"filed_on": _("A petition past its draft keeps the day it was filed.")}
        )
    for name, value in fields.items():
        setattr(petition, name, value)
    petition.legal_bases = clean_legal_bases(petition.legal_bases)
    plausibility.check(_date_findings(petition), confirmed=confirmed)
    petition.full_clean()
    save_tracked(petition, by=by, reason=reason)
    petition._change_reason = reason
    if filed_by is not None:
        filed_by = list(filed_by)
        if not filed_by:
            raise ValidationError({"filed_by": _("Name at least one organization that files it.")})
        petition.filed_by.set(filed_by)
    if copied_to is not None:
        petition.copied_to.set(list(copied_to))
    if requests is not None:
        existing = {r.pk: r for r in petition.requests.all()}
        position = 0
        for spec in requests:
            item = existing.get(spec.id) if spec.id else PetitionRequest(petition=petition)
            if item is None:
                raise ValidationError(_("A request does not belong to this petition."))
            if spec.delete:
                if item.pk:
                    item._history_user = by
                    item._change_reason = reason
                    item.delete()
                continue
            item.kind, item.text, item.outcome, item.position = (
                spec.kind,
                spec.text,
                spec.outcome,
                position,
            )
            position += 1
            item.full_clean()
            save_tracked(item, by=by, reason=reason)
    cases_refresh_search(case_ids=[petition.case_id])
    return petition


def petition_change_status(
    *,
    petition: Petition,
    to: str,
    by: AbstractBaseUser,
    reason: str,
    filed_on: dt.date | None = None,
    response_received_on: dt.date | None = None,
    response_summary: str | None = None,
    expect_reply_by: dt.date | None = None,
    happened_on: dt.date | None = None,
    happened_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
) -> Petition:
    """Move a petition along (filed → acknowledged → granted ...), with the reason on record.

    Filing needs a filing date (today if none is given). A response date and summary may come
    with any answer from the authority. ``expect_reply_by`` adds a reply-due deadline.
    ``happened_on`` is when the change happened; if not given, it is the response date (an
    acknowledgement happened when it was received), the filing date for a filing, or today.
    """
    changes: dict[str, object] = {}
    if to == PetitionStatus.FILED and petition.filed_on is None:
        changes["filed_on"] = filed_on or happened_on or timezone.localdate()
    elif filed_on is not None:
        changes["filed_on"] = filed_on
    if happened_on is None:
        happened_on = response_received_on or (
            changes.get("filed_on") if to == PetitionStatus.FILED else None
        )
    filed = changes.get("filed_on", petition.filed_on)
    if response_received_on is not None or response_summary:
        if to not in _ANSWERED:
            raise ValidationError(
                {"response_received_on": _("Only an answer from the authority has a response.")}
            )
        if response_received_on is not None:
            changes["response_received_on"] = response_received_on
        if response_summary:
            changes["response_summary"] = response_summary
    plausibility.check(
        [
            plausibility.happened("filed_on", changes.get("filed_on")),
            plausibility.happened("response_received_on", response_received_on),
            plausibility.not_before(
                "response_received_on",
                response_received_on,
                filed,
                _("The response cannot come before the petition was filed (%(date)s)."),
            ),
            plausibility.not_before(
                "happened_on",
                happened_on,
                filed if to != PetitionStatus.WITHDRAWN else None,
                _("The petition was filed on %(date)s: this cannot have happened before."),
            ),
            plausibility.not_before(
                "expect_reply_by",
                expect_reply_by,
                filed,
                _("A reply cannot be due before the petition was filed (%(date)s)."),
            ),
            plausibility.due("expect_reply_by", expect_reply_by),
        ],
        confirmed=confirmed,
    )
    with transaction.atomic():
        apply_transition(
            instance=petition,
            to=to,
            by=by,
            reason=reason,
            transitions=PETITION_TRANSITIONS,
            changes=changes,
            happened_on=happened_on,
            happened_precision=happened_precision,
            confirmed=confirmed,
        )
        if expect_reply_by is not None:
            from .deadlines import deadline_create

            deadline_create(
                case=petition.case,
                petition=petition,
                by=by,
                kind=DeadlineKind.REPLY_DUE,
                title=_("Reply due: %(title)s") % {"title": petition.title},
                due_on=expect_reply_by,
                reason=reason,
                confirmed=True,  # asked above
            )
    return petition
