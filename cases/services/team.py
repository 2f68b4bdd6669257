"""An organization's team, run by its coordinators: invitations, roles, deactivation, sessions.

Every change is on record: invitations and memberships are tracked models (history with who
and why); a deactivation deletes the membership with its reason on the history row and moves
the member's open deadlines with that reason (deadline history). User accounts are never
deleted, so everything they did stays attributed to them.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from cases.models import Deadline, DeadlineStatus, Invitation, Membership, Organization, UserSession
from cases.models.team import new_nonce

from .deadlines import deadline_update
from .transitions import save_tracked

INVITATION_VALID_FOR = dt.timedelta(days=7)
_TOKEN_SALT = "cases.invitation"  # noqa: S105 (a salt, not a secret)


# --- Invitations ------------------------------------------------------------------------------
def invitation_token(invitation: Invitation) -> str:
    """The secret part of the invitation link: nothing in the database alone can make it."""
    value = f"{invitation.pk}:{invitation.email.lower()}:{invitation.nonce}"
    return salted_hmac(_TOKEN_SALT, value, algorithm="sha256").hexdigest()[:48]


def invitation_url(invitation: Invitation) -> str:
    path = reverse(
        "cases:invitation-accept",
        kwargs={"pk": invitation.pk, "token": invitation_token(invitation)},
    )
    return urljoin(settings.SITE_URL, path)


def invitation_get_open(*, pk: int, token: str) -> Invitation | None:
    """The invitation behind a link, if the link is the current one and still usable."""
    invitation = Invitation.objects.select_related("organization").filter(pk=pk).first()
    if invitation is None or not constant_time_compare(token, invitation_token(invitation)):
        return None
    if invitation.state != Invitation.State.OPEN:
        return None
    return invitation


def _request_email(invitation: Invitation) -> None:
    """Ask the worker to send the invitation once this transaction has committed."""
    from cases.tasks import send_invitation

    invitation_id = invitation.pk
    transaction.on_commit(lambda: send_invitation.delay(invitation_id))


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": _("Give the colleague's email address.")})
    return email


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, by: AbstractBaseUser
) -> Invitation:
    """Invite someone by email to join ``organization`` with ``role``."""
    email = _clean_email(email)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": _("Someone with this email is already on the team.")})
    now = timezone.now()
    earlier = (
        Invitation.objects.select_for_update()
        .filter(organization=organization, email__iexact=email)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if earlier is not None:
        if earlier.expires_at > now:
            raise ValidationError(
                {"email": _("This address is already invited: re-send that invitation instead.")}
            )
        earlier.revoked_at = now
        save_tracked(earlier, by=by, reason="Expired; replaced by a new invitation")
    invitation = Invitation(
        organization=organization,
        email=email,
        role=role,
        invited_by=by,
        language=translation.get_language() or "",
        expires_at=now + INVITATION_VALID_FOR,
        email_requested_at=now,
    )
    if invitation.language not in dict(settings.LANGUAGES):
        invitation.language = ""
    invitation.full_clean()
    save_tracked(invitation, by=by, reason=f"Invited as {role}")
    _request_email(invitation)
    return invitation


def _lock_open(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at or locked.revoked_at:
        raise ValidationError(_("This invitation was already accepted or revoked."))
    return locked


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: AbstractBaseUser) -> Invitation:
    """A new link (the old one stops working), valid for another week, emailed again."""
    invitation = _lock_open(invitation)
    now = timezone.now()
    invitation.nonce = new_nonce()
    invitation.expires_at = now + INVITATION_VALID_FOR
    invitation.email_requested_at = now
    save_tracked(invitation, by=by, reason="Invitation sent again (new link)")
    _request_email(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: AbstractBaseUser) -> Invitation:
    invitation = _lock_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.nonce = new_nonce()
    save_tracked(invitation, by=by, reason="Invitation revoked")
    return invitation


def _join(invitation: Invitation, user: AbstractBaseUser) -> Membership:
    membership = Membership(user=user, organization=invitation.organization, role=invitation.role)
    membership.full_clean()
    save_tracked(
        membership,
        by=user,
        reason=f"Joined by invitation from {invitation.invited_by.get_username()}",
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.nonce = new_nonce()  # single use
    save_tracked(invitation, by=user, reason="Invitation accepted")
    return membership


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, username: str, password: str, full_name: str = ""
) -> AbstractBaseUser:
    """Create the invitee's account (with the invited email) and their membership."""
    invitation = _lock_open(invitation)
    if invitation.expires_at <= timezone.now():
        raise ValidationError(_("This invitation has expired: ask for a new one."))
    user_model = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": _("Choose a user name.")})
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken: choose another.")})
    if user_model.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(
            _("An account with this email exists: sign in with it to accept the invitation.")
        )
    first, _sep, last = (full_name or "").strip().partition(" ")
    user = user_model(username=username, email=invitation.email, first_name=first, last_name=last)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    _join(invitation, user)
    return user


