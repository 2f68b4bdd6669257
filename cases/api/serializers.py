"""What the API reads and writes, as typed schemas (they are the OpenAPI document).

Output serializers show rows the caller was already allowed to see (the views check access
first). Input serializers check only the shape of the JSON (types, lengths, choices); the
rules are the web forms' and the services' own (cases/api/writes.py), never repeated here.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import (
    AlertCheck,
    Authority,
    Case,
    CaseStatus,
    DatePrecision,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    Document,
    Event,
    LegalBasis,
    Organization,
    Petition,
    PetitionRequest,
    PetitionStatus,
    Prisoner,
    TimelineEntry,
)
from cases.models.petitions import Channel

MAX_ID = 2**63 - 1


def Id(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def Ids(**kwargs):
    return serializers.ListField(child=Id(), max_length=200, required=False, **kwargs)


# --- Directory ---------------------------------------------------------------------------------
class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "short_name", "kind", "country", "website"]


class AuthoritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Authority
        fields = ["id", "name", "short_name", "kind", "country"]


class OrganizationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "short_name"]


# --- People of concern -------------------------------------------------------------------------
class PersonRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prisoner
        fields = ["id", "code", "risk_level"]


# What every reader of a person sees: never an identity field (IDENTITY_FIELDS).
PERSON_FIELDS = [
    "id",
    "code",
    "nationality",
    "birth_year",
    "rank_unit",
    "captured_on",
    "captured_on_precision",
    "captured_where",
    "detaining_authority",
    "custody_status",
    "wish_destination",
    "wish_status",
    "wish_expressed_on",
    "wish_expressed_on_precision",
    "icrc_registration",
    "unhcr_registration",
    "risk_level",
]


class IdentitySerializer(serializers.Serializer):
    legal_name = serializers.CharField()
    notes = serializers.CharField()
    health_notes = serializers.CharField()
    place_of_detention = serializers.CharField()


class PersonSerializer(serializers.ModelSerializer):
    owner = OrganizationRefSerializer(read_only=True)
    place_of_detention = serializers.SerializerMethodField(
        help_text="Empty when the place is need-to-know: it is then part of the identity."
    )
    identity = serializers.SerializerMethodField(
        help_text="Only with ?identity=1, for those who may see it (the reveal is logged)."
    )

    class Meta:
        model = Prisoner
        fields = [*PERSON_FIELDS, "owner", "place_of_detention", "identity"]

    def get_place_of_detention(self, prisoner) -> str:
        return "" if prisoner.place_of_detention_sensitive else prisoner.place_of_detention

    @extend_schema_field(IdentitySerializer(allow_null=True))
    def get_identity(self, prisoner):
        if not self.context.get("reveal"):
            return None
        return {
            "legal_name": prisoner.legal_name,
            "notes": prisoner.notes,
            "health_notes": prisoner.health_notes,
            "place_of_detention": prisoner.place_of_detention,
        }


# --- Cases -------------------------------------------------------------------------------------
class CaseListItemSerializer(serializers.ModelSerializer):
    lead_organization = OrganizationRefSerializer(read_only=True)
    next_deadline = serializers.DateField(read_only=True, allow_null=True)
    people = PersonRefSerializer(source="prisoners", many=True, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "title",
            "status",
            "priority",
            "opened_on",
            "updated_at",
            "lead_organization",
            "next_deadline",
            "people",
        ]


class ShareSerializer(serializers.Serializer):
    organization = OrganizationRefSerializer()
    level = serializers.CharField()


class CaseSerializer(serializers.ModelSerializer):
    lead_organization = OrganizationRefSerializer(read_only=True)
    people = PersonRefSerializer(source="prisoners", many=True, read_only=True)
    shares = ShareSerializer(many=True, read_only=True)
    your_level = serializers.SerializerMethodField()
    next_statuses = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "title",
            "summary",
            "status",
            "priority",
            "opened_on",
            "closed_on",
            "created_at",
            "updated_at",
            "lead_organization",
            "shares",
            "people",
            "your_level",
            "next_statuses",
        ]

    def get_your_level(self, case) -> str:
        return self.context["level"].name.lower()

    def get_next_statuses(self, case) -> list[str]:
        return self.context["next_statuses"]


class CaseListPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = CaseListItemSerializer(many=True)


# --- Petitions ---------------------------------------------------------------------------------
class PetitionRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = PetitionRequest
        fields = ["id", "position", "kind", "text", "outcome"]


class PetitionSerializer(serializers.ModelSerializer):
    requests = PetitionRequestSerializer(many=True, read_only=True)

    class Meta:
        model = Petition
        fields = [
            "id",
            "case",
            "reference",
            "title",
            "status",
            "filed_by",
            "addressed_to",
            "copied_to",
            "filed_on",
            "channel",
            "legal_bases",
            "legal_basis_other",
            "summary",
            "response_received_on",
            "response_summary",
            "requests",
            "created_at",
            "updated_at",
        ]


class PetitionRequestInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PetitionRequest.Kind.choices)
    text = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    outcome = serializers.ChoiceField(
        choices=PetitionRequest.Outcome.choices, required=False, allow_blank=True
    )


class PetitionInput(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    addressed_to = Id(help_text="An authority's id (GET /api/v1/authorities/).")
    filed_by = Ids(help_text="Organizations' ids; the case's lead organization if left out.")
    copied_to = Ids(help_text="Authorities' ids.")
    status = serializers.ChoiceField(
        choices=[PetitionStatus.FILED, PetitionStatus.DRAFT], required=False
    )
    filed_on = serializers.DateField(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    legal_bases = serializers.ListField(
        child=serializers.ChoiceField(choices=LegalBasis.choices), required=False, max_length=20
    )
    legal_basis_other = serializers.CharField(max_length=300, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    requests = serializers.ListField(child=PetitionRequestInput(), required=False, max_length=30)
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save anyway: the dates are right although unlikely (a problem says which).",
    )


# --- Events ------------------------------------------------------------------------------------
class EventSerializer(serializers.ModelSerializer):
    people = serializers.PrimaryKeyRelatedField(source="prisoners", many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "case",
            "kind",
            "occurred_on",
            "occurred_on_precision",
            "occurred_at_time",
            "title",
            "description",
            "organizations",
            "authorities",
            "people",
            "source",
            "created_by",
            "created_at",
        ]


class EventInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Event.Kind.choices)
    title = serializers.CharField(max_length=300)
    occurred_on = serializers.DateField()
    occurred_on_precision = serializers.ChoiceField(choices=DatePrecision.choices, required=False)
    occurred_at_time = serializers.TimeField(required=False, allow_null=True)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    source = serializers.CharField(max_length=500, required=False, allow_blank=True)
    people = Ids(help_text="Ids of people on this case.")
    organizations = Ids()
    authorities = Ids()
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save anyway: the dates are right although unlikely (a problem says which).",
    )


# --- Deadlines ---------------------------------------------------------------------------------
class DeadlineSerializer(serializers.ModelSerializer):
    assignees = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = Deadline
        fields = [
            "id",
            "case",
            "petition",
            "kind",
            "title",
            "notes",
            "due_on",
            "due_precision",
            "due_time",
            "due_timezone",
            "window_starts_on",
            "assignees",
            "status",
            "completed_at",
            "reminder_days",
        ]


class DeadlineInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DeadlineKind.choices)
    title = serializers.CharField(max_length=300)
    petition = Id(required=False, allow_null=True, help_text="A petition of this case.")
    due_on = serializers.DateField()
    due_precision = serializers.ChoiceField(choices=DatePrecision.choices, required=False)
    due_time = serializers.TimeField(required=False, allow_null=True)
    due_timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    window_starts_on = serializers.DateField(required=False, allow_null=True)
    assignees = Ids(help_text="Users' ids, members of the case's organizations.")
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=365),
        required=False,
        allow_null=True,
        max_length=30,
        help_text="Days before the deadline to remind; the usual days for the kind if left out.",
    )
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save anyway: the dates are right although unlikely (a problem says which).",
    )


# --- Status changes ----------------------------------------------------------------------------
class StatusInput(serializers.Serializer):
    to = serializers.CharField(max_length=30, help_text="One of the allowed next statuses.")
    reason = serializers.CharField(max_length=5000, help_text="Kept on record.")
    happened_on = serializers.DateField(
        required=False, allow_null=True, help_text="When it happened; today if left out."
    )
    happened_precision = serializers.ChoiceField(choices=DatePrecision.choices, required=False)
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save anyway: the dates are right although unlikely (a problem says which).",
    )


class PetitionStatusInput(StatusInput):
    response_received_on = serializers.DateField(required=False, allow_null=True)
    response_summary = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    expect_reply_by = serializers.DateField(
        required=False, allow_null=True, help_text="Adds a reply-due deadline with reminders."
    )


# --- Documents ---------------------------------------------------------------------------------
class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "case",
            "petition",
            "event",
            "title",
            "description",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "created_at",
        ]


class DocumentInput(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    petition = Id(required=False, allow_null=True)
    event = Id(required=False, allow_null=True)
    dated_on = serializers.DateField(
        required=False, allow_null=True, help_text="The document's own date (a letter's)."
    )
    dated_precision = serializers.ChoiceField(choices=DatePrecision.choices, required=False)
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save anyway: the dates are right although unlikely (a problem says which).",
    )


# --- Timeline ----------------------------------------------------------------------------------
class AlertCheckSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AlertCheck
        fields = ["item", "label", "done", "done_by", "done_at"]


class AlertSerializer(serializers.Serializer):
    """An open urgent alert (``selectors.alerts.AlertView``): its person by code only, as on
    the case page, and its checklist in order."""

    id = serializers.IntegerField(source="alert.pk")
    kind = serializers.CharField(source="alert.kind")
    person = PersonRefSerializer(source="alert.prisoner")
    raised_by = serializers.SerializerMethodField()
    raised_at = serializers.DateTimeField(source="alert.raised_at")
    reason = serializers.CharField(source="alert.reason")
    checks = AlertCheckSerializer(many=True)

    def get_raised_by(self, view) -> str | None:
        user = view.alert.raised_by
        return None if user is None else user.get_username()


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    person = serializers.SerializerMethodField()
    event = serializers.SerializerMethodField()
    petition = serializers.SerializerMethodField()
    deadline = serializers.SerializerMethodField()
    document = serializers.SerializerMethodField()
    development = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "kind",
            "happened_on",
            "precision",
            "happened_at",
            "recorded_at",
            "actor",
            "reason",
            "subject",
            "field",
            "old_value",
            "new_value",
            "person",
            "event",
            "petition",
            "deadline",
            "document",
            "development",
        ]

    @staticmethod
    def _ref(obj) -> dict | None:
        return None if obj is None else {"id": obj.pk, "title": obj.title}

    @extend_schema_field(PersonRefSerializer(allow_null=True))
    def get_person(self, entry):
        p = entry.prisoner
        return None if p is None else {"id": p.pk, "code": p.code, "risk_level": p.risk_level}

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_event(self, entry):
        return self._ref(entry.event)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_petition(self, entry):
        return self._ref(entry.petition)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_deadline(self, entry):
        return self._ref(entry.deadline)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_document(self, entry):
        return self._ref(entry.document)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_development(self, entry):
        """Which development a ``development`` entry is about (readable by whoever reads
        this case: a development is seen through any case it is linked to)."""
        link = entry.development_link
        return None if link is None else self._ref(link.development)


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, if any.")
    results = TimelineEntrySerializer(many=True)


# Kept for the schema: statuses a case may be moved to.
CASE_STATUSES = CaseStatus.values
DEADLINE_STATUSES = DeadlineStatus.values
