"""Personal access tokens for the API: the user's own, under their settings."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from cases import access, security
from cases.forms import DateInput, apply_service_errors
from cases.models import ApiToken
from cases.services.tokens import api_token_create, api_token_revoke

from .two_factor import _throttled_message as throttled_message


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What will use it, e.g. “Reports bot”."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("May"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ
    )
    expires_on = forms.DateField(label=gettext_lazy("Expires on"), widget=DateInput())
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=32,
        help_text=gettext_lazy("Your account uses two-factor sign-in: confirm with a fresh code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off"}),
    )

    def __init__(self, *args, needs_code: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["code"]


def _needs_code(user) -> bool:
    """Who must (or chose to) sign in with a second factor makes tokens only after a fresh
    code: a token outlives the session, so a session left open must not be enough."""
    return security.two_factor_enabled(user) or security.two_factor_required(user)


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def token_list(request):
    needs_code = _needs_code(request.user)
    initial = {"expires_on": timezone.localdate() + dt.timedelta(days=90)}
    form = TokenForm(request.POST or None, needs_code=needs_code, initial=initial)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fresh = True
        if needs_code:
            try:
                fresh = security.code_verify(request=request, code=data["code"]) is not None
            except security.Throttled as error:
                form.add_error("code", throttled_message(error))
                fresh = False
            else:
                if not fresh:
                    form.add_error("code", _("That code is not right, or was used already."))
        if fresh:
            try:
                token, raw = api_token_create(
                    user=request.user,
                    name=data["name"],
                    scope=data["scope"],
                    expires_on=data["expires_on"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                created = {"token": token, "raw": raw}
                form = TokenForm(needs_code=needs_code, initial=initial)
    tokens = access.tokens_of(request.user).order_by("revoked_at", "-created_at")
    return render(
        request,
        "cases/tokens.html",
        {"form": form, "tokens": tokens, "created": created, "now": timezone.now()},
    )


@require_POST
def token_revoke(request, pk):
    token = access.get_token_for(request.user, pk)
    api_token_revoke(token=token, by=request.user, reason="Revoked by its user")
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("cases:tokens")
