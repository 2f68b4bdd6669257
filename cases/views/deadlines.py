from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases import access, services
from cases.access import Level
from cases.forms import DeadlineForm, StatusForm
from cases.models import DEADLINE_TRANSITIONS, DEFAULT_REMINDER_DAYS, Deadline, Reminder

from .common import run_service


def _fields(data: dict) -> dict:
    fields = dict(data)
    if fields.get("reminder_days") is None:
        fields["reminder_days"] = list(DEFAULT_REMINDER_DAYS.get(fields["kind"], []))
    return fields


@require_http_methods(["GET", "POST"])
def deadline_create(request, case_pk):
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    initial = {}
    petition_id = request.GET.get("petition", "")
    if petition_id.isdigit():
        initial["petition"] = case.petitions.filter(pk=int(petition_id)).first()
    form = DeadlineForm(request.POST or None, case=case, initial=initial)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.deadline_create(
                case=case, by=request.user, **_fields(form.cleaned_data)
            ),
            success=_("Deadline set."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/deadline_form.html", {"form": form, "case": case})


@require_http_methods(["GET", "POST"])
def deadline_edit(request, pk):
    deadline = access.get_for(request.user, Deadline.objects.all(), pk, level=Level.EDIT)
    form = DeadlineForm(request.POST or None, instance=deadline, case=deadline.case)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.deadline_update(
                deadline=deadline, by=request.user, **_fields(form.cleaned_data)
            ),
            success=_("Deadline saved."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[deadline.case_id]),
        )
        if response:
            return response
    return render(
        request,
        "cases/deadline_form.html",
        {"form": form, "case": deadline.case, "deadline": deadline},
    )


@require_http_methods(["GET", "POST"])
def deadline_status(request, pk):
    deadline = access.get_for(request.user, Deadline.objects.all(), pk, level=Level.EDIT)
    choices = services.allowed_next(deadline, DEADLINE_TRANSITIONS)
    current = deadline.get_status_display()
    wanted = request.GET.get("to")
    form = StatusForm(request.POST or None, choices=choices, initial={"to": wanted})
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.deadline_change_status(
                deadline=deadline,
                to=form.cleaned_data["to"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                **form.happened(),
            ),
            success=_("Deadline updated."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[deadline.case_id]),
        )
        if response:
            return response
    return render(
        request,
        "cases/status_form.html",
        {
            "form": form,
            "case": deadline.case,
            "subject": deadline,
            "current": current,
        },
    )


@require_POST
def reminder_retry(request, pk):
    """Send a failed reminder again, from the case page (the case's coordinators)."""
    reminder = access.get_for(
        request.user,
        Reminder.objects.select_related("deadline"),
        pk,
        level=Level.MANAGE,
        case_path="deadline__case",
    )
    if services.reminder_retry(reminder=reminder):
        messages.success(request, _("The reminder will be sent again within a minute."))
    else:
        messages.info(request, _("This reminder is no longer waiting to be sent again."))
    return redirect("cases:case-detail", pk=reminder.deadline.case_id)