@transaction.atomic
def invitation_accept_as(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """An existing account joins (it must be the invited address's account)."""
    invitation = _lock_open(invitation)
    if invitation.expires_at <= timezone.now():
        raise ValidationError(_("This invitation has expired: ask for a new one."))
    if (user.email or "").lower() != invitation.email.lower():
        raise ValidationError(_("This invitation was sent to another email address."))
    if Membership.objects.filter(user=user, organization=invitation.organization).exists():
        raise ValidationError(_("You are already on this team."))
    return _join(invitation, user)


def invitation_send(*, invitation_id: int) -> bool:
    """Send the invitation email if one is due (the worker's part). Safe to run twice: the row
    is claimed under a lock and ``emailed_at`` says whether this request was already met."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(skip_locked=True)
            .select_related("organization", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.state != Invitation.State.OPEN:
            return False
        requested = invitation.email_requested_at
        if requested is None or (invitation.emailed_at and invitation.emailed_at >= requested):
            return False
        _invitation_email(invitation).send()
        invitation.emailed_at = timezone.now()
        save_tracked(invitation, by=invitation.invited_by, reason="Invitation email sent")
    return True


def _invitation_email(invitation: Invitation) -> EmailMultiAlternatives:
    language = invitation.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(dt.UTC):
        context = {
            "organization": invitation.organization.name,
            "inviter": invitation.invited_by.get_full_name() or invitation.invited_by.username,
            "role": invitation.get_role_display(),
            "url": invitation_url(invitation),
            "expires": invitation.expires_at,
            "coordinator": invitation.role == Membership.Role.COORDINATOR,
            "LANGUAGE_CODE": translation.get_language(),
        }
        subject = " ".join(render_to_string("emails/invitation_subject.txt", context).split())
        text = render_to_string("emails/invitation.txt", context)
        html = render_to_string("emails/invitation.html", context)
    message = EmailMultiAlternatives(subject, text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    return message


# --- Roles and deactivation -------------------------------------------------------------------
def _coordinators_left(organization: Organization, *, without: Membership) -> int:
    return (
        Membership.objects.filter(organization=organization, role=Membership.Role.COORDINATOR)
        .exclude(pk=without.pk)
        .filter(user__is_active=True)
        .count()
    )


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: the reason is kept on record.")})
    return reason


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, by: AbstractBaseUser, reason: str = ""
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role == membership.role:
        return membership
    if role not in Membership.Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    # Lock the organization's coordinators so two coordinators demoting each other at once
    # cannot leave none.
    list(
        Membership.objects.select_for_update().filter(
            organization_id=membership.organization_id, role=Membership.Role.COORDINATOR
        )
    )
    if membership.role == Membership.Role.COORDINATOR and not _coordinators_left(
        membership.organization, without=membership
    ):
        raise ValidationError(
            {"role": _("This is the organization's last coordinator: make someone else one first.")}
        )
    old = membership.get_role_display()
    membership.role = role
    membership.full_clean()
    text = f"Role changed from {old} to {membership.get_role_display()}"
    save_tracked(membership, by=by, reason=f"{text}: {reason.strip()}" if reason.strip() else text)
    return membership


def open_deadlines_of(membership: Membership) -> QuerySet[Deadline]:
    """The member's open deadlines on cases the organization leads or is a partner on."""
    org_id = membership.organization_id
    return (
        Deadline.objects.filter(
            assignees=membership.user_id,
            status__in=[DeadlineStatus.OPEN, DeadlineStatus.MISSED],
        )
        .filter(Q(case__lead_organization_id=org_id) | Q(case__shares__organization_id=org_id))
        .select_related("case")
        .distinct()
        .order_by("due_on", "pk")
    )


@dataclass
class Deactivation:
    membership_id: int
    deadlines_moved: int
    account_deactivated: bool
    sessions_ended: int


@transaction.atomic
def member_deactivate(
    *,
    membership: Membership,
    by: AbstractBaseUser,
    reason: str,
    reassign_to: AbstractBaseUser | None = None,
) -> Deactivation:
    """Take a member off the team.

    Their open deadlines here go to ``reassign_to`` (or to nobody: the case's coordinators are
    then reminded), with the reason on each deadline's history. The membership is deleted with
    the reason on its history row. An account left without any organization is deactivated and
    cannot sign in; their sessions end either way. Nothing they did is deleted.
    """
    reason = _clean_reason(reason)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "organization")
        .get(pk=membership.pk)
    )
    user, organization = membership.user, membership.organization
    if user.pk == by.pk:
        raise ValidationError(_("You cannot deactivate yourself: ask another coordinator."))
    list(
        Membership.objects.select_for_update().filter(
            organization=organization, role=Membership.Role.COORDINATOR
        )
    )
    if membership.role == Membership.Role.COORDINATOR and not _coordinators_left(
        organization, without=membership
    ):
        raise ValidationError(_("This is the organization's last coordinator."))
    writers = Membership.objects.filter(
        organization=organization,
        role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
        user__is_active=True,
    ).exclude(user=user)
    if reassign_to is not None and not writers.filter(user=reassign_to).exists():
        raise ValidationError(
            {"reassign_to": _("Choose an active editor or coordinator of this organization.")}
        )
    moved = 0
    who = user.get_username()
    ids = list(open_deadlines_of(membership).values_list("pk", flat=True))
    for deadline in Deadline.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
        assignees = [u for u in deadline.assignees.all() if u.pk != user.pk]
        if reassign_to is not None and reassign_to not in assignees:
            assignees.append(reassign_to)
        if reassign_to is not None:
            text = f"{who} left {organization}; moved to {reassign_to.get_username()}: {reason}"
        else:
            text = f"{who} left {organization}; unassigned: {reason}"
        deadline_update(deadline=deadline, by=by, reason=text, assignees=assignees)
        moved += 1
    # Accounts have no history table of their own: the membership's last row says whether
    # the account was closed with it.
    account_deactivated = user.is_active and not (
        Membership.objects.filter(user=user).exclude(pk=membership.pk).exists()
    )
    membership._history_user = by
    membership._change_reason = f"Deactivated: {reason}" + (
        " (account deactivated: no other organization)" if account_deactivated else ""
    )
    membership.delete()
    if account_deactivated:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = sessions_end(user=user)
    return Deactivation(membership.pk or 0, moved, account_deactivated, ended)


