"""Requests to put a person on a case led by another organization: asked by someone who may
edit the case, decided by the person's owner (its coordinators)."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.access import Level
from cases.models import Case, PersonLinkRequest, Prisoner

from .search import cases_refresh_search
from .transitions import save_tracked


@transaction.atomic
def person_link_request(
    *, prisoner: Prisoner, case: Case, by: AbstractBaseUser, reason: str
) -> PersonLinkRequest:
    """Ask the person's owner to put them on ``case``. Asking again while a request is open
    returns that request. The owner's coordinators are told by email (after commit)."""
    if not access.cases_to_request_link(by, prisoner).filter(pk=case.pk).exists():
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the person should be on this case.")})
    pending = PersonLinkRequest.objects.filter(
        prisoner=prisoner, case=case, status=PersonLinkRequest.Status.PENDING
    ).first()
    if pending is not None:
        return pending
    request = PersonLinkRequest(prisoner=prisoner, case=case, requested_by=by, reason=reason)
    request.full_clean()
    save_tracked(request, by=by, reason="Asked")
    from cases.tasks import notify_link_request

    notify_link_request.delay_on_commit(request.pk)
    return request


@transaction.atomic
def person_link_decide(
    *, link_request: PersonLinkRequest, by: AbstractBaseUser, accept: bool
) -> PersonLinkRequest:
    """The owner's coordinator accepts (the person goes on the case, on record) or declines."""
    link_request = PersonLinkRequest.objects.select_for_update().get(pk=link_request.pk)
    prisoner, case = link_request.prisoner, link_request.case
    if access.person_level(by, prisoner) < Level.MANAGE:
        raise PermissionDenied
    if link_request.status != PersonLinkRequest.Status.PENDING:
        raise ValidationError(_("This request was already decided."))
    if accept and access.case_level(link_request.requested_by, case) < Level.EDIT:
        raise ValidationError(
            _("Whoever asked may no longer edit that case: the request can only be declined.")
        )
    link_request.status = (
        PersonLinkRequest.Status.ACCEPTED if accept else PersonLinkRequest.Status.DECLINED
    )
    link_request.decided_by = by
    link_request.decided_at = timezone.now()
    save_tracked(link_request, by=by, reason="Accepted" if accept else "Declined")
    if accept:
        case._history_user = by
        case._change_reason = (
            f"{prisoner.code} added to the case at the request of "
            f"{link_request.requested_by.get_username()}"
        )
        case.prisoners.add(prisoner)
        cases_refresh_search(case_ids=[case.pk])
    return link_request


def person_link_request_notify(*, link_request_id: int) -> int:
    """Email the owner's coordinators about an open request (codes only, never names); each
    in their own language. Runs in the worker. Returns how many emails went out (none for a
    request deleted or decided meanwhile)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    from cases.models import Membership

    from .profiles import profile_get

    link_request = PersonLinkRequest.objects.filter(pk=link_request_id).first()
    if link_request is None or link_request.status != PersonLinkRequest.Status.PENDING:
        return 0
    prisoner, case = link_request.prisoner, link_request.case
    requester = link_request.requested_by
    their_orgs = ", ".join(
        str(m.organization) for m in requester.memberships.select_related("organization")
    )
    coordinators = (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__organization_id=prisoner.owner_id,
            memberships__role=Membership.Role.COORDINATOR,
        )
        .exclude(email="")
    )
    context = {
        "requester": requester.get_full_name() or requester.get_username(),
        "organization": their_orgs,
        "code": prisoner.code,
        "reference": case.reference,
        "reason": link_request.reason,
        "person_url": settings.SITE_URL + reverse("cases:prisoner-detail", args=[prisoner.pk]),
    }
    sent = 0
    for user in coordinators.distinct():
        with translation.override(profile_get(user).language or settings.LANGUAGE_CODE):
            subject = render_to_string("emails/link_request_subject.txt", context).strip()
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string("emails/link_request.txt", context),
                to=[user.email],
            )
            message.attach_alternative(
                render_to_string("emails/link_request.html", context), "text/html"
            )
            sent += message.send()
    return sent
