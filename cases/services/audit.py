"""The access log: who viewed a case, revealed an identity, downloaded or exported."""

from django.contrib.auth.models import AbstractBaseUser

from cases.models import AccessLog, Case, Prisoner


def access_log_record(
    *,
    user: AbstractBaseUser,
    action: str,
    case: Case | None,
    target: str = "",
    prisoner: Prisoner | None = None,
) -> AccessLog:
    """One row of the access log. A reveal names the person (``prisoner``), so that it is on
    the record of the person's owner, whoever reveals and from wherever."""
    return AccessLog.objects.create(
        user=user,
        username=user.get_username(),
        case=case,
        prisoner=prisoner,
        action=action,
        target=target[:200],
    )
