"""Personal access tokens for the API, and the answers kept for retried creates.

A token is shown once, when it is made; only its SHA-256 is stored (a token is 256 random
bits, so a fast hash is enough: there is nothing to guess). It belongs to one user, acts with
exactly that user's rights (cases/access.py decides, as for the web), and may be limited to
reading. Revoking it, the user's deactivation or a new password end it at once.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .chain import ChainedRecord


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, to tell tokens apart in lists and logs.
    prefix = models.CharField(_("starts with"), max_length=16)
    # SHA-256 hex of the whole token: the only way to find it (the token itself is not kept).
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("why revoked"), max_length=200, blank=True)
    # Written by the API on each use, in the same UPDATE that counts requests for the rate
    # limit (cases/api/throttling.py); left out of the history, which records what was
    # decided about the token (made, revoked), not each use.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    history = HistoricalRecords(
        history_change_reason_field=models.TextField(null=True),
        bases=[ChainedRecord],
        excluded_fields=["last_used_at", "window_started_at", "window_count"],
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The settings page: one user's tokens.
            models.Index(fields=["user", "revoked_at"], name="apitoken_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.user.is_active

    @property
    def may_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE


class ApiIdempotencyKey(models.Model):
    """The answer to a successful POST made with an ``Idempotency-Key`` header: a retry with
    the same key and the same request, by the same user, gets this answer again instead of a
    second row.

    Written in the transaction of the create itself, so either both are kept or neither.
    Old keys are of no use after a day (``IDEMPOTENCY_KEY_HOURS``); they are dropped as new
    ones are written.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
