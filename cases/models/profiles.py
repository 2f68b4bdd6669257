import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


class UserProfile(TimestampedModel):
    """Per-user preferences: where they are, which language, how they want reminders."""

    class EmailMode(models.TextChoices):
        IMMEDIATE = "immediate", _("Each reminder as it is due")
        DIGEST = "digest", _("One daily digest")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Dates and reminders follow it. Empty: the installation's time zone."),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    email_mode = models.CharField(
        _("reminder emails"),
        max_length=10,
        choices=EmailMode.choices,
        default=EmailMode.IMMEDIATE,
    )
    calendar_token = models.CharField(
        _("calendar feed key"), max_length=64, unique=True, default=new_calendar_token
    )
    muted_cases = models.ManyToManyField(
        "cases.Case",
        verbose_name=_("muted cases"),
        related_name="muted_by",
        blank=True,
        help_text=_("No reminder emails for these cases."),
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or settings.TIME_ZONE
