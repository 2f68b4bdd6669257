"""The Django admin: staff's view of every record, with history, writing through the services.

Status fields offer only the allowed next statuses, and changing one asks for a reason that is
stored on the history row (the same service the web app uses).
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from cases import models, services
from cases.services import search as search_documents
from cases.services.audit_chain import named_in_audit_record
from cases.services.transitions import save_tracked

User = get_user_model()


class StatusReasonForm(forms.ModelForm):
    """Offers the current status and the allowed next ones; a change needs a reason."""

    transitions: dict[str, frozenset[str]] = {}
    initial_statuses: tuple[str, ...] = ()

    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the status changes; kept on the history record."),
    )
    happened_on = forms.DateField(
        label=_("When did the status change happen?"),
        required=False,
        help_text=_("The day it happened, not the day you record it. Empty: today."),
    )
    happened_precision = forms.ChoiceField(
        label=_("Precision"),
        choices=models.DatePrecision.choices,
        initial=models.DatePrecision.DAY,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field_name = self._meta.model.status_field
        if field_name not in self.fields:
            return
        field = self.fields[field_name]
        if self.instance.pk:
            current = getattr(self.instance, field_name)
            keep = {current} | set(self.transitions.get(current, ()))
        else:
            keep = set(self.initial_statuses) or {
                self._meta.model._meta.get_field(field_name).default
            }
        field.choices = [(v, label) for v, label in field.choices if v in keep]

    def clean(self):
        cleaned = super().clean()
        field_name = self._meta.model.status_field
        if (
            self.instance.pk
            and field_name in self.changed_data
            and not (cleaned.get("change_reason") or "").strip()
        ):
            self.add_error("change_reason", _("Say why the status changes."))
        return cleaned


class TrackedAdmin(SimpleHistoryAdmin):
    """Saves with the signed-in user and a reason on the history row."""

    def save_model(self, request, obj, form, change):
        reason = (form.cleaned_data.get("change_reason") or "").strip()
        default = _("Edited in the admin") if change else _("Added in the admin")
        save_tracked(obj, by=request.user, reason=reason or str(default))


class StatusTrackedAdmin(TrackedAdmin):
    """Routes a status change through the model's service function."""

    def change_status(self, obj, *, to: str, by, reason: str, **when) -> None:
        """``when``: happened_on and happened_precision, as the status services take them."""
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        field = obj.status_field
        if not change or field not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        new_status = getattr(obj, field)
        setattr(obj, field, obj._saved_status)
        self.change_status(
            obj,
            to=new_status,
            by=request.user,
            reason=form.cleaned_data["change_reason"],
            happened_on=form.cleaned_data.get("happened_on"),
            happened_precision=form.cleaned_data.get("happened_precision")
            or models.DatePrecision.DAY,
        )


class SearchDocumentAdmin(admin.ModelAdmin):
    """Keeps the case list's search document (Case.search_names, Case.search_petitions) of
    the cases a row is on, before and after an edit or a delete here, as the services do.
    ``search_cases(pk)``: the ids of the cases whose document holds the row now."""

    @staticmethod
    def search_cases(pk: int) -> set[int]:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        # The cases it was on before the edit (a petition moved to another case leaves one).
        obj._search_cases_before = self.search_cases(obj.pk) if change else set()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # many-to-many saved by now
        obj = form.instance
        before = getattr(obj, "_search_cases_before", set())
        search_documents.cases_refresh_search(case_ids=before | self.search_cases(obj.pk))

    def delete_model(self, request, obj):
        cases = self.search_cases(obj.pk)
        super().delete_model(request, obj)
        search_documents.cases_refresh_search(case_ids=cases)

    def delete_queryset(self, request, queryset):
        cases = set().union(
            *(self.search_cases(pk) for pk in queryset.values_list("pk", flat=True))
        )
        super().delete_queryset(request, queryset)
        search_documents.cases_refresh_search(case_ids=cases)


def _case_of(model):
    def search_cases(pk: int) -> set[int]:
        return set(model.objects.filter(pk=pk).values_list("case_id", flat=True))

    return staticmethod(search_cases)


# --- Organizations and authorities -----------------------------------------------------------
class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Organization)
class OrganizationAdmin(TrackedAdmin):
    list_display = ["name", "short_name", "kind", "country", "parent"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "short_name", "country"]
    autocomplete_fields = ["parent"]
    inlines = [MembershipInline]


