"""The secret calendar feed: a user's deadlines as iCalendar, for calendar apps to subscribe to.

No sign-in (calendar apps cannot sign in): the long random key in the address is the secret.
A wrong or revoked key gives 404, so nobody can tell a revoked key from one that never was.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_GET

from cases.models import UserProfile
from cases.selectors.reminders import calendar_deadlines_for
from cases.services.reminders import deadlines_to_ical


@login_not_required
@require_GET
def calendar_feed(request, token: str):
    profile = (
        UserProfile.objects.select_related("user")
        .filter(calendar_token=token, user__is_active=True)
        .first()
    )
    if profile is None:
        raise Http404("No such calendar.")
    with translation.override(profile.language or translation.get_language()):
        body = deadlines_to_ical(calendar_deadlines_for(profile.user), for_user=profile.user)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="deadlines.ics"'
    # The feed is personal and secret: no shared cache may keep it, no search engine list it.
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
