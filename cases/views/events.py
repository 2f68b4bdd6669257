from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases import access, services
from cases.access import Level
from cases.forms import EventForm, QuickEventForm
from cases.models import Event

from .cases import _timeline_context
from .common import run_service


def event_fields(data: dict) -> dict:
    """An event form's cleaned data as services.event_log takes it (the quick add leaves out
    what it does not ask). Shared by the web forms and the API."""
    return {
        "kind": data["kind"],
        "title": data["title"],
        "occurred_on": data["occurred_on"],
        "occurred_on_precision": data["occurred_on_precision"],
        "occurred_at_time": data.get("occurred_at_time"),
        "description": data.get("description", ""),
        "source": data.get("source", ""),
        "organizations": data.get("organizations", ()),
        "authorities": data.get("authorities", ()),
        "prisoners": data.get("prisoners", ()),
        "confirmed": data["confirmed"],
    }


@require_http_methods(["GET", "POST"])
def event_create(request, case_pk):
    """The full form, and the quick add on the case page (which answers htmx with the
    refreshed timeline)."""
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    quick = request.POST.get("quick") == "1"
    form_class = QuickEventForm if quick else EventForm
    kwargs = {} if quick else {"case": case}
    form = form_class(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.event_log(case=case, by=request.user, **event_fields(data)),
            # The quick add shows its result in the timeline it returns; no message needed.
            success=None if quick and request.htmx else _("Event logged."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response and quick and request.htmx:
            context = {
                "case": case,
                "quick_event_form": QuickEventForm(initial={"occurred_on": data["occurred_on"]}),
                **_timeline_context(request, case, can_edit=True),
            }
            return render(request, "cases/partials/timeline_block.html", context)
        if response:
            return response
    if quick and request.htmx:
        context = {
            "case": case,
            "quick_event_form": form,
            **_timeline_context(request, case, can_edit=True),
        }
        return render(request, "cases/partials/timeline_block.html", context)
    return render(request, "cases/event_form.html", {"form": form, "case": case})


@require_http_methods(["GET", "POST"])
def event_edit(request, pk):
    event = access.get_for(request.user, Event.objects.all(), pk, level=Level.EDIT)
    case = event.case
    form = EventForm(request.POST or None, instance=event, case=case)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        related = {name: data.pop(name) for name in ("organizations", "authorities", "prisoners")}
        response = run_service(
            form,
            lambda: services.event_update(event=event, by=request.user, **related, **data),
            success=_("Event saved."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/event_form.html", {"form": form, "case": case, "event": event})
