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

    return {
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "runs_a_team": SimpleLazyObject(runs_a_team),
        "may_add_authority": SimpleLazyObject(may_add_authority),
    }