# --- Sessions ---------------------------------------------------------------------------------
SID_SESSION_KEY = "_cases_sid"
_SYNCED_SESSION_KEY = "_cases_sid_sync"
_SEEN_EVERY = dt.timedelta(minutes=5)


def session_track(request) -> None:
    """Keep the user's row for this session current (called on each signed-in request).

    Writes only when the session is new to the list, its key changed (the second sign-in step
    cycles it), or five minutes passed since it was last marked seen.
    """
    session = request.session
    if session.session_key is None:
        session.save()
    now = timezone.now()
    sid = session.get(SID_SESSION_KEY)
    synced = session.get(_SYNCED_SESSION_KEY) or [None, 0]
    fresh = now.timestamp() - synced[1] < _SEEN_EVERY.total_seconds()
    if sid and synced[0] == session.session_key and fresh:
        return
    if not sid:
        sid = secrets.token_hex(16)
        session[SID_SESSION_KEY] = sid
        UserSession.objects.create(
            user=request.user,
            sid=sid,
            session_key=session.session_key,
            user_agent=request.headers.get("User-Agent", "")[:200],
        )
    else:
        UserSession.objects.filter(sid=sid, ended_at__isnull=True).update(
            session_key=session.session_key, last_seen_at=now
        )
    session[_SYNCED_SESSION_KEY] = [session.session_key, now.timestamp()]


