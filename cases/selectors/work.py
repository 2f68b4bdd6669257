""" "My work": what needs the signed-in user's attention now."""

import datetime as dt

from django.db.models import Exists, Max, OuterRef, QuerySet

from cases import access
from cases.models import Case, Deadline, DeadlineStatus, Petition, PetitionStatus

AWAITING_REPLY = (
    PetitionStatus.FILED,
    PetitionStatus.ACKNOWLEDGED,
    PetitionStatus.UNDER_REVIEW,
)


def deadlines_ahead(user, *, today: dt.date, days: int = 30) -> QuerySet[Deadline]:
    """Open deadlines due within ``days`` and overdue ones; the user's own first."""
    mine = Deadline.assignees.through.objects.filter(deadline_id=OuterRef("pk"), user_id=user.pk)
    return (
        access.visible_through_case(user, Deadline.objects.all())
        .filter(status=DeadlineStatus.OPEN, due_on__lte=today + dt.timedelta(days=days))
        .annotate(mine=Exists(mine))
        .select_related("case")
        .order_by("-mine", "due_on", "due_time", "id")
    )


def petitions_awaiting_reply(user) -> QuerySet[Petition]:
    """Filed petitions with no answer yet, longest waiting first."""
    return (
        access.visible_through_case(user, Petition.objects.all())
        .filter(status__in=AWAITING_REPLY)
        .select_related("case", "addressed_to")
        .order_by("filed_on", "id")
    )


def recently_changed_cases(user, *, limit: int = 10) -> QuerySet[Case]:
    return (
        access.cases_visible_to(user)
        .annotate(last_activity=Max("timeline_entries__recorded_at"))
        .filter(last_activity__isnull=False)
        .order_by("-last_activity")[:limit]
    )
