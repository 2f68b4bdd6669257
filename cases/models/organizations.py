from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel, history


class Organization(TimestampedModel):
    class Kind(models.TextChoices):
        COALITION = "coalition", _("Coalition")
        NGO = "ngo", _("NGO")
        PARTNER_NGO = "partner_ngo", _("Partner NGO")
        LAW_FIRM = "law_firm", _("Law firm")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=300, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NGO)
    country = models.CharField(_("country"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organization"),
        help_text=_("For an affiliate: the coalition or organization it belongs to."),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="affiliates",
    )
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    history = history()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("pk")), name="organization_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.short_name or self.name


class Membership(TimestampedModel):
    class Role(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        EDITOR = "editor", _("Editor")
        COORDINATOR = "coordinator", _("Coordinator")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    identity_access = models.BooleanField(
        _("may see identities"),
        default=False,
        help_text=_(
            "Legal names of people of concern are shown only to coordinators and to members "
            "granted this."
        ),
    )

    history = history()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org"),
            models.CheckConstraint(
                condition=models.Q(role__in=["viewer", "editor", "coordinator"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.organization} ({self.get_role_display()})"


class Authority(TimestampedModel):
    class Kind(models.TextChoices):
        GOVERNMENT_BODY = "government_body", _("Government body")
        MINISTRY = "ministry", _("Ministry")
        SECURITY_SERVICE = "security_service", _("Security service")
        COURT = "court", _("Court")
        PARLIAMENT = "parliament", _("Parliament")
        INTERNATIONAL = "international", _("International organization")

    name = models.CharField(_("name"), max_length=300, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = models.CharField(
        _("country"), max_length=100, blank=True, help_text=_("Empty for international bodies.")
    )
    contact_details = models.TextField(_("contact details"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    history = history()

    class Meta:
        ordering = ["name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self) -> str:
        return self.short_name or self.name