@admin.register(models.Membership)
class MembershipAdmin(TrackedAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(models.Authority)
class AuthorityAdmin(SearchDocumentAdmin, TrackedAdmin):
    search_cases = staticmethod(search_documents.cases_naming_authority)
    list_display = ["name", "short_name", "kind", "country"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "short_name", "country"]


# --- People of concern -----------------------------------------------------------------------
class PrisonerForm(StatusReasonForm):
    transitions = models.CUSTODY_TRANSITIONS
    initial_statuses = tuple(models.CustodyStatus.values)

    class Meta:
        model = models.Prisoner
        fields = "__all__"


@admin.register(models.Prisoner)
class PrisonerAdmin(SearchDocumentAdmin, StatusTrackedAdmin):
    search_cases = staticmethod(lambda pk: set(search_documents.cases_of_person(pk)))
    form = PrisonerForm
    list_display = ["code", "owner", "nationality", "custody_status", "wish_status", "risk_level"]
    list_filter = ["custody_status", "risk_level", "wish_status", "icrc_registration", "owner"]
    search_fields = ["code", "place_of_detention"]
    autocomplete_fields = ["detaining_authority", "owner"]
    fieldsets = [
        (
            None,
            {"fields": ["owner", "code", "legal_name", "nationality", "birth_year", "rank_unit"]},
        ),
        (
            _("Capture and custody"),
            {
                "fields": [
                    ("captured_on", "captured_on_precision"),
                    "captured_where",
                    "detaining_authority",
                    ("place_of_detention", "place_of_detention_sensitive"),
                    "custody_status",
                    "change_reason",
                    ("happened_on", "happened_precision"),
                    "health_notes",
                ]
            },
        ),
        (
            _("Expressed wish"),
            {
                "fields": [
                    "wish_destination",
                    "wish_status",
                    ("wish_expressed_on", "wish_expressed_on_precision"),
                    "wish_source",
                ]
            },
        ),
        (
            _("Protection"),
            {
                "fields": [
                    ("icrc_registration", "icrc_reference"),
                    ("unhcr_registration", "unhcr_reference"),
                    "risk_level",
                    "notes",
                ]
            },
        ),
    ]

    def change_status(self, obj, *, to, by, reason, **when):
        services.prisoner_change_custody(prisoner=obj, to=to, by=by, reason=reason, **when)


# --- Cases -----------------------------------------------------------------------------------
class CaseShareInline(admin.TabularInline):
    model = models.CaseShare
    extra = 0
    autocomplete_fields = ["organization"]


class CaseForm(StatusReasonForm):
    transitions = models.CASE_TRANSITIONS

    class Meta:
        model = models.Case
        fields = "__all__"


@admin.register(models.Case)
class CaseAdmin(SearchDocumentAdmin, StatusTrackedAdmin):
    search_cases = staticmethod(lambda pk: {pk} if pk else set())
    form = CaseForm
    list_display = ["reference", "title", "status", "priority", "lead_organization", "opened_on"]
    list_filter = ["status", "priority", "lead_organization"]
    search_fields = ["reference", "title", "prisoners__code"]
    autocomplete_fields = ["lead_organization", "prisoners"]
    readonly_fields = ["reference", "closed_on"]
    fields = [
        "reference",
        "title",
        "summary",
        ("status", "priority"),
        "change_reason",
        ("happened_on", "happened_precision"),
        "lead_organization",
        "prisoners",
        ("opened_on", "closed_on"),
    ]
    inlines = [CaseShareInline]

    def save_model(self, request, obj, form, change):
        if not change:
            services.case_assign_reference(obj)
        super().save_model(request, obj, form, change)

    def change_status(self, obj, *, to, by, reason, **when):
        services.case_change_status(case=obj, to=to, by=by, reason=reason, **when)

    def has_delete_permission(self, request, obj=None):
        return _deletable(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        return _without_bulk_delete(super().get_actions(request))


def _deletable(obj) -> bool:
    """Rows named in the audit record stay (cases.services.audit_chain)."""
    return obj is None or not named_in_audit_record(obj)


def _without_bulk_delete(actions: dict) -> dict:
    # "Delete selected" would stop half-way at the first row named in the audit record.
    actions.pop("delete_selected", None)
    return actions


class AuditedUserAdmin(UserAdmin):
    """Django's user admin, without deleting users named in the audit record: deactivate
    them (untick "Active") instead, which keeps their name on what they did."""

    def has_delete_permission(self, request, obj=None):
        return _deletable(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        return _without_bulk_delete(super().get_actions(request))


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)


@admin.register(models.CaseShare)
class CaseShareAdmin(TrackedAdmin):
    list_display = ["case", "organization", "level"]
    list_filter = ["level", "organization"]
    autocomplete_fields = ["case", "organization"]


# --- Petitions -------------------------------------------------------------------------------
class PetitionRequestInline(admin.TabularInline):
    model = models.PetitionRequest
    extra = 0
    fields = ["position", "kind", "text", "outcome"]


class PetitionForm(StatusReasonForm):
    transitions = models.PETITION_TRANSITIONS
    initial_statuses = (models.PetitionStatus.DRAFT, models.PetitionStatus.FILED)

    legal_bases = forms.MultipleChoiceField(
        label=_("legal bases"),
        choices=models.LegalBasis.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = models.Petition
        fields = "__all__"


@admin.register(models.Petition)
class PetitionAdmin(SearchDocumentAdmin, StatusTrackedAdmin):
    search_cases = _case_of(models.Petition)
    form = PetitionForm
    list_display = ["title", "case", "addressed_to", "filed_on", "status"]
    list_filter = ["status", "channel", "addressed_to"]
    search_fields = ["title", "reference", "case__reference", "case__title"]
    autocomplete_fields = ["case", "addressed_to", "copied_to", "filed_by"]
    date_hierarchy = "filed_on"
    inlines = [PetitionRequestInline]
    fields = [
        "case",
        ("title", "reference"),
        "filed_by",
        "addressed_to",
        "copied_to",
        ("filed_on", "channel"),
        "legal_bases",
        "legal_basis_other",
        "summary",
        "status",
        "change_reason",
        ("happened_on", "happened_precision"),
        ("response_received_on", "response_summary"),
    ]

    def change_status(self, obj, *, to, by, reason, **when):
        services.petition_change_status(petition=obj, to=to, by=by, reason=reason, **when)


@admin.register(models.PetitionRequest)
class PetitionRequestAdmin(TrackedAdmin):
    list_display = ["petition", "kind", "outcome"]
    list_filter = ["kind", "outcome"]
    search_fields = ["text", "petition__title"]
    autocomplete_fields = ["petition"]


# --- Timeline: events, deadlines, documents --------------------------------------------------
@admin.register(models.Event)
class EventAdmin(SearchDocumentAdmin, TrackedAdmin):
    search_cases = _case_of(models.Event)
    list_display = ["title", "case", "kind", "occurred_on_display"]
    list_filter = ["kind"]
    search_fields = ["title", "description", "case__reference"]
    autocomplete_fields = ["case", "organizations", "authorities", "prisoners"]
    readonly_fields = ["created_by"]

    @admin.display(description=_("happened on"), ordering="occurred_on")
    def occurred_on_display(self, obj):
        return obj.occurred_on_display

    def save_model(self, request, obj, form, change):
        obj.occurred_on = models.dates.period_start(obj.occurred_on, obj.occurred_on_precision)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class DeadlineForm(StatusReasonForm):
    transitions = models.DEADLINE_TRANSITIONS

    class Meta:
        model = models.Deadline
        fields = "__all__"


@admin.register(models.Deadline)
class DeadlineAdmin(StatusTrackedAdmin):
    form = DeadlineForm
    list_display = ["title", "case", "kind", "due_display", "status"]
    list_filter = ["status", "kind", "due_precision"]
    search_fields = ["title", "case__reference"]
    autocomplete_fields = ["case", "petition", "assignees"]
    readonly_fields = ["completed_at", "status_changed_on", "status_changed_precision"]

    @admin.display(description=_("due"), ordering="due_on")
    def due_display(self, obj):
        return obj.due_display

    def save_model(self, request, obj, form, change):
        obj.due_on = models.dates.period_end(obj.due_on, obj.due_precision)
        case_before = form.initial.get("case") if change else None
        super().save_model(request, obj, form, change)
        # The case list's next deadline (Case.next_deadline_on), of the case it was on too.
        for case_id in {case_before, obj.case_id} - {None}:
            services.case_refresh_next_deadline(case_id=case_id)

    def delete_model(self, request, obj):
        case_id = obj.case_id
        super().delete_model(request, obj)
        services.case_refresh_next_deadline(case_id=case_id)

    def delete_queryset(self, request, queryset):
        case_ids = set(queryset.values_list("case_id", flat=True))
        super().delete_queryset(request, queryset)
        for case_id in case_ids:
            services.case_refresh_next_deadline(case_id=case_id)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Dates, reminder days and assignees are saved by now: re-plan at once (in the same
        # transaction), so an unwanted reminder is cancelled now, not at the hourly re-plan.
        services.reminders_plan(deadline=form.instance)

    def change_status(self, obj, *, to, by, reason, **when):
        services.deadline_change_status(deadline=obj, to=to, by=by, reason=reason, **when)


class DocumentForm(forms.ModelForm):
    class Meta:
        model = models.Document
        fields = [
            "case",
            "petition",
            "event",
            "file",
            "title",
            "dated_on",
            "dated_precision",
            "description",
        ]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and self.instance.pk is None:
            try:
                services.document_check_upload(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict.get("file", exc.messages)) from None
        return upload


@admin.register(models.Document)
class DocumentAdmin(TrackedAdmin):
    form = DocumentForm
    list_display = ["title", "case", "original_name", "size", "sha256", "created_at"]
    search_fields = ["title", "original_name", "sha256", "case__reference"]
    autocomplete_fields = ["case", "petition", "event"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["original_name", "sha256", "size", "content_type", "uploaded_by"]
        return [*fixed, "file", "case"] if obj else fixed

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        stored = services.document_store(
            case=obj.case,
            upload=form.cleaned_data["file"],
            by=request.user,
            title=obj.title,
            description=obj.description,
            petition=obj.petition,
            event=obj.event,
            dated_on=obj.dated_on,
            dated_precision=obj.dated_precision or models.DatePrecision.DAY,
        )
        obj.pk = stored.pk
        obj.__dict__.update(stored.__dict__)


# --- Reminder outbox -------------------------------------------------------------------------
@admin.register(models.Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """The reminder outbox, read-only: what went out, what waits, what failed and why.

    Rows are written by the planner and the dispatcher only; the one thing staff may do is
    send failed reminders again once the cause (an address, the mail server) is fixed.
    """

    list_display = [
        "scheduled_for",
        "case_reference",
        "deadline",
        "recipient",
        "kind",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "failure_cause", "digest"]
    search_fields = [
        "deadline__title",
        "deadline__case__reference",
        "recipient__username",
        "recipient__email",
        "message_id",
    ]
    list_select_related = ["deadline__case", "recipient"]
    date_hierarchy = "scheduled_for"
    actions = ["send_again"]

    @admin.display(description=_("case"), ordering="deadline__case__reference")
    def case_reference(self, obj):
        return obj.deadline.case.reference

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was sent: only the retention policy deletes

    @admin.action(description=_("Send the selected failed reminders again"))
    def send_again(self, request, queryset):
        count = sum(
            services.reminder_retry(reminder=reminder)
            for reminder in queryset.filter(status=models.ReminderStatus.FAILED)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d failed reminder will be sent again.",
                "%(count)d failed reminders will be sent again.",
                count,
            )
            % {"count": count},
        )


@admin.register(models.ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read-only: reminders sent long ago, as they left the outbox."""

    list_display = ["sent_at", "deadline", "recipient", "kind", "point_on", "message_id"]
    list_filter = ["kind"]
    search_fields = ["deadline__case__reference", "recipient__username", "message_id"]
    list_select_related = ["deadline", "recipient"]
    date_hierarchy = "sent_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Urgent alerts -----------------------------------------------------------------------------
class _ReadOnlyAdmin:
    """Written by the alert services only (raising, the checklist, closing, sending)."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Alert)
class AlertAdmin(_ReadOnlyAdmin, SimpleHistoryAdmin):
    """Urgent alerts, read-only: tick and close them on the case page, on record."""

    list_display = ["raised_at", "case", "kind", "prisoner", "raised_by", "closed_at"]
    list_filter = ["kind"]
    search_fields = ["case__reference", "prisoner__code"]
    list_select_related = ["case", "prisoner", "raised_by"]


@admin.register(models.AlertEmail)
class AlertEmailAdmin(_ReadOnlyAdmin, admin.ModelAdmin):
    """The alert outbox, read-only: what went out, what waits, what failed and why."""

    list_display = ["next_attempt_at", "alert", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["alert__case__reference", "recipient__username", "message_id"]
    list_select_related = ["alert", "recipient"]