def on_signed_in(sender, request, user, **kwargs) -> None:
    if getattr(request, "session", None) is not None and getattr(request, "user", None):
        session_track(request)


def on_signed_out(sender, request, user, **kwargs) -> None:
    """Signing out ends this session's entry on the list (the session itself is flushed)."""
    sid = getattr(request, "session", {}).get(SID_SESSION_KEY)
    if sid:
        UserSession.objects.filter(sid=sid, ended_at__isnull=True).update(ended_at=timezone.now())


def session_sid(request) -> str:
    return request.session.get(SID_SESSION_KEY, "")


def sessions_active(user: AbstractBaseUser) -> QuerySet[UserSession]:
    """The user's sessions that may still be in use (not ended, within the session limits)."""
    now = timezone.now()
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE) + _SEEN_EVERY
    absolute = dt.timedelta(seconds=getattr(settings, "SESSION_ABSOLUTE_AGE", 12 * 3600))
    return UserSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        last_seen_at__gt=now - idle,
        started_at__gt=now - absolute,
    ).order_by("-last_seen_at")


def sessions_end(*, user: AbstractBaseUser, keep_sid: str = "") -> int:
    """End the user's sessions (all, or all but ``keep_sid``): they are signed out at once."""
    rows = UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(sid=keep_sid or "-")
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    return rows.update(ended_at=timezone.now())


SESSION_LIST_KEPT = dt.timedelta(days=30)


def sessions_purge(*, now: dt.datetime | None = None) -> int:
    """Forget session-list rows (not history: the list of where one is signed in) a month
    after they ended or were last seen."""
    cutoff = (now or timezone.now()) - SESSION_LIST_KEPT
    stale = UserSession.objects.filter(
        Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, last_seen_at__lt=cutoff)
    )
    return stale.delete()[0]


def sessions_forget(*, user_id: int, keys: tuple[str, ...]) -> None:
    """Drop values kept in every open session of the user (the reader's preferences, the
    two-factor state), so that a change made elsewhere (the admin, another device) shows in
    those sessions at their next request instead of within the minute they are kept for."""
    from django.contrib.sessions.backends.db import SessionStore

    session_keys = UserSession.objects.filter(user_id=user_id, ended_at__isnull=True).values_list(
        "session_key", flat=True
    )
    for session_key in session_keys:
        store = SessionStore(session_key=session_key)
        if any(key in store for key in keys):
            for key in keys:
                store.pop(key, None)
            store.save()


def on_preferences_changed(sender, instance, **kwargs) -> None:
    """post_save/post_delete of a profile: its sessions read it again."""
    from cases.middleware import PREFERENCES_SESSION_KEY

    sessions_forget(user_id=instance.user_id, keys=(PREFERENCES_SESSION_KEY,))


def on_two_factor_changed(sender, instance, **kwargs) -> None:
    """post_save/post_delete of an authenticator or a membership: the user's sessions check
    again whether the second step is needed, and whether the user runs a team (the menu)."""
    from cases.context_processors import RUNS_A_TEAM_SESSION_KEY
    from cases.security import TWO_FACTOR_STATE_SESSION_KEY

    sessions_forget(
        user_id=instance.user_id, keys=(TWO_FACTOR_STATE_SESSION_KEY, RUNS_A_TEAM_SESSION_KEY)
    )
