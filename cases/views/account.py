from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import services
from cases.forms import ProfileForm
from cases.middleware import preferences_forget
from cases.services import profile_get


def settings_view(request):
    profile = profile_get(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        preferences_forget(request)
        if profile.language:
            translation.activate(profile.language)
        messages.success(request, _("Your settings are saved."))
        return redirect("cases:settings")
    return render(request, "cases/settings.html", {"form": form, "profile": profile})


@login_not_required
@require_POST
def set_language(request):
    """Switch the interface language (kept on the profile when signed in)."""
    from django.conf import settings

    code = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if code in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            profile = profile_get(request.user)
            profile.language = code
            profile.save(update_fields=["language", "updated_at"])
            preferences_forget(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


class _QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, but the email is queued for the worker (and limited per address and
    client) instead of being looked up and sent inside the request."""

    def save(self, *, request, **kwargs):
        services.password_reset_request(
            email=self.cleaned_data["email"], ip=get_client_ip_address(request)
        )


class PasswordResetView(auth_views.PasswordResetView):
    """The same page and the same time whatever address is given (issue: a known address
    answered 80 times slower than an unknown one while the email was sent in the request)."""

    form_class = _QueuedPasswordResetForm
