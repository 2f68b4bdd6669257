"""Two-factor sign-in: the code page, setting up an authenticator app, recovery codes.

The rules (who must use it, what counts as a code) live in ``cases.security``; these views
are the pages around them. ``TwoFactorMiddleware`` sends people here.
"""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST, require_safe
from django_otp.plugins.otp_static.models import StaticDevice

from cases import security

_NEW_CODES_SESSION_KEY = "two_factor_new_recovery_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = help_text


def _next_url(request) -> str:
    """Where to go once done: the page the user asked for, if it is on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _throttled_message(error: security.Throttled) -> str:
    return ngettext(
        "Too many wrong codes in a row. Wait %(seconds)d second, then try again.",
        "Too many wrong codes in a row. Wait %(seconds)d seconds, then try again.",
        error.seconds,
    ) % {"seconds": error.seconds}


def _check_code(request, form):
    """Verify the code on a bound form: the device that took it, or None with the reason
    on the form."""
    if not form.is_valid():
        return None
    try:
        device = security.code_verify(request=request, code=form.cleaned_data["code"])
    except security.Throttled as error:
        form.add_error("code", _throttled_message(error))
        return None
    if device is None:
        form.add_error(
            "code",
            _(
                "This code is not right. Type the code your app shows now, or one of your "
                "unused recovery codes."
            ),
        )
    return device


def _announce_recovery_code_used(request) -> None:
    left = security.recovery_codes_left(request.user)
    messages.warning(
        request,
        ngettext(
            "You used a recovery code. %(left)d recovery code is left.",
            "You used a recovery code. %(left)d recovery codes are left.",
            left,
        )
        % {"left": left}
        + " "
        + _("Make new ones on the two-factor page when you run low."),
    )


@security.two_factor_exempt
@sensitive_post_parameters("code")
@never_cache
def verify(request):
    """The second step of signing in: a code from the app, or a recovery code."""
    next_url = _next_url(request)
    if request.user.is_verified() or not security.two_factor_enabled(request.user):
        return redirect(next_url)
    form = CodeForm(
        request.POST or None,
        help_text=_(
            "Open your authenticator app and type the 6-digit code it shows for this site. "
            "Without your phone, type one of your recovery codes instead."
        ),
    )
    if request.method == "POST" and (device := _check_code(request, form)) is not None:
        if isinstance(device, StaticDevice):
            _announce_recovery_code_used(request)
        return redirect(next_url)
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": next_url})


@security.two_factor_exempt
@sensitive_post_parameters("code")
@never_cache
def setup(request):
    """Set up an authenticator app: scan or type the key, then confirm with a code."""
    user = request.user
    next_url = _next_url(request)
    already = security.two_factor_enabled(user)
    if already and not user.is_verified():
        # Replacing the app needs the second step first, or a password would be enough.
        return redirect(_with_next("cases:two-factor-verify", request.get_full_path()))
    device = security.authenticator_pending(request=request, save=request.method == "POST")
    form = CodeForm(
        request.POST or None,
        help_text=_("The 6-digit code your app shows for this site after you added the key."),
    )
    if request.method == "POST" and form.is_valid():
        try:
            codes = security.authenticator_confirm(
                request=request, device=device, code=form.cleaned_data["code"]
            )
        except security.Throttled as error:
            form.add_error("code", _throttled_message(error))
        else:
            if codes is None:
                form.add_error(
                    "code",
                    _(
                        "This code is not right. Check that the key was typed completely and "
                        "that the time on your phone is correct, then type the code it shows now."
                    ),
                )
            else:
                request.session[_NEW_CODES_SESSION_KEY] = codes
                messages.success(request, _("Two-factor sign-in is on."))
                return redirect(_with_next("cases:two-factor-recovery-codes", next_url))
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "secret": security.authenticator_secret(device),
            "qr_svg": security.authenticator_qr_svg(device),
            "required": security.two_factor_required(user),
            "replacing": already,
        },
    )


@require_safe
@never_cache
def recovery_codes(request):
    """New recovery codes, shown once right after they were made."""
    if not security.two_factor_enabled(request.user):
        return redirect("cases:two-factor")
    codes = request.session.pop(_NEW_CODES_SESSION_KEY, None)
    return render(
        request,
        "registration/two_factor_recovery_codes.html",
        {
            "codes": [security.format_recovery_code(code) for code in codes or []],
            "left": security.recovery_codes_left(request.user),
            "next": _next_url(request),
        },
    )


@require_POST
def recovery_codes_new(request):
    if not security.two_factor_enabled(request.user):
        return redirect("cases:two-factor")
    request.session[_NEW_CODES_SESSION_KEY] = security.recovery_codes_regenerate(user=request.user)
    messages.success(request, _("New recovery codes are made. The old ones no longer work."))
    return redirect("cases:two-factor-recovery-codes")


@require_safe
@never_cache
def manage(request):
    """Whether two-factor sign-in is on, and what can be done about it."""
    user = request.user
    return render(
        request,
        "registration/two_factor_manage.html",
        {
            "enabled": security.two_factor_enabled(user),
            "required": security.two_factor_required(user),
            "left": security.recovery_codes_left(user),
        },
    )


@sensitive_post_parameters("code")
@never_cache
def disable(request):
    """Turn two-factor sign-in off (only for people who are not required to use it)."""
    user = request.user
    if security.two_factor_required(user):
        raise PermissionDenied
    if not security.two_factor_enabled(user):
        return redirect("cases:two-factor")
    form = CodeForm(
        request.POST or None,
        help_text=_("To confirm, type the code your app shows now, or a recovery code."),
    )
    if request.method == "POST" and _check_code(request, form) is not None:
        security.two_factor_disable(user=user)
        security.two_factor_state_forget(request)
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("cases:two-factor")
    return render(request, "registration/two_factor_disable.html", {"form": form})
