"""Shows each signed-in user the site in their language and time zone."""

import zoneinfo

from django.utils import timezone, translation

from cases.services import profile_get


class UserPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = profile_get(user)
            request.profile = profile
            try:
                timezone.activate(zoneinfo.ZoneInfo(profile.effective_time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if profile.language:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
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
