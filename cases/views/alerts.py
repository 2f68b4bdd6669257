"""Urgent alerts on a case: ticking the checklist, closing with a reason (editors of the case)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases import access
from cases.access import Level
from cases.forms import AlertCloseForm
from cases.models import Alert
from cases.services import alerts as services

from .common import run_service


def _alert_for(request, pk) -> Alert:
    return access.get_for(
        request.user, Alert.objects.select_related("prisoner"), pk, level=Level.EDIT
    )


@require_POST
def alert_check(request, pk, item):
    """Tick (``done=1``) or untick one item of the alert's checklist."""
    alert = _alert_for(request, pk)
    check = alert.checks.filter(item=item).first()
    if check is None:
        raise Http404("No such item.")
    try:
        services.alert_check_set(check=check, done=request.POST.get("done") == "1", by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(reverse("cases:case-detail", args=[alert.case_id]) + f"#alert-{alert.pk}")


@require_http_methods(["GET", "POST"])
def alert_close(request, pk):
    alert = _alert_for(request, pk)
    form = AlertCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.alert_close(
                alert=alert, by=request.user, reason=form.cleaned_data["reason"]
            ),
            success=_("The alert is closed."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[alert.case_id]),
        )
        if response:
            return response
    return render(
        request,
        "cases/alert_close.html",
        {
            "form": form,
            "alert": alert,
            "case": alert.case,
            "all_done": not alert.checks.filter(done=False).exists(),
        },
    )
