"""Shows each signed-in user the site in their language and time zone."""

import zoneinfo

from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject

from cases.services import profile_get

# The time zone and language are read from the profile once and kept in the session instead of
# a query on every page. A change drops the copy at once: in the session that makes it
# (preferences_forget) and in the user's other open sessions (post_save/post_delete of the
# profile, cases.services.team.on_preferences_changed). PREFERENCES_TTL only bounds a change
# made around the application (SQL, QuerySet.update).
PREFERENCES_TTL = 15 * 60
PREFERENCES_SESSION_KEY = "preferences"


def preferences_forget(request) -> None:
    request.session.pop(PREFERENCES_SESSION_KEY, None)


def _preferences(request) -> tuple[str, str]:
    now = timezone.now().timestamp()
    kept = request.session.get(PREFERENCES_SESSION_KEY)
    if isinstance(kept, list) and len(kept) == 3 and 0 <= now - kept[2] < PREFERENCES_TTL:
        return kept[0], kept[1]
    profile = profile_get(request.user)
    request.session[PREFERENCES_SESSION_KEY] = [profile.effective_time_zone, profile.language, now]
    return profile.effective_time_zone, profile.language


class UserPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.profile = SimpleLazyObject(lambda: profile_get(user))
            time_zone, language = _preferences(request)
            try:
                timezone.activate(zoneinfo.ZoneInfo(time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class SessionListMiddleware:
    """Keeps each signed-in session on the user's list of sessions (*My settings*), so that
    it can be ended from another device or by a coordinator (cases.services.team)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from cases.services.team import session_track

            session_track(request)
        return self.get_response(request)
