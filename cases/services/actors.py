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
