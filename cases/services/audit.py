"""The access log: who viewed a case, revealed an identity, downloaded or exported."""

from django.contrib.auth.models import AbstractBaseUser

from cases.models import AccessLog, Case


def access_log_record(
    *, user: AbstractBaseUser, action: str, case: Case | None, target: str = ""
) -> AccessLog:
    return AccessLog.objects.create(
        user=user,
        username=user.get_username(),
        case=case,
        action=action,
        target=target[:200],
    )
