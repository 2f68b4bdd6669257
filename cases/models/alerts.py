"""Urgent alerts: a person of concern at imminent risk, or put in an exchange pool.

An alert is raised on each case the person is on when the change is recorded
(``cases.services.alerts``), carries a checklist declared per kind (``CHECKLISTS``, the one
place), and is closed by an editor of the case with a reason. Its emails go through their own
outbox (``AlertEmail``), sent at once by the worker and swept every minute by beat
(docs/alerts.md).
"""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel, history


class AlertKind(models.TextChoices):
    IMMINENT_RISK = "imminent_risk", _("Imminent risk")
    EXCHANGE_POOL = "exchange_pool", _("Put in an exchange pool")


# What the team does when an alert is raised, per kind: (key, label). The keys are stored on
# the ticked items (AlertCheck.item), so a key is never renamed; a label may be.
CHECKLISTS: dict[str, tuple[tuple[str, str], ...]] = {
    AlertKind.IMMINENT_RISK: (
        ("contact_icrc", _("Contact the ICRC")),
        ("contact_unhcr", _("Contact UNHCR")),
        ("notify_lawmaker", _("Notify the lawmaker's office")),
        ("urgent_petition", _("File an urgent petition")),
    ),
    AlertKind.EXCHANGE_POOL: (
        ("confirm_wish_icrc", _("Confirm the person's wish with the ICRC")),
        ("contact_unhcr", _("Contact UNHCR")),
        ("notify_lawmaker", _("Notify the lawmaker's office")),
        ("urgent_petition", _("File an urgent petition")),
    ),
}


def checklist_label(kind: str, item: str) -> str:
    return str(dict(CHECKLISTS.get(kind, ())).get(item, item))


class Alert(TimestampedModel):
    """One urgent alert about one person on one case (a person on two cases: two alerts, each
    with the checklist of the team that works that case)."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="alerts"
    )
    prisoner = models.ForeignKey(
        "cases.Prisoner",
        verbose_name=_("person of concern"),
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised at"))
    reason = models.TextField(_("reason"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    close_reason = models.TextField(_("why closed"), blank=True)

    history = history()

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("urgent alert")
        verbose_name_plural = _("urgent alerts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AlertKind.values), name="alert_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | ~models.Q(close_reason=""),
                name="alert_closed_with_reason",
            ),
        ]
        indexes = [
            # The case page's banner (selectors.alerts.open_alerts): a case's open alerts.
            models.Index(
                fields=["case"], name="alert_open_idx", condition=models.Q(closed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AlertCheck(TimestampedModel):
    """One item of an alert's checklist: done or not, by whom and when (every tick and
    untick is a history row)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="checks")
    item = models.CharField(_("item"), max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    done = models.BooleanField(_("done"), default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    history = history()

    class Meta:
        ordering = ["alert", "position"]
        verbose_name = _("alert checklist item")
        verbose_name_plural = _("alert checklist items")
        constraints = [
            models.UniqueConstraint(fields=["alert", "item"], name="alert_check_once"),
            models.CheckConstraint(
                condition=(models.Q(done=True) & models.Q(done_at__isnull=False))
                | (models.Q(done=False) & models.Q(done_at__isnull=True)),
                name="alert_check_done_at_iff_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} ({'done' if self.done else 'open'})"

    @property
    def label(self) -> str:
        return checklist_label(self.alert.kind, self.item)


def new_alert_message_id() -> str:
    """Fixed when the row is made and reused on every attempt, like a reminder's."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<alert.{uuid.uuid4().hex}@{domain}>"


class AlertEmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class AlertEmail(TimestampedModel):
    """The alert outbox: one email we owe one person about one alert.

    A queue table, not a tracked domain model (like ``Reminder``): the sender claims rows with
    a conditional ``UPDATE`` on ``status`` and a lease, which is what makes "each alert email
    once" hold (cases/services/alerts.py, docs/alerts.md).
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="emails")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_emails"
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AlertEmailStatus.choices,
        default=AlertEmailStatus.PENDING,
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    cancelled_reason = models.CharField(_("why cancelled"), max_length=200, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=200, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, default=new_alert_message_id)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        verbose_name = _("alert email")
        verbose_name_plural = _("alert emails")
        constraints = [
            # One email per person per alert, however many ways they are a recipient.
            models.UniqueConstraint(fields=["alert", "recipient"], name="alert_email_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=AlertEmailStatus.values),
                name="alert_email_status_valid",
            ),
            models.CheckConstraint(
                condition=(models.Q(status="sent") & models.Q(sent_at__isnull=False))
                | (~models.Q(status="sent") & models.Q(sent_at__isnull=True)),
                name="alert_email_sent_at_iff_sent",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sending")
                | (models.Q(claim_token__isnull=False) & models.Q(lease_expires_at__isnull=False)),
                name="alert_email_sending_has_lease",
            ),
        ]
        indexes = [
            # The sender's "due now" query, every minute and on every alert: pending rows.
            models.Index(
                fields=["next_attempt_at"],
                name="alert_email_due_idx",
                condition=models.Q(status="pending"),
            ),
            # Rows whose worker died mid-send, taken back once their lease runs out.
            models.Index(
                fields=["lease_expires_at"],
                name="alert_email_lease_idx",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"alert email #{self.pk} → {self.recipient_id} ({self.status})"
