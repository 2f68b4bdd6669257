from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from cases.selectors import work


@require_safe
def home(request):
    today = timezone.localdate()
    deadlines = list(work.deadlines_ahead(request.user, today=today))
    for deadline in deadlines:
        deadline.days = deadline.days_left(today)
    petitions = list(work.petitions_awaiting_reply(request.user))
    for petition in petitions:
        petition.days_waiting = (today - petition.filed_on).days if petition.filed_on else None
    return render(
        request,
        "cases/home.html",
        {
            "deadlines": deadlines,
            "petitions": petitions,
            "recent_cases": work.recently_changed_cases(request.user),
            "today": today,
        },
    )
