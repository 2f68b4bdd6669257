from django.conf import settings
from django.utils.functional import SimpleLazyObject


def navigation(request):
    """What the page frame needs: the languages to switch between, and whether the user runs
    a team (read only when the menu is drawn)."""
    user = getattr(request, "user", None)

    def runs_a_team() -> bool:
        from cases.access import organizations_coordinated_by

        return user is not None and organizations_coordinated_by(user).exists()

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
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "second_step_pending": SimpleLazyObject(second_step_pending),
        "runs_a_team": SimpleLazyObject(runs_a_team),
        "may_add_authority": SimpleLazyObject(may_add_authority),
    }
