"""The access log: who viewed a case, revealed an identity, downloaded or exported."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cases.models import AccessLog, Case, CaseViewSession, Prisoner


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


def case_view_record(*, user: AbstractBaseUser, case: Case, session_sid: str) -> None:
    """A view of the case page: the first in this session is a chained access-log row; the
    ones after it only count up beside it (CaseViewSession), since chained rows never change.
    """
    if not session_sid:  # no session list entry to group by: every view is its own row
        access_log_record(
            user=user, action=AccessLog.Action.VIEW_CASE, case=case, target=case.reference
        )
        return
    seen = CaseViewSession.objects.filter(session_sid=session_sid, case=case, user=user)
    if seen.update(count=F("count") + 1, last_at=timezone.now()):
        return
    with transaction.atomic():
        entry = access_log_record(
            user=user, action=AccessLog.Action.VIEW_CASE, case=case, target=case.reference
        )
        try:
            with transaction.atomic():
                CaseViewSession.objects.create(
                    first=entry,
                    user=user,
                    case=case,
                    session_sid=session_sid,
                    first_at=entry.at,
                    last_at=entry.at,
                )
        except IntegrityError:
            # The same session opened the case twice at once: both views are on the log.
            seen.update(count=F("count") + 1, last_at=timezone.now())
