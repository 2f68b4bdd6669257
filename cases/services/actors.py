"""Named actors for history rows written outside a web request (commands, tasks, the demo)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

SYSTEM_ACTOR_PREFIX = "system:"


def system_actor(name: str) -> AbstractBaseUser:
    """The inactive account that stands for an automated actor, e.g. ``system:load_demo``.

    It cannot sign in (inactive, unusable password); it only names who wrote a history row.
    """
    user_model = get_user_model()
    username = f"{SYSTEM_ACTOR_PREFIX}{name}"
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"is_active": False, "first_name": name}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def is_system_actor(user) -> bool:
    """Whether ``user`` stands for an automated actor (a command, a task, the demo loader).

    Those act for the installation, not for an organization: services that check a person's
    rights (linking a person into a case, ...) let them through, since no request reaches
    them and no one can sign in as them.
    """
    return (
        user is not None
        and not user.is_active
        and user.username.startswith(SYSTEM_ACTOR_PREFIX)
        and not user.has_usable_password()
    )
