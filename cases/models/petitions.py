from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import StatusTrackedModel, TimestampedModel, history, history_with_m2m


class PetitionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FILED = "filed", _("Filed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    UNDER_REVIEW = "under_review", _("Under review")
    GRANTED = "granted", _("Granted")
    PARTLY_GRANTED = "partly_granted", _("Partly granted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    NO_RESPONSE = "no_response", _("No response")


_S = PetitionStatus
_DECIDED = {_S.GRANTED, _S.PARTLY_GRANTED, _S.REJECTED}
# The one declaration of which petition status may follow which (enforced in services).
# A decision can still be followed by withdrawal (e.g. a partial grant later abandoned); "no
# response" can turn into an answer when one finally arrives.
PETITION_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.DRAFT: frozenset({_S.FILED, _S.WITHDRAWN}),
    _S.FILED: frozenset(
        {_S.ACKNOWLEDGED, _S.UNDER_REVIEW, *_DECIDED, _S.WITHDRAWN, _S.NO_RESPONSE}
    ),
    _S.ACKNOWLEDGED: frozenset({_S.UNDER_REVIEW, *_DECIDED, _S.WITHDRAWN, _S.NO_RESPONSE}),
    _S.UNDER_REVIEW: frozenset({*_DECIDED, _S.WITHDRAWN, _S.NO_RESPONSE}),
    _S.NO_RESPONSE: frozenset({_S.ACKNOWLEDGED, _S.UNDER_REVIEW, *_DECIDED, _S.WITHDRAWN}),
    _S.PARTLY_GRANTED: frozenset({_S.GRANTED, _S.WITHDRAWN}),
    _S.GRANTED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.WITHDRAWN: frozenset(),
}


class Channel(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    EMAIL = "email", _("Email")
    POST = "post", _("Post")
    ONLINE_PORTAL = "online_portal", _("Online portal")
    THROUGH_PARTNER = "through_partner", _("Through a partner")


class LegalBasis(models.TextChoices):
    NON_REFOULEMENT = "non_refoulement", _("Non-refoulement")
    GC3_LAWYER_ACCESS = "gc3_lawyer_access", _("Third Geneva Convention: lawyer access")
    GC3_ICRC_ACCESS = "gc3_icrc_access", _("Third Geneva Convention: ICRC access")
    GC3_REPATRIATION = "gc3_repatriation", _("Third Geneva Convention: repatriation")
    REFUGEE_LAW = "refugee_law", _("Refugee law / UNHCR mandate")
    CONSTITUTIONAL_CITIZENSHIP = "constitutional_citizenship", _("Constitutional citizenship")
    OTHER = "other", _("Other")


class Petition(StatusTrackedModel, TimestampedModel):
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="petitions"
    )
    reference = models.CharField(
        _("our reference"),
        max_length=100,
        blank=True,
        help_text=_("The filing organization's own reference, if any."),
    )
    title = models.CharField(_("title"), max_length=300)
    filed_by = models.ManyToManyField(
        "cases.Organization",
        verbose_name=_("filed by"),
        related_name="petitions_filed",
    )
    addressed_to = models.ForeignKey(
        "cases.Authority",
        verbose_name=_("addressed to"),
        on_delete=models.PROTECT,
        related_name="petitions_received",
    )
    copied_to = models.ManyToManyField(
        "cases.Authority",
        verbose_name=_("copied to"),
        related_name="petitions_copied",
        blank=True,
    )
    filed_on = models.DateField(_("filed on"), null=True, blank=True)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.IN_PERSON
    )
    legal_bases = models.JSONField(
        _("legal bases"),
        default=list,
        blank=True,
        help_text=_("Any of the listed legal bases."),
    )
    legal_basis_other = models.CharField(_("other legal basis"), max_length=300, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PetitionStatus.choices, default=PetitionStatus.DRAFT
    )
    response_received_on = models.DateField(_("response received on"), null=True, blank=True)
    response_summary = models.TextField(_("response summary"), blank=True)

    history = history_with_m2m("filed_by", "copied_to")

    class Meta:
        ordering = ["-filed_on", "-id"]
        verbose_name = _("petition")
        verbose_name_plural = _("petitions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PetitionStatus.values),
                name="petition_status_valid",
            ),
            # Anything past a draft was filed on some day (a draft may be withdrawn unfiled).
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "withdrawn"])
                | models.Q(filed_on__isnull=False),
                name="petition_filed_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(response_received_on__isnull=True)
                | models.Q(filed_on__isnull=False, response_received_on__gte=models.F("filed_on")),
                name="petition_response_after_filing",
            ),
        ]
        indexes = [
            # The case page lists a case's petitions by status ("waiting for a reply").
            models.Index(fields=["case", "status"], name="petition_case_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_legal_bases_display(self) -> list[str]:
        labels = dict(LegalBasis.choices)
        return [str(labels.get(value, value)) for value in self.legal_bases]


class PetitionRequest(TimestampedModel):
    class Kind(models.TextChoices):
        REGISTRATION = "registration", _("Registration for protection")
        EXCHANGE_EXCLUSION = "exchange_exclusion", _("Exclusion from prisoner exchange")
        NON_REFOULEMENT = "non_refoulement", _("Non-refoulement")
        LAWYER_ACCESS = "lawyer_access", _("Lawyer access")
        ICRC = "icrc", _("ICRC involvement")
        UNHCR = "unhcr", _("UNHCR involvement")
        THIRD_COUNTRY = "third_country", _("Transfer to a third country")
        MEDICAL_CARE = "medical_care", _("Medical care")
        FAMILY_CONTACT = "family_contact", _("Family contact")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        GRANTED = "granted", _("Granted")
        PARTLY_GRANTED = "partly_granted", _("Partly granted")
        REFUSED = "refused", _("Refused")

    petition = models.ForeignKey(
        Petition, verbose_name=_("petition"), on_delete=models.CASCADE, related_name="requests"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.TextField(_("what is asked"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING
    )

    history = history()

    class Meta:
        ordering = ["petition", "position", "id"]
        verbose_name = _("request")
        verbose_name_plural = _("requests")

    def __str__(self) -> str:
        return str(self.get_kind_display())
