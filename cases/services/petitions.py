import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    PETITION_TRANSITIONS,
    Authority,
    Case,
    LegalBasis,
    Organization,
    Petition,
    PetitionRequest,
    PetitionStatus,
)

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
    kind: str
    text: str = ""
    outcome: str = PetitionRequest.Outcome.PENDING


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
    **fields,
) -> Petition:
    """Log a petition with its requests. A petition logged as filed needs its filing date."""
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
) -> Petition:
    """Move a petition along (filed → acknowledged → granted ...), with the reason on record.

    Filing needs a filing date (today if none is given). A response date and summary may come
    with any answer from the authority.
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
    return apply_transition(
        instance=petition,
        to=to,
        by=by,
        reason=reason,
        transitions=PETITION_TRANSITIONS,
        changes=changes,
    )
