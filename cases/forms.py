"""Forms validate and normalise what people type; services decide what happens."""

import functools
import zoneinfo

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from cases import access
from cases.models import (
    AccessLog,
    Authority,
    Case,
    CaseShare,
    DatePrecision,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    Development,
    Event,
    LegalBasis,
    Membership,
    Organization,
    Petition,
    PetitionRequest,
    PetitionStatus,
    Prisoner,
    UserProfile,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids out of the database's integer range instead of letting the query fail."""

    _LIMIT = 2**63 - 1

    def _check_values(self, value):
        for item in value or ():
            try:
                number = int(str(item))
            except ValueError:
                continue  # the parent class refuses it with its own message
            if not -self._LIMIT <= number <= self._LIMIT:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super()._check_values(value)


def formfield(db_field, **kwargs):
    """ModelForm field factory: many-to-many fields get the range-checked field."""
    from django.db import models

    if isinstance(db_field, models.ManyToManyField):
        kwargs["form_class"] = SafeModelMultipleChoiceField
    return db_field.formfield(**kwargs)


def apply_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's refusal beside the fields it names, or at the top of the form.

    Unlikely input (plausibility.ConfirmationNeeded) also offers the "Save anyway" box.
    """
    from cases.services.plausibility import ConfirmationNeeded

    if isinstance(error, ConfirmationNeeded) and "confirmed" in form.fields:
        form.needs_confirmation = True
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = name if name in form.fields else None
            form.add_error(target, messages)
    else:
        form.add_error(None, error.messages)


class ConfirmMixin(forms.Form):
    """A "Save anyway" box, shown only once the service found the input unlikely (a date in
    the future, a deadline already past: cases/services/plausibility.py). Its value goes to
    the service as ``confirmed``."""

    confirmed = forms.BooleanField(
        label=_("Save anyway: the dates are right"),
        required=False,
    )
    needs_confirmation = False


class HappenedMixin(forms.Form):
    """When a status change happened, as the person says (today unless they change it)."""

    happened_on = forms.DateField(
        label=_("When did this happen?"),
        widget=DateInput(),
        required=False,
        help_text=_("The day it happened, not the day you record it. Both are kept."),
    )
    happened_precision = forms.ChoiceField(
        label=_("Precision"),
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["happened_on"].initial = timezone.localdate()


def _case_people_users(case: Case):
    """Users of the lead and partner organizations: who may be assigned a deadline."""
    orgs = [case.lead_organization_id, *case.shares.values_list("organization_id", flat=True)]
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__organization_id__in=orgs)
        .distinct()
        .order_by("username")
    )


# --- Cases -----------------------------------------------------------------------------------
class CaseForm(ConfirmMixin, forms.ModelForm):
    class Meta:
        model = Case
        formfield_callback = formfield
        fields = ["title", "summary", "priority", "lead_organization", "prisoners", "opened_on"]
        widgets = {
            "opened_on": DateInput(),
            "summary": forms.Textarea(attrs={"rows": 4}),
            "prisoners": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.is_superuser:
            leads = Organization.objects.all()
        else:
            leads = Organization.objects.filter(
                memberships__user=user,
                memberships__role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
            )
        self.fields["lead_organization"].queryset = leads.distinct()
        # Only people the user's organizations registered (and, when editing, the people
        # already on the case): a person goes on a case with their owner's consent.
        people = access.prisoners_linkable_by(user)
        if self.instance.pk:
            people = people | Prisoner.objects.filter(cases=self.instance)
        self.fields["prisoners"].queryset = people.distinct().order_by("code")
        self.fields["prisoners"].help_text = _(
            "People registered by your organizations. Add new people from the case page; a "
            "person registered by another organization is added by its coordinators."
        )
        if self.instance.pk:
            # The lead organization decides who sees the case: changing it is not an edit.
            self.fields.pop("lead_organization")
        else:
            # A new case: opened today, led by the user's organization when there is one.
            from django.utils import timezone

            self.fields["opened_on"].initial = timezone.localdate()
            only = list(self.fields["lead_organization"].queryset[:2])
            if len(only) == 1:
                self.fields["lead_organization"].initial = only[0].pk


class StatusForm(ConfirmMixin, HappenedMixin, forms.Form):
    """Move something to one of its allowed next statuses, saying why and when it happened."""

    to = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept on record with your name and the time."),
    )
    field_order = ["to", "happened_on", "happened_precision", "reason"]

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = choices

    def happened(self) -> dict:
        """What the status services take: when it happened, and the confirmation."""
        data = self.cleaned_data
        return {
            "happened_on": data["happened_on"],  # empty: today
            "happened_precision": data["happened_precision"] or DatePrecision.DAY,
            "confirmed": data["confirmed"],
        }


class ShareForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.none()
    )
    level = forms.ChoiceField(label=_("Access"), choices=CaseShare.Level.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.exclude(
            pk=case.lead_organization_id
        )


# --- People of concern -----------------------------------------------------------------------
class PersonLinkForm(forms.Form):
    case = forms.ModelChoiceField(
        label=_("Case"),
        queryset=Case.objects.none(),
        help_text=_(
            "Cases you may edit. Putting the person on a case led by another organization lets "
            "its members read the person's record (by code); the identity stays with you."
        ),
    )

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases.order_by("reference")
        self.fields["case"].label_from_instance = lambda c: f"{c.reference} · {c.title}"


class PersonLinkRequestForm(PersonLinkForm):
    reason = forms.CharField(
        label=_("Why"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The coordinators of the organization that registered the person read it."),
    )

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, cases=cases, **kwargs)
        self.fields["case"].help_text = _("Your cases, which the person is not on yet.")


class PersonUnlinkForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept on record with your name and the time."),
    )


class PrisonerForm(ConfirmMixin, forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for the custody change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the custody status changes."),
    )
    custody_changed_on = forms.DateField(
        label=_("When did the custody change?"),
        required=False,
        widget=DateInput(),
        help_text=_("The day it happened, not the day you record it. Empty: today."),
    )
    custody_changed_precision = forms.ChoiceField(
        label=_("Precision of the custody change date"),
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        required=False,
    )

    class Meta:
        model = Prisoner
        fields = [
            "code",
            "legal_name",
            "nationality",
            "birth_year",
            "rank_unit",
            "captured_on",
            "captured_on_precision",
            "captured_where",
            "detaining_authority",
            "place_of_detention",
            "place_of_detention_sensitive",
            "custody_status",
            "health_notes",
            "wish_destination",
            "wish_status",
            "wish_expressed_on",
            "wish_expressed_on_precision",
            "wish_source",
            "icrc_registration",
            "icrc_reference",
            "unhcr_registration",
            "unhcr_reference",
            "risk_level",
            "notes",
        ]
        widgets = {
            "captured_on": DateInput(),
            "wish_expressed_on": DateInput(),
            "health_notes": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, show_identity: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_identity:
            # Need-to-know fields are neither shown nor written by those who may not see them.
            for name in (*self.instance.identity_fields(), "place_of_detention_sensitive"):
                self.fields.pop(name, None)
        if self.instance.pk:
            from cases.models import CUSTODY_TRANSITIONS

            current = self.instance.custody_status
            keep = {current} | set(CUSTODY_TRANSITIONS.get(current, ()))
            field = self.fields["custody_status"]
            field.choices = [(v, label) for v, label in field.choices if v in keep]
        else:
            self.fields.pop("change_reason")
            self.fields.pop("custody_changed_on")
            self.fields.pop("custody_changed_precision")

    def clean_birth_year(self):
        year = self.cleaned_data.get("birth_year")
        if year is not None and not 1900 <= year <= 2100:
            raise ValidationError(_("Give a year between 1900 and 2100."))
        return year

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance.pk
            and "custody_status" in self.changed_data
            and not (cleaned.get("change_reason") or "").strip()
        ):
            self.add_error("change_reason", _("Say why the custody status changes."))
        return cleaned


# --- Petitions -------------------------------------------------------------------------------
class PetitionForm(ConfirmMixin, forms.ModelForm):
    legal_bases = forms.MultipleChoiceField(
        label=_("Legal bases"),
        choices=LegalBasis.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (PetitionStatus.FILED, _("Filed")),
            (PetitionStatus.DRAFT, _("Draft (not filed yet)")),
        ],
    )
    documents = MultipleFileField(
        label=_("Documents"),
        required=False,
        help_text=_("The petition text, cover letter, annexes. Several files at once are fine."),
    )

    class Meta:
        model = Petition
        formfield_callback = formfield
        fields = [
            "title",
            "reference",
            "filed_by",
            "addressed_to",
            "copied_to",
            "status",
            "filed_on",
            "channel",
            "legal_bases",
            "legal_basis_other",
            "summary",
        ]
        widgets = {
            "filed_on": DateInput(),
            "summary": forms.Textarea(attrs={"rows": 4}),
            "filed_by": forms.CheckboxSelectMultiple,
            "copied_to": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["addressed_to"].queryset = Authority.objects.order_by("name")
        self.fields["copied_to"].queryset = Authority.objects.order_by("name")
        self.fields["filed_by"].queryset = Organization.objects.order_by("name")
        if not self.instance.pk:
            self.initial.setdefault("filed_by", [case.lead_organization_id])
        else:
            # Status moves with a reason on its own form; documents are added on the case.
            self.fields.pop("status")
            self.fields.pop("documents")

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status == PetitionStatus.FILED and not cleaned.get("filed_on"):
            self.add_error("filed_on", _("Give the day the petition was filed."))
        if LegalBasis.OTHER in (cleaned.get("legal_bases") or []) and not cleaned.get(
            "legal_basis_other"
        ):
            self.add_error("legal_basis_other", _("Name the other legal basis."))
        return cleaned


class PetitionRequestForm(forms.ModelForm):
    class Meta:
        model = PetitionRequest
        fields = ["kind", "text", "outcome"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}


# Three empty rows, so that a petition can be logged with its requests without JavaScript
# (empty rows are skipped); with it, "Add another request" adds more.
PetitionRequestFormSet = forms.inlineformset_factory(
    Petition,
    PetitionRequest,
    form=PetitionRequestForm,
    extra=3,
    can_delete=True,
    max_num=30,
    validate_max=True,
)


class PetitionStatusForm(StatusForm):
    response_received_on = forms.DateField(
        label=_("Response received on"), required=False, widget=DateInput()
    )
    response_summary = forms.CharField(
        label=_("What the authority answered"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expect_reply_by = forms.DateField(
        label=_("Expect a reply by"),
        required=False,
        widget=DateInput(),
        help_text=_("Adds a reply-due deadline with reminders."),
    )
    field_order = [  # the answer first: its date is when the change happened
        "to",
        "response_received_on",
        "response_summary",
        "happened_on",
        "happened_precision",
        "reason",
        "expect_reply_by",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["happened_on"].help_text = _(
            "The day it happened, not the day you record it. Left as today with a response "
            "date given: the response date."
        )

    def happened(self) -> dict:
        """An answer happened when it was received, unless the person says otherwise."""
        values = super().happened()
        if self.cleaned_data.get("response_received_on") and "happened_on" not in (
            self.changed_data
        ):
            values["happened_on"] = None  # the service takes the response date
        return values


# --- Events ----------------------------------------------------------------------------------
class EventForm(ConfirmMixin, forms.ModelForm):
    class Meta:
        model = Event
        formfield_callback = formfield
        fields = [
            "kind",
            "occurred_on",
            "occurred_on_precision",
            "occurred_at_time",
            "title",
            "description",
            "prisoners",
            "organizations",
            "authorities",
            "source",
        ]
        widgets = {
            "occurred_on": DateInput(),
            "occurred_at_time": TimeInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
            "prisoners": forms.CheckboxSelectMultiple,
            "organizations": forms.CheckboxSelectMultiple,
            "authorities": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prisoners"].queryset = case.prisoners.all()
        self.fields["organizations"].queryset = Organization.objects.order_by("name")
        self.fields["authorities"].queryset = Authority.objects.order_by("name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("occurred_at_time") and cleaned.get("occurred_on_precision") != "day":
            self.add_error("occurred_at_time", _("A time of day needs an exact day."))
        return cleaned


class QuickEventForm(ConfirmMixin, forms.ModelForm):
    class Meta:
        model = Event
        fields = ["kind", "occurred_on", "occurred_on_precision", "title"]
        widgets = {"occurred_on": DateInput()}
        help_texts = {"occurred_on": ""}


# --- Deadlines -------------------------------------------------------------------------------
# Names in the time-zone database that are not places: "Factory" (a placeholder for unset
# machines) and "localtime" (a link to the server's own zone). Nobody should pick them.
_NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})


@functools.cache
def _time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_PLACES))


class TimeZoneInput(forms.TextInput):
    """A text box with the IANA names offered as suggestions (one <datalist>, quick to render)."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-choices"
        self.attrs["list"] = list_id
        self.attrs.setdefault("autocomplete", "off")
        box = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}">', ((n,) for n in _time_zone_names()))
        return format_html('{}<datalist id="{}">{}</datalist>', box, list_id, options)


