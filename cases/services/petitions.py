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
    DeadlineKind,
    LegalBasis,
    Organization,
    Petition,
    PetitionRequest,
    PetitionStatus,
)

from .documents import document_check_upload, document_store
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
        document_store(case=case, petition=petition, upload=upload, by=by)
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
    **fields,
) -> Petition:
    """Edit a petition and its requests (not its status: see petition_change_status)."""
    if "status" in fields:
        raise ValidationError({"status": _("Change the status with a reason instead.")})
    for name, value in fields.items():
        setattr(petition, name, value)
    petition.legal_bases = clean_legal_bases(petition.legal_bases)
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
) -> Petition:
    """Move a petition along (filed → acknowledged → granted ...), with the reason on record.

    Filing needs a filing date (today if none is given). A response date and summary may come
    with any answer from the authority. ``expect_reply_by`` adds a reply-due deadline.
    """
    changes: dict[str, object] = {}
    if to == PetitionStatus.FILED and petition.filed_on is None:
        changes["filed_on"] = filed_on or timezone.localdate()
    elif filed_on is not None:
        changes["filed_on"] = filed_on
    if response_received_on is not None or response_summary:
        if to not in _ANSWERED:
            raise ValidationError(
                {"response_received_on": _("Only an answer from the authority has a response.")}
            )
        if response_received_on is not None:
            changes["response_received_on"] = response_received_on
        if response_summary:
            changes["response_summary"] = response_summary
    with transaction.atomic():
        apply_transition(
            instance=petition,
            to=to,
            by=by,
            reason=reason,
            transitions=PETITION_TRANSITIONS,
            changes=changes,
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
            )
    return petition
