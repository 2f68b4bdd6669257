from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language_info

# Whether the reader runs a team (the menu's "Team" link) is read once and kept in the session
# instead of a query on every page. A change of membership made through the application drops
# it from the user's open sessions at once (post_save/post_delete of a membership,
# cases.services.team.on_two_factor_changed); RUNS_A_TEAM_TTL only bounds a change made around
# the application (SQL, QuerySet.update). Not a security matter: the team pages check the
# reader's role themselves (access.get_team_for); the link only shows the way.
RUNS_A_TEAM_TTL = 15 * 60
RUNS_A_TEAM_SESSION_KEY = "runs_a_team"


def runs_a_team(request) -> bool:
    """Whether request.user coordinates an organization, from the session if fresh."""
    from cases.access import organizations_coordinated_by

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:  # sees every organization: asked live, like staff status
        return organizations_coordinated_by(user).exists()
    session = getattr(request, "session", None)
    now = timezone.now().timestamp()
    kept = session.get(RUNS_A_TEAM_SESSION_KEY) if session is not None else None
    if isinstance(kept, list) and len(kept) == 2 and 0 <= now - kept[1] < RUNS_A_TEAM_TTL:
        return bool(kept[0])
    runs = organizations_coordinated_by(user).exists()
    if session is not None:
        session[RUNS_A_TEAM_SESSION_KEY] = [runs, now]
    return runs


# The page frame's links and the language names, the same on every page: worked out once per
# process (and URL prefix) instead of a dozen reversals on every page (a third of rendering
# the frame).
_FRAME_URLS = {
    "home": "cases:home",
    "case_list": "cases:case-list",
    "case_create": "cases:case-create",
    "developments": "cases:development-list",
    "directory": "cases:organization-list",
    "team": "cases:team-index",
    "admin": "admin:index",
    "settings": "cases:settings",
    "set_language": "cases:set-language",
    "logout": "logout",
}
_frames: dict[str, dict] = {}


def page_frame() -> dict:
    """The frame's link targets by name, and ``languages``: (code, name in that language)."""
    prefix = get_script_prefix()
    frame = _frames.get(prefix)
    if frame is None:
        frame = {name: reverse(route) for name, route in _FRAME_URLS.items()}
        frame["languages"] = [
            (code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
        ]
        _frames[prefix] = frame
    return frame


def navigation(request):
    """What the page frame needs: its links and languages (``page_frame``), and whether the
    user runs a team (read only when the menu is drawn)."""
    user = getattr(request, "user", None)

    def may_add_authority() -> bool:
        from cases.access import may_edit_authorities

        return user is not None and may_edit_authorities(user)

    def second_step_pending() -> bool:
        """Signed in with the password but not yet with the code: no menu to show."""
        if user is None or not user.is_authenticated:
            return False
        if getattr(user, "is_verified", lambda: True)():
            return False
        from cases.security import two_factor_state

        enabled, required = two_factor_state(request)  # kept in the session for a minute
        return enabled or required

    return {
        "frame": page_frame(),
        "second_step_pending": SimpleLazyObject(second_step_pending),
        "runs_a_team": SimpleLazyObject(lambda: runs_a_team(request)),
        "may_add_authority": SimpleLazyObject(may_add_authority),
    }
