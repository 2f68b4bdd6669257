from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import StatusTrackedModel, TimestampedModel, history
from .dates import DatePrecision, format_fuzzy_date


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    IMMINENT = "imminent", _("Imminent")


class CustodyStatus(models.TextChoices):
    CAPTURED = "captured", _("Captured")
    DETAINED = "detained", _("Detained")
    HOSPITALIZED = "hospitalized", _("Hospitalized")
    TRANSFERRED = "transferred", _("Transferred")
    IN_EXCHANGE_POOL = "in_exchange_pool", _("In exchange pool")
    EXCHANGED = "exchanged", _("Exchanged")
    REPATRIATED = "repatriated", _("Repatriated")
    RESETTLED = "resettled", _("Resettled in a third country")
    RELEASED = "released", _("Released")
    DECEASED = "deceased", _("Deceased")
    UNKNOWN = "unknown", _("Unknown")


# Custody moves freely between the living states, since news arrives out of order and
# corrections are part of the work; every move needs a reason. "Deceased" is final.
CUSTODY_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(set(CustodyStatus.values) - {status})
    for status in CustodyStatus.values
    if status != CustodyStatus.DECEASED
}
CUSTODY_TRANSITIONS[CustodyStatus.DECEASED] = frozenset()


class WishStatus(models.TextChoices):
    CLEARLY_STATED = "clearly_stated", _("Clearly stated")
    UNDECIDED = "undecided", _("Undecided")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    UNKNOWN = "unknown", _("Unknown")


class Registration(models.TextChoices):
    NOT_REQUESTED = "not_requested", _("Not requested")
    REQUESTED = "requested", _("Requested")
    REGISTERED = "registered", _("Registered")


# Need-to-know fields of a person of concern: shown only to those who may see the identity
# (cases.access.may_see_identity), after a reveal that is logged on the owner's record; left out
# of history, timeline, search, emails and calendars for everyone else.
IDENTITY_FIELDS = ("legal_name", "notes", "health_notes")


class Prisoner(StatusTrackedModel, TimestampedModel):
    """A person of concern. Known by a code or pseudonym; the legal name is optional."""

    status_field = "custody_status"

    # Who registered the person. Rights on the person itself (editing, revealing the
    # identity, linking them into a case) come from this organization only, never from a case
    # that contains them (docs/security.md, "People of concern belong to an organization").
    owner = models.ForeignKey(
        "cases.Organization",
        verbose_name=_("owning organization"),
        on_delete=models.PROTECT,
        related_name="people",
        help_text=_("The organization that registered the person and decides who may know them."),
    )
    code = models.CharField(
        _("code or pseudonym"),
        max_length=60,
        help_text=_('How the team refers to this person, e.g. "POW-A". Shown everywhere.'),
    )
    legal_name = models.CharField(
        _("legal name"),
        max_length=200,
        blank=True,
        help_text=_("Sensitive. Leave empty unless the team needs it."),
    )
    nationality = models.CharField(_("nationality"), max_length=100, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    rank_unit = models.CharField(_("rank and unit"), max_length=200, blank=True)
    captured_on = models.DateField(_("captured on"), null=True, blank=True)
    captured_on_precision = models.CharField(
        _("precision of capture date"),
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    captured_where = models.CharField(_("captured where"), max_length=200, blank=True)
    detaining_authority = models.ForeignKey(
        "cases.Authority",
        verbose_name=_("detaining authority"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="detainees",
    )
    place_of_detention = models.CharField(_("place of detention"), max_length=200, blank=True)
    place_of_detention_sensitive = models.BooleanField(
        _("the place of detention is need-to-know"),
        default=False,
        help_text=_("Shown only to those who may see the person's identity, like the legal name."),
    )
    health_notes = models.TextField(_("health notes"), blank=True)
    custody_status = models.CharField(
        _("custody status"),
        max_length=20,
        choices=CustodyStatus.choices,
        default=CustodyStatus.UNKNOWN,
    )
    wish_destination = models.CharField(
        _("wishes to go to"), max_length=100, blank=True, help_text=_("Country or place.")
    )
    wish_status = models.CharField(
        _("wish"), max_length=20, choices=WishStatus.choices, default=WishStatus.UNKNOWN
    )
    wish_expressed_on = models.DateField(_("wish expressed on"), null=True, blank=True)
    wish_expressed_on_precision = models.CharField(
        _("precision of wish date"),
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    wish_source = models.CharField(
        _("source of the wish"),
        max_length=300,
        blank=True,
        help_text=_("Who heard it, or the letter or report it comes from."),
    )
    icrc_registration = models.CharField(
        _("ICRC registration"),
        max_length=20,
        choices=Registration.choices,
        default=Registration.NOT_REQUESTED,
    )
    icrc_reference = models.CharField(_("ICRC reference"), max_length=100, blank=True)
    unhcr_registration = models.CharField(
        _("UNHCR registration"),
        max_length=20,
        choices=Registration.choices,
        default=Registration.NOT_REQUESTED,
    )
    unhcr_reference = models.CharField(_("UNHCR reference"), max_length=100, blank=True)
    risk_level = models.CharField(
        _("risk level"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.HIGH
    )
    notes = models.TextField(_("notes"), blank=True)

    history = history()

    class Meta:
        ordering = ["code"]
        verbose_name = _("person of concern")
        verbose_name_plural = _("people of concern")
        constraints = [
            # Codes are the owner's own: two organizations may both call someone "POW-A".
            models.UniqueConstraint(
                fields=["owner", "code"], name="prisoner_code_unique_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(custody_status__in=CustodyStatus.values),
                name="prisoner_custody_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(birth_year__isnull=True)
                | models.Q(birth_year__gte=1900, birth_year__lte=2100),
                name="prisoner_birth_year_plausible",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def identity_fields(self) -> tuple[str, ...]:
        """The fields that are need-to-know for this person (IDENTITY_FIELDS, and the place of
        detention when it is marked so)."""
        if self.place_of_detention_sensitive:
            return (*IDENTITY_FIELDS, "place_of_detention")
        return IDENTITY_FIELDS

    @property
    def captured_on_display(self) -> str:
        return format_fuzzy_date(self.captured_on, self.captured_on_precision)

    @property
    def wish_expressed_on_display(self) -> str:
        return format_fuzzy_date(self.wish_expressed_on, self.wish_expressed_on_precision)


class PersonLinkRequest(TimestampedModel):
    """A request, by someone who may edit a case, to put a person registered by another
    organization on it. The person's owner (its coordinators) accepts or declines: a link
    between two owned things is an act that the owner of each side allows, on record."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the owner")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    prisoner = models.ForeignKey(Prisoner, on_delete=models.CASCADE, related_name="link_requests")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("asked by"),
    )
    reason = models.TextField(_("why"), max_length=1000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    history = history()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("request to put a person on a case")
        verbose_name_plural = _("requests to put people on cases")
        constraints = [
            # One open request per person and case: asking twice does not ask twice.
            models.UniqueConstraint(
                fields=["prisoner", "case"],
                condition=models.Q(status="pending"),
                name="one_pending_link_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prisoner} → {self.case_id} ({self.status})"
