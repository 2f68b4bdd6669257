"""Forms of the export pages: they validate and normalise; cases.services.exports decides."""

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .profiles import PROFILES

CASE_FORMATS = [
    ("dossier.pdf", _("Dossier (PDF)")),
    ("timeline.csv", _("Timeline (CSV)")),
    ("timeline.xlsx", _("Timeline (XLSX, for spreadsheets)")),
]
LIST_FORMATS = [("case_list.csv", "CSV"), ("case_list.xlsx", _("XLSX, for spreadsheets"))]


class ExportForm(forms.Form):
    profile = forms.ChoiceField(label=_("Audience profile"), widget=forms.RadioSelect)
    audience = forms.CharField(
        label=_("Prepared for"),
        max_length=120,
        help_text=_(
            "Who receives it, e.g. “Coordination Headquarters” or “ICRC Kyiv delegation”. "
            "Printed on every page."
        ),
    )
    language = forms.ChoiceField(label=_("Language of the export"), choices=settings.LANGUAGES)
    output = forms.ChoiceField(label=_("What"), widget=forms.RadioSelect)
    include_annexes = forms.BooleanField(
        label=_("Append the documents (PDF annexes merged, images embedded, others listed)"),
        required=False,
    )

    def __init__(self, *args, allowed_profiles: list[str], case_list: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [
            (key, PROFILES[key].label) for key in PROFILES if key in allowed_profiles
        ]
        self.fields["output"].choices = LIST_FORMATS if case_list else CASE_FORMATS
        self.fields["output"].initial = self.fields["output"].choices[0][0]
        self.fields["language"].initial = (get_language() or "en")[:2]
        if allowed_profiles:
            self.fields["profile"].initial = allowed_profiles[0]
        if case_list:
            del self.fields["include_annexes"]

    def kind_and_format(self) -> tuple[str, str]:
        kind, fmt = self.cleaned_data["output"].split(".")
        return kind, fmt


class VerifyForm(forms.Form):
    file = forms.FileField(label=_("The exported file"))
