from urllib.parse import urljoin

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from cases import access, services
from cases.forms import ProfileForm
from cases.middleware import preferences_forget
from cases.services import profile_get
from cases.services import team as team_services


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
    calendar_path = reverse("cases:calendar-feed", kwargs={"token": profile.calendar_token})
    context = {
        "form": form,
        "profile": profile,
        # Only cases the user may still see (a mute outlives an ended share, harmlessly).
        "muted_cases": access.cases_visible_to(request.user)
        .filter(pk__in=profile.muted_cases.values("pk"))
        .order_by("reference"),
        "calendar_url": urljoin(settings.SITE_URL, calendar_path),
        "sessions": team_services.sessions_active(request.user),
        "current_sid": team_services.session_sid(request),
    }
    return render(request, "cases/settings.html", context)


@require_POST
def calendar_new(request):
    """A new secret calendar address; the old one stops working at once."""
    services.calendar_token_regenerate(user=request.user)
    messages.success(
        request,
        _("Your calendar has a new address. Subscribe to it again; the old one no longer works."),
    )
    return redirect(reverse("cases:settings") + "#calendar")


@require_POST
def sessions_end_others(request):
    ended = team_services.sessions_end(
        user=request.user, keep_sid=team_services.session_sid(request) or "-"
    )
    messages.success(
        request,
        ngettext(
            "%(count)d other session was signed out.",
            "%(count)d other sessions were signed out.",
            ended,
        )
        % {"count": ended},
    )
    return redirect(reverse("cases:settings") + "#sessions")


@require_POST
def case_mute(request, pk):
    """Mute (muted=1) or unmute (muted=0) reminder emails about one case, for oneself."""
    case = access.get_case_for(request.user, pk)
    muted = request.POST.get("muted") == "1"
    services.case_mute(user=request.user, case=case, muted=muted)
    if muted:
        messages.success(
            request, _("No more reminder emails about %(ref)s.") % {"ref": case.reference}
        )
    else:
        messages.success(
            request, _("Reminder emails about %(ref)s again.") % {"ref": case.reference}
        )
    if request.POST.get("next") == "settings":
        return redirect(reverse("cases:settings") + "#muted")
    return redirect("cases:case-detail", pk=case.pk)


@login_not_required
@require_POST
def set_language(request):
    """Switch the interface language (kept on the profile when signed in)."""
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


@login_not_required
@require_safe
def signed_out(request):
    """Where signing out lands: says so (a signed-in visitor goes home instead)."""
    if request.user.is_authenticated:
        return redirect("cases:home")
    return render(request, "registration/logged_out.html")