class TimeZoneField(forms.CharField):
    widget = TimeZoneInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("help_text", _("An IANA name such as Europe/Kyiv or Asia/Seoul."))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value).strip()
        if value and value not in _time_zone_names():
            raise ValidationError(_("Unknown time zone; use a name such as Europe/Kyiv."))
        return value


class ReminderDaysField(forms.CharField):
    """ "3, 1, 0" → [3, 1, 0]; empty means the defaults for the kind."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text.strip():
            return None
        try:
            days = sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
        except ValueError:
            raise ValidationError(
                _("Use whole numbers separated by commas, e.g. 3, 1, 0.")
            ) from None
        if any(d < 0 or d > 365 for d in days):
            raise ValidationError(_("Each number must be between 0 and 365."))
        return sorted(days, reverse=True)


class DeadlineForm(ConfirmMixin, forms.ModelForm):
    reminder_days = ReminderDaysField(
        label=_("Remind this many days before"),
        required=False,
        help_text=_("E.g. 3, 1, 0 (0 = that morning). Empty: the usual days for this kind."),
    )
    due_timezone = TimeZoneField(label=_("Time zone"))

    class Meta:
        model = Deadline
        formfield_callback = formfield
        fields = [
            "kind",
            "title",
            "petition",
            "due_on",
            "due_precision",
            "due_time",
            "due_timezone",
            "window_starts_on",
            "assignees",
            "reminder_days",
            "notes",
        ]
        widgets = {
            "due_on": DateInput(),
            "window_starts_on": DateInput(),
            "due_time": TimeInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "assignees": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "due_on": _('For "by April 2026", choose any day in April and precision "Month".'),
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["petition"].queryset = case.petitions.all()
        self.fields["assignees"].queryset = _case_people_users(case)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("due_time") and cleaned.get("due_precision") != DatePrecision.DAY:
            self.add_error("due_time", _("A time of day needs an exact day."))
        due, opens = cleaned.get("due_on"), cleaned.get("window_starts_on")
        if due and opens and opens > due:
            self.add_error("window_starts_on", _("The window cannot open after the deadline."))
        return cleaned


# --- Documents -------------------------------------------------------------------------------
class DocumentForm(ConfirmMixin, forms.Form):
    file = forms.FileField(label=_("File"))
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    dated_on = forms.DateField(
        label=_("Date of the document"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "The letter's or statement's own date, not today's. Empty: the petition's filing "
            "date or the event's date, if it belongs to one; otherwise the upload day."
        ),
    )
    dated_precision = forms.ChoiceField(
        label=_("Precision"),
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        required=False,
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    petition = forms.ModelChoiceField(
        label=_("Petition"), queryset=Petition.objects.none(), required=False
    )
    event = forms.ModelChoiceField(label=_("Event"), queryset=Event.objects.none(), required=False)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["petition"].queryset = case.petitions.all()
        self.fields["event"].queryset = case.events.all()


# --- The user's own settings -----------------------------------------------------------------
class ProfileForm(forms.ModelForm):
    time_zone = TimeZoneField(label=_("Time zone"))

    class Meta:
        model = UserProfile
        fields = ["time_zone", "language", "email_mode"]


def _named(queryset) -> list[tuple[int, str]]:
    """(id, label) by name, the label being what ``str()`` of the row gives."""
    rows = queryset.order_by("name").values_list("pk", "short_name", "name")
    return [(pk, short_name or name) for pk, short_name, name in rows]


def directory_choices() -> dict[str, list[tuple[int, str]]]:
    """The shared directory as the case list's filters offer it: every organization and
    authority (each petition and event form lists them all too)."""
    return {
        "organization": _named(Organization.objects.all()),
        "authority": _named(Authority.objects.all()),
    }


class _DirectoryChoiceField(forms.TypedChoiceField):
    """A choice among the directory's entries, given as plain (id, name) pairs and taken as
    they are: Django normalises choices (field and widget) each time they are set, which for
    a few hundred entries cost the case list about a millisecond on every request."""

    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, value):
        value = list(value)
        self._choices = value
        self.widget._choices = value  # what ChoiceWidget.choices would hold, normalised


class CaseSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), required=False)
    # Plain choices of (id, name) rather than model choices: the list page shows them on
    # every request, and building 160 authorities as model instances cost milliseconds.
    organization = _DirectoryChoiceField(
        label=_("Organization"), required=False, coerce=int, empty_value=None
    )
    authority = _DirectoryChoiceField(
        label=_("Authority"), required=False, coerce=int, empty_value=None
    )
    risk_level = forms.ChoiceField(label=_("Risk"), required=False)
    overdue = forms.BooleanField(label=_("Has an overdue deadline"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("-opened_on", _("Newest")),
            ("opened_on", _("Oldest")),
            ("next_deadline", _("Next deadline")),
            ("reference", _("Reference")),
            ("title", _("Title")),
            ("-updated_at", _("Recently edited")),
        ],
    )

    def __init__(self, *args, directory: dict | None = None, **kwargs):
        """``directory``: what ``directory_choices()`` returns, if the caller has it."""
        super().__init__(*args, **kwargs)
        from cases.models import CaseStatus, Priority, RiskLevel

        anything = [("", _("Any"))]
        self.fields["status"].choices = anything + list(CaseStatus.choices)
        self.fields["priority"].choices = anything + list(Priority.choices)
        self.fields["risk_level"].choices = anything + list(RiskLevel.choices)
        directory = directory or directory_choices()
        self.fields["organization"].choices = anything + directory["organization"]
        self.fields["authority"].choices = anything + directory["authority"]

    # --- Teams (issue 12) ------------------------------------------------------------------------

    def filters(self):
        """The search as the case list's selector takes it (every filter empty if the form
        is not valid): one place for the web list, its export and the API."""
        from cases.selectors.cases import CaseFilters

        if not self.is_valid():
            return CaseFilters()
        data = self.cleaned_data
        return CaseFilters(
            q=data["q"],
            status=data["status"],
            priority=data["priority"],
            organization=data["organization"],
            authority=data["authority"],
            risk_level=data["risk_level"],
            overdue=data["overdue"],
            sort=data["sort"] or "-opened_on",
        )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.VIEWER
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    reason = forms.CharField(label=_("Why (optional)"), required=False, max_length=500)


class DeactivateForm(forms.Form):
    reassign_to = forms.ModelChoiceField(
        label=_("Give their open deadlines to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody (the case's coordinators are reminded)"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=_("Kept on record with the membership and with each deadline moved."),
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = (
            get_user_model()
            .objects.filter(
                is_active=True,
                memberships__organization_id=membership.organization_id,
                memberships__role__in=[Membership.Role.EDITOR, Membership.Role.COORDINATOR],
            )
            .exclude(pk=membership.user_id)
            .order_by("username")
        )


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("What you sign in with. Letters, digits and @ . + - _ only."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters, not a common one."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        from django.contrib.auth.validators import UnicodeUsernameValidator

        value = self.cleaned_data["username"].strip()
        UnicodeUsernameValidator()(value)
        return value

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


# --- The directory (issue 12) ----------------------------------------------------------------
class AuthorityForm(forms.ModelForm):
    class Meta:
        model = Authority
        fields = ["name", "short_name", "kind", "country", "contact_details", "notes"]
        widgets = {
            "contact_details": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "short_name", "kind", "country", "parent", "website", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Organization.objects.exclude(pk=self.instance.pk)


class MergeForm(forms.Form):
    duplicate = forms.ModelChoiceField(
        label=_("Duplicate to merge into this one"), queryset=Authority.objects.none()
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, keep, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duplicate"].queryset = type(keep).objects.exclude(pk=keep.pk).order_by("name")


# --- Access review (issue 12) ----------------------------------------------------------------
class AccessLogFilterForm(forms.Form):
    user = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(
        label=_("What"),
        required=False,
        choices=[("", _("Everything")), *AccessLog.Action.choices],
    )
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        names = (
            AccessLog.objects.filter(case=case)
            .order_by("username")
            .values_list("username", flat=True)
            .distinct()
        )
        self.fields["user"].choices = [("", _("Everyone"))] + [(n, n) for n in names]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end comes before the start."))
        return data

    def filter(self, rows):
        import datetime as dt

        from django.utils import timezone

        data = self.cleaned_data
        if data.get("user"):
            rows = rows.filter(username=data["user"])
        if data.get("action"):
            rows = rows.filter(action=data["action"])
        tz = timezone.get_current_timezone()
        if data.get("since"):
            rows = rows.filter(at__gte=dt.datetime.combine(data["since"], dt.time(), tz))
        if data.get("until"):
            end = data["until"] + dt.timedelta(days=1)
            rows = rows.filter(at__lt=dt.datetime.combine(end, dt.time(), tz))
        return rows

    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.data.items() if k != "page" and v})


class AlertCloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the alert closed?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept on record with your name and the time."),
    )


# --- Developments (issue 17) ------------------------------------------------------------------
class DevelopmentForm(ConfirmMixin, forms.ModelForm):
    class Meta:
        model = Development
        formfield_callback = formfield
        fields = [
            "owner",
            "kind",
            "title",
            "happened_on",
            "happened_precision",
            "description",
            "authorities",
            "source",
        ]
        widgets = {
            "happened_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
            "authorities": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authorities"].queryset = Authority.objects.order_by("name")
        if self.instance.pk:
            del self.fields["owner"]  # the owner does not change hands
        else:
            self.fields["owner"].queryset = owners.order_by("name")
            if owners.count() == 1:
                self.fields["owner"].initial = owners.first()


class DevelopmentLinkForm(forms.Form):
    """Cases to link the development to: those the user may edit, found by a search box."""

    cases = SafeModelMultipleChoiceField(
        label=_("Cases"),
        queryset=Case.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cases you may edit that the development is not linked to yet."),
    )

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = cases
        self.fields["cases"].label_from_instance = lambda c: f"{c.reference} · {c.title}"


class CaseDevelopmentLinkForm(forms.Form):
    development = forms.ModelChoiceField(
        label=_("Development"), queryset=Development.objects.none()
    )

    def __init__(self, *args, developments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["development"].queryset = developments
        self.fields["development"].label_from_instance = lambda d: (
            f"{d.happened_display} · {d.title}"
        )


_ANY = [("", _("Any"))]


class DeadlineMoveForm(ConfirmMixin, forms.Form):
    """Which deadlines of the linked cases move, and to when."""

    kind = forms.ChoiceField(
        label=_("Deadline kind"), choices=_ANY + DeadlineKind.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("Deadline status"),
        choices=_ANY + [(s, DeadlineStatus(s).label) for s in ("open", "missed")],
        required=False,
        initial="open",
        help_text=_("Any: open and missed deadlines."),
    )
    new_on = forms.DateField(
        label=_("New date"),
        widget=DateInput(),
        help_text=_('For "by April 2026", choose any day in April and precision "Month".'),
    )
    new_precision = forms.ChoiceField(
        label=_("Precision"),
        choices=[(DatePrecision.DAY, _("Exact day")), (DatePrecision.MONTH, _("Month"))],
        initial=DatePrecision.DAY,
    )


class DeadlineMoveApplyForm(DeadlineMoveForm):
    """The preview's form: the deadlines picked (all shown are ticked) and the one reason."""

    deadlines = forms.TypedMultipleChoiceField(
        label=_("Deadlines to move"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=True,
        error_messages={"required": _("Pick at least one deadline to move.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept on each deadline's history, with the development's name."),
    )

    def __init__(self, *args, deadline_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deadlines"].choices = [(pk, str(pk)) for pk in deadline_ids]
