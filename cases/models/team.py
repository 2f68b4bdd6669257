"""An organization's team: invitations to join it, and the sessions its members are signed in
with (so that a member can see theirs and a coordinator can end a departed member's)."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import TimestampedModel
from .chain import ChainedRecord
from .organizations import Membership


def new_nonce() -> str:
    return secrets.token_hex(16)


class Invitation(TimestampedModel):
    """An invitation by email to join an organization with a role.

    The link in the email is not stored: it is an HMAC of the invitation's id, email and
    ``nonce`` under SECRET_KEY (``cases.services.team.invitation_token``). Re-sending or
    revoking changes the nonce, so an earlier link stops working at once; accepting closes it.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Waiting")
        EXPIRED = "expired", _("Expired")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    organization = models.ForeignKey(
        "cases.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("email"))
    role = models.CharField(
        _("role"), max_length=20, choices=Membership.Role.choices, default=Membership.Role.VIEWER
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    # The outbox: the worker sends the email when emailed_at is empty or older than the
    # request (cases.tasks.send_invitation), so a message sent twice is never needed.
    email_requested_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    # The nonce stays out of history: with SECRET_KEY it would make a working link.
    history = HistoricalRecords(
        history_change_reason_field=models.TextField(null=True),
        bases=[ChainedRecord],
        excluded_fields=["nonce"],
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            # One open invitation per address and organization: inviting again means re-sending.
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["viewer", "editor", "coordinator"]),
                name="invitation_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.OPEN

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)


class UserSession(models.Model):
    """One signed-in session of a user, as the user sees it under *My settings*.

    ``sid`` is a random id kept in the session itself; ``session_key`` follows the session's
    key (which changes at the second sign-in step), so the session can be ended from outside.
    No address is kept: the people using this product may be watched, and the list is for
    recognising one's own devices, which the browser and the times do.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    sid = models.CharField(max_length=32, unique=True)
    session_key = models.CharField(max_length=40)
    user_agent = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [
            # "My sessions" and ending a user's sessions read the open ones of one user.
            models.Index(
                fields=["user", "-last_seen_at"],
                name="usersession_open_idx",
                condition=models.Q(ended_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.started_at:%Y-%m-%d %H:%M}"
