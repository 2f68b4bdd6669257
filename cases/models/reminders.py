"""The reminder outbox: one row per email we owe someone about a deadline.

A row is planned (``cases.services.reminders.planning.reminders_plan``) when a deadline is created,
moved, reassigned, completed or cancelled, and sent by the dispatcher once it is due. The row
is the whole truth about that email: when it is due, whether it went out, how often sending
failed and why, and the Message-ID it carries on every attempt (so that the one possible
duplicate, a resend after a worker died mid-send, collapses in mail clients).

This is a queue table, not a tracked domain model: the dispatcher claims rows with conditional
``UPDATE``s on ``status``, which is what makes "each reminder once" hold.
"""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel

# Sending is retried with exponential backoff (1, 2, 4, ... minutes, at most an hour between
# tries); after this many attempts the row is marked failed and the coordinators are told.
MAX_ATTEMPTS = 8


def new_message_id() -> str:
    """A Message-ID fixed when the row is planned and reused on every attempt."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<reminder.{uuid.uuid4().hex}@{domain}>"


class ReminderKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder before the deadline")
    OVERDUE = "overdue", _("Overdue notice")
    FAILURE_REPORT = "failure_report", _("Report of an undelivered reminder")


class FailureCause(models.TextChoices):
    """Why the last attempt failed, which decides what happens next."""

    NONE = "", _("None")
    # 5xx for this recipient or message: retrying cannot help, the row fails at once.
    REFUSED = "refused", _("Refused by the mail server")
    # 4xx: the server answered but not now; retried with backoff.
    DEFERRED = "deferred", _("Deferred by the mail server")
    # No answer (connection refused, timeout, dropped): retried with backoff, and after the
    # last attempt retried again by itself as soon as the server answers.
    UNREACHABLE = "unreachable", _("Mail server unreachable")
    OTHER = "other", _("Other error")


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Reminder(TimestampedModel):
    """One email about one deadline, for one recipient, at one reminder point.

    The reminder point ``point_on`` is the day the email is about: for a reminder, the due day
    minus its lead days (``days_before``); for an overdue notice, the due day it reports; for a
    failure report, the point of the reminder that could not be delivered. Moving a deadline
    therefore makes new points (new rows) and leaves the old rows as a record.
    """

    deadline = models.ForeignKey(
        "cases.Deadline",
        verbose_name=_("deadline"),
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=ReminderKind.choices, default=ReminderKind.REMINDER
    )
    point_on = models.DateField(_("reminder point"))
    days_before = models.PositiveSmallIntegerField(_("days before"), null=True, blank=True)
    about = models.ForeignKey(
        "self",
        verbose_name=_("undelivered reminder"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="failure_reports",
        help_text=_("For a failure report: the reminder that could not be delivered."),
    )
    digest = models.BooleanField(
        _("in the daily digest"),
        default=False,
        help_text=_("The recipient gets one daily email instead of one per reminder."),
    )
    scheduled_for = models.DateTimeField(_("scheduled for"))
    # Cleared (NULL) once the row is finished (sent, cancelled, failed): "due" means nothing
    # for it any more, and a finished row with a past due time made PostgreSQL expect half of
    # a big outbox to be due, planning the every-minute sweep for a flood (issue 14). The time
    # it was due for stays in ``scheduled_for``.
    next_attempt_at = models.DateTimeField(
        _("next attempt at"),
        null=True,
        blank=True,
        help_text=_("When the dispatcher may take the row: the scheduled time, or a retry."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    failure_cause = models.CharField(
        _("failure cause"), max_length=12, choices=FailureCause.choices, blank=True, default=""
    )
    cancelled_reason = models.CharField(_("why cancelled"), max_length=200, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    # The worker (Celery node name, or "cron@host") that holds the claim: a worker starting
    # again takes back at once what it held when it stopped (delivery.reminders_recover_worker).
    claimed_by = models.CharField(_("claimed by"), max_length=200, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, default=new_message_id)

    class Meta:
        ordering = ["scheduled_for", "id"]
        verbose_name = _("reminder email")
        verbose_name_plural = _("reminder emails")
        constraints = [
            # One email per deadline, recipient and reminder point: planning twice, or two
            # planners at once, cannot owe anyone the same reminder twice.
            models.UniqueConstraint(
                fields=["deadline", "recipient", "kind", "point_on"],
                condition=models.Q(kind__in=["reminder", "overdue"]),
                name="reminder_one_per_point",
            ),
            models.UniqueConstraint(
                fields=["about", "recipient"],
                condition=models.Q(kind="failure_report"),
                name="reminder_one_failure_report_each",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReminderStatus.values), name="reminder_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ReminderKind.values), name="reminder_kind_valid"
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="reminder") & models.Q(days_before__isnull=False))
                | (~models.Q(kind="reminder") & models.Q(days_before__isnull=True)),
                name="reminder_days_before_iff_reminder",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="failure_report") & models.Q(about__isnull=False))
                | (~models.Q(kind="failure_report") & models.Q(about__isnull=True)),
                name="reminder_about_iff_failure_report",
            ),
            models.CheckConstraint(
                condition=(models.Q(status="sent") & models.Q(sent_at__isnull=False))
                | (~models.Q(status="sent") & models.Q(sent_at__isnull=True)),
                name="reminder_sent_at_iff_sent",
            ),
            # A pending row always says when it is due (finished rows have no due time).
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(next_attempt_at__isnull=False),
                name="reminder_pending_has_due_time",
            ),
            # A row being sent always belongs to one claim, which runs out at a known time.
            models.CheckConstraint(
                condition=~models.Q(status="sending")
                | (models.Q(claim_token__isnull=False) & models.Q(lease_expires_at__isnull=False)),
                name="reminder_sending_has_lease",
            ),
        ]
        indexes = [
            # The dispatcher's "due now" query (cases.selectors.reminders.reminders_due, run
            # every minute): pending rows by next_attempt_at. Partial, so a million rows
            # planned for later cost a range scan that finds nothing, and finished rows are not
            # in it at all. The selector's WHERE (status = 'pending' AND next_attempt_at <= now)
            # contains the predicate, so the planner can use it (bench/reminders_sweep.py).
            models.Index(
                fields=["next_attempt_at"],
                name="reminder_due_idx",
                condition=models.Q(status="pending"),
            ),
            # Recovery of rows whose worker died mid-send
            # (cases.selectors.reminders.reminders_with_expired_lease): only "sending" rows.
            models.Index(
                fields=["lease_expires_at"],
                name="reminder_lease_idx",
                condition=models.Q(status="sending"),
            ),
            # Rows that gave up because the mail server did not answer, retried by themselves
            # once it answers again (delivery._revive_unreachable, every round): usually none.
            models.Index(
                fields=["updated_at"],
                name="reminder_unreachable_idx",
                condition=models.Q(status="failed", failure_cause="unreachable"),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} #{self.pk} → {self.recipient} ({self.get_status_display()})"
        )


class ReminderDelivery(models.Model):
    """The compact record of a reminder email that went out, kept after its outbox row is pruned.

    Sent rows older than ``REMINDER_LOG_AFTER_DAYS`` leave the outbox (the hot path of planning
    and dispatch) for this log: who got which email about which deadline, when, under which
    Message-ID. Planning reads it too, so a pruned point is never sent again. Append-only, not
    a domain model: no history of its own (the outbox row it replaces had none either). Rows
    about a closed deadline go after ``REMINDER_KEEP_DAYS`` (docs/reminders.md, "What is kept").
    """

    deadline = models.ForeignKey(
        "cases.Deadline",
        verbose_name=_("deadline"),
        on_delete=models.CASCADE,
        related_name="reminder_deliveries",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="reminder_deliveries",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    point_on = models.DateField(_("reminder point"))
    sent_at = models.DateTimeField(_("sent at"))
    message_id = models.CharField(_("Message-ID"), max_length=255)

    class Meta:
        ordering = ["sent_at", "id"]
        verbose_name = _("reminder delivery")
        verbose_name_plural = _("reminder deliveries")
        constraints = [
            # The same uniqueness as the outbox: one email per deadline, recipient and point.
            models.UniqueConstraint(
                fields=["deadline", "recipient", "kind", "point_on"],
                condition=models.Q(kind__in=["reminder", "overdue"]),
                name="reminder_delivery_one_per_point",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message_id} ({self.sent_at:%Y-%m-%d %H:%M})"
