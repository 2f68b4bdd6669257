import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import StatusTrackedModel, TimestampedModel, history_with_m2m
from .dates import DatePrecision, format_fuzzy_date


class DeadlineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Missed")


_D = DeadlineStatus
# A missed deadline can still be done late; a closed one can be reopened (with a reason).
DEADLINE_TRANSITIONS: dict[str, frozenset[str]] = {
    _D.OPEN: frozenset({_D.DONE, _D.CANCELLED, _D.MISSED}),
    _D.MISSED: frozenset({_D.DONE, _D.CANCELLED, _D.OPEN}),
    _D.DONE: frozenset({_D.OPEN}),
    _D.CANCELLED: frozenset({_D.OPEN}),
}


class DeadlineKind(models.TextChoices):
    FOLLOW_UP_VISIT = "follow_up_visit", _("Follow-up visit")
    REPLY_DUE = "reply_due", _("Reply due")
    EXCHANGE_WINDOW = "exchange_window", _("Exchange window")
    HEARING = "hearing", _("Hearing")
    REPORT_DUE = "report_due", _("Report due")
    OTHER = "other", _("Other")


# Days before the deadline when reminders go out (0 = that morning), per kind. Each deadline
# keeps its own copy, which people may edit.
DEFAULT_REMINDER_DAYS: dict[str, list[int]] = {
    DeadlineKind.FOLLOW_UP_VISIT: [3, 1, 0],
    DeadlineKind.REPLY_DUE: [7, 1],
    DeadlineKind.EXCHANGE_WINDOW: [30, 14, 7, 1],
    DeadlineKind.HEARING: [7, 1, 0],
    DeadlineKind.REPORT_DUE: [7, 1],
    DeadlineKind.OTHER: [3, 1],
}
MAX_REMINDER_DAYS = 365


def format_due(due_on: dt.date, precision: str, due_time: dt.time | None, due_timezone: str) -> str:
    """When a deadline is due, as every page shows it ("by end of April 2026", "3 May 2026
    14:00 (Europe/Kyiv)"): ``Deadline.due_display``, also for rows read as values."""
    text = format_fuzzy_date(due_on, precision, by=True)
    if due_time:
        text = f"{text} {due_time:%H:%M}"
        if due_timezone:
            text = f"{text} ({due_timezone})"
    return text


class Deadline(StatusTrackedModel, TimestampedModel):
    """Something that must happen by a date: a visit, a reply, an exchange window closing.

    ``due_on`` is the last day the deadline covers: for "by April 2026" (month precision) it is
    30 April 2026, and it is shown as "by end of April 2026", never as a day.
    """

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="deadlines"
    )
    petition = models.ForeignKey(
        "cases.Petition",
        verbose_name=_("petition"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deadlines",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DeadlineKind.choices)
    title = models.CharField(_("title"), max_length=300)
    notes = models.TextField(_("notes"), blank=True)
    due_on = models.DateField(_("due on"))
    due_precision = models.CharField(
        _("precision"),
        max_length=5,
        choices=[(DatePrecision.DAY, _("Exact day")), (DatePrecision.MONTH, _("Month"))],
        default=DatePrecision.DAY,
    )
    due_time = models.TimeField(_("time"), null=True, blank=True)
    due_timezone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Where the time applies, e.g. Europe/Kyiv. Empty: the installation's."),
    )
    window_starts_on = models.DateField(_("window opens on"), null=True, blank=True)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignees"),
        related_name="assigned_deadlines",
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeadlineStatus.choices, default=DeadlineStatus.OPEN
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    reminder_days = models.JSONField(
        _("remind this many days before"),
        default=list,
        blank=True,
        help_text=_("Whole days before the deadline; 0 means that morning."),
    )

    history = history_with_m2m("assignees")

    class Meta:
        ordering = ["due_on", "due_time", "id"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeadlineStatus.values), name="deadline_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(due_precision__in=["day", "month"]),
                name="deadline_precision_day_or_month",
            ),
            models.CheckConstraint(
                condition=models.Q(due_time__isnull=True) | models.Q(due_precision="day"),
                name="deadline_time_needs_exact_day",
            ),
            models.CheckConstraint(
                condition=models.Q(window_starts_on__isnull=True)
                | models.Q(window_starts_on__lte=models.F("due_on")),
                name="deadline_window_opens_before_due",
            ),
            models.CheckConstraint(
                condition=models.Q(status="done", completed_at__isnull=False)
                | (~models.Q(status="done") & models.Q(completed_at__isnull=True)),
                name="deadline_completed_at_iff_done",
            ),
        ]
        indexes = [
            # "My work" and the reminder planner look up open deadlines by due date.
            models.Index(
                fields=["due_on"],
                name="deadline_open_due_idx",
                condition=models.Q(status="open"),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        # The planner counts days back from the deadline: a list of whole days, nothing else
        # (the admin's JSON field would otherwise take "1" or "[\"1\"]").
        # (None: not given yet; the deadline services fill in the defaults for the kind.)
        days = self.reminder_days
        if days is not None and (
            not isinstance(days, list)
            or not all(type(day) is int and 0 <= day <= MAX_REMINDER_DAYS for day in days)
        ):
            raise ValidationError(
                {"reminder_days": _("Give whole days from 0 to 365 as a list, e.g. [7, 1, 0].")}
            )

    def __str__(self) -> str:
        return f"{self.title} ({self.due_display})"

    @property
    def due_display(self) -> str:
        return format_due(self.due_on, self.due_precision, self.due_time, self.due_timezone)

    def days_left(self, today: dt.date) -> int:
        return (self.due_on - today).days
