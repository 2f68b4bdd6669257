from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel, history_with_m2m
from .dates import DatePrecision, format_fuzzy_date


class Event(TimestampedModel):
    """Something that happened, logged on a case's timeline."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        LETTER = "letter", _("Letter")
        STATEMENT = "statement", _("Statement")
        REPORT = "report", _("Report or news")
        CALL = "call", _("Call")
        TRANSFER = "transfer", _("Transfer")
        HEARING = "hearing", _("Hearing")
        OTHER = "other", _("Other")

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    occurred_on = models.DateField(
        _("happened on"), help_text=_("For a month or year, any day in it; it is stored as such.")
    )
    occurred_on_precision = models.CharField(
        _("precision"), max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    occurred_at_time = models.TimeField(_("time"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    organizations = models.ManyToManyField(
        "cases.Organization",
        verbose_name=_("organizations involved"),
        related_name="events",
        blank=True,
    )
    authorities = models.ManyToManyField(
        "cases.Authority",
        verbose_name=_("authorities involved"),
        related_name="events",
        blank=True,
    )
    prisoners = models.ManyToManyField(
        "cases.Prisoner",
        verbose_name=_("people concerned"),
        related_name="events",
        blank=True,
    )
    source = models.CharField(
        _("source"), max_length=500, blank=True, help_text=_("A link or a citation.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = history_with_m2m("organizations", "authorities", "prisoners")

    class Meta:
        ordering = ["occurred_on", "occurred_at_time", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            # A time of day only makes sense when the day itself is known.
            models.CheckConstraint(
                condition=models.Q(occurred_at_time__isnull=True)
                | models.Q(occurred_on_precision="day"),
                name="event_time_needs_exact_day",
            ),
        ]
        indexes = [
            # The case timeline reads a case's events in date order.
            models.Index(fields=["case", "occurred_on"], name="event_case_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on_display}: {self.title}"

    @property
    def occurred_on_display(self) -> str:
        return format_fuzzy_date(self.occurred_on, self.occurred_on_precision)
