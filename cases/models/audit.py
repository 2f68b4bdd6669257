from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .chain import ChainedQuerySet, ChainedRecord


class AppendOnlyQuerySet(ChainedQuerySet):
    def update(self, **kwargs):
        raise PermissionError("The access log is append-only.")

    def delete(self):
        raise PermissionError("The access log is append-only.")


class AccessLog(ChainedRecord):
    """Who looked at what: viewing a case, revealing an identity, downloading, exporting.

    Append-only: rows are written by ``cases.services.audit.access_log_record`` and never
    changed or deleted by the application. Rows are hash-chained (``ChainedRecord``).
    """

    class Action(models.TextChoices):
        VIEW_CASE = "view_case", _("Viewed the case")
        REVEAL_IDENTITY = "reveal_identity", _("Revealed an identity")
        DOWNLOAD_DOCUMENT = "download_document", _("Downloaded a document")
        EXPORT = "export", _("Exported data")

    at = models.DateTimeField(_("when"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="access_log",
    )
    # A reveal of a person's identity is on the record of the person's owner, whoever reveals
    # and through whichever case (the person's access log, for the owner's coordinators).
    prisoner = models.ForeignKey(
        "cases.Prisoner",
        verbose_name=_("person of concern"),
        null=True,
        on_delete=models.PROTECT,
        related_name="access_log",
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    target = models.CharField(
        _("what"), max_length=200, blank=True, help_text="A code or id, never a legal name."
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            # The case's access log page (lead coordinators) reads it newest first.
            models.Index(fields=["case", "-at"], name="accesslog_case_at_idx"),
            # The person's access log (the owner's coordinators) reads it newest first.
            models.Index(fields=["prisoner", "-at"], name="accesslog_prisoner_at_idx"),
            # Access review reads one user's entries over a period (their usual hours, bursts:
            # cases/selectors/access_review.py).
            models.Index(fields=["user", "at"], name="accesslog_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log is append-only.")


class PasswordResetRequest(models.Model):
    """A request for a password-reset email, kept a day to limit how many one address or one
    client may ask for (cases.services.accounts). The address is kept as a keyed digest only:
    the table tells nobody which addresses were tried."""

    at = models.DateTimeField(auto_now_add=True)
    email_digest = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True)
    sent = models.BooleanField(default=False, help_text="Within the limits: an email was queued.")

    class Meta:
        indexes = [
            # The limits count recent requests per address and per client.
            models.Index(fields=["email_digest", "at"], name="pwreset_email_at_idx"),
            models.Index(fields=["ip", "at"], name="pwreset_ip_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.ip or '-'}"


class AuditChainHead(models.Model):
    """The last verified head of each audit chain, kept outside the chained tables by the
    periodic check (cases.services.audit_chain.audit_check): a chain rewritten or cut back
    after a check no longer contains the head recorded then. The check also writes each head
    to the log, which a log collector keeps beyond the database's reach."""

    table = models.CharField(max_length=100, primary_key=True)
    line = models.CharField(max_length=300)  # as `verify_audit --heads` prints it
    recorded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.line


class CaseViewSession(models.Model):
    """Repeated views of one case by one user within one signed-in session, counted.

    The access log is a hash chain that is only ever appended to, so it cannot hold a counter.
    The first view of a case in a session writes one chained ``AccessLog`` row (``first``);
    this unchained row beside it counts that view and the ones after it and keeps the first
    and last time. Reveals, downloads and exports are not counted here: each stays its own
    chained row. What the chain vouches for is therefore "this user opened this case in this
    session at this time"; the count and the last time are not tamper-evident (see
    docs/security.md, "Access review").
    """

    first = models.OneToOneField(
        AccessLog, on_delete=models.PROTECT, related_name="view_session", verbose_name=_("entry")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    # The random id of the session (cases.models.UserSession.sid), never the session key.
    session_sid = models.CharField(max_length=32)
    first_at = models.DateTimeField(_("first view"))
    last_at = models.DateTimeField(_("last view"))
    count = models.PositiveIntegerField(_("views"), default=1)

    class Meta:
        verbose_name = _("case views in a session")
        verbose_name_plural = _("case views in a session")
        constraints = [
            models.UniqueConstraint(
                fields=["session_sid", "case", "user"], name="one_view_counter_per_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.case_id} x{self.count}"


class AccessReviewDigest(models.Model):
    """The weekly access-review email of one organization for one week: the row is claimed
    before the email goes out, so a task that runs twice sends it once."""

    organization = models.ForeignKey(
        "cases.Organization", on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    flags = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "week_start"], name="one_access_review_per_week"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.week_start}"
