from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases import access, services
from cases.access import Level
from cases.forms import PetitionForm, PetitionRequestFormSet, PetitionStatusForm
from cases.models import PETITION_TRANSITIONS, Petition, PetitionRequest
from cases.selectors.history import readable_history

from .common import run_service


def _request_specs(formset) -> list[services.RequestSpec]:
    specs = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or (not form.has_changed() and not form.instance.pk):
            continue
        specs.append(
            services.RequestSpec(
                kind=data.get("kind") or PetitionRequest.Kind.OTHER,
                text=data.get("text", ""),
                outcome=data.get("outcome") or PetitionRequest.Outcome.PENDING,
                id=form.instance.pk,
                delete=bool(data.get("DELETE")),
            )
        )
    return specs


_PETITION_FIELDS = (
    "title",
    "reference",
    "addressed_to",
    "filed_by",
    "copied_to",
    "filed_on",
    "channel",
    "legal_bases",
    "legal_basis_other",
    "summary",
)


def _petition_fields(data: dict) -> dict:
    """What the petition form edits, as the services take it (not status, requests, files)."""
    return {name: data[name] for name in _PETITION_FIELDS}


@require_http_methods(["GET", "POST"])
def petition_create(request, case_pk):
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    form = PetitionForm(request.POST or None, request.FILES or None, case=case)
    formset = PetitionRequestFormSet(
        request.POST or None, instance=Petition(case=case), prefix="requests"
    )
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.petition_create(
                case=case,
                by=request.user,
                status=data["status"],
                requests=[s for s in _request_specs(formset) if not s.delete],
                uploads=data["documents"],
                confirmed=data["confirmed"],
                **_petition_fields(data),
            ),
            success=_("Petition logged."),
            request=request,
            redirect_to=lambda petition: reverse("cases:petition-detail", args=[petition.pk]),
        )
        if response:
            return response
    return render(
        request, "cases/petition_form.html", {"form": form, "formset": formset, "case": case}
    )


@require_http_methods(["GET", "POST"])
def petition_edit(request, pk):
    petition = access.get_for(request.user, Petition.objects.all(), pk, level=Level.EDIT)
    case = petition.case
    form = PetitionForm(request.POST or None, instance=petition, case=case)
    formset = PetitionRequestFormSet(request.POST or None, instance=petition, prefix="requests")
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.petition_update(
                petition=petition,
                by=request.user,
                requests=_request_specs(formset),
                confirmed=data["confirmed"],
                **_petition_fields(data),
            ),
            success=_("Petition saved."),
            request=request,
            redirect_to=reverse("cases:petition-detail", args=[petition.pk]),
        )
        if response:
            return response
    return render(
        request,
        "cases/petition_form.html",
        {"form": form, "formset": formset, "case": case, "petition": petition},
    )


@require_safe
def petition_detail(request, pk):
    petition = access.get_for(request.user, Petition.objects.select_related("addressed_to"), pk)
    level = access.case_level(request.user, petition.case)
    return render(
        request,
        "cases/petition_detail.html",
        {
            "petition": petition,
            "case": petition.case,
            "can_edit": level >= Level.EDIT,
            "requests": petition.requests.all(),
            "documents": petition.documents.all(),
            "deadlines": petition.deadlines.all(),
            "history": readable_history(petition, user=request.user),
            "status_choices": services.allowed_next(petition, PETITION_TRANSITIONS),
        },
    )


@require_http_methods(["GET", "POST"])
def petition_status(request, pk):
    petition = access.get_for(request.user, Petition.objects.all(), pk, level=Level.EDIT)
    # Read before the service runs: a refused change leaves the petition as it was.
    current = petition.get_status_display()
    form = PetitionStatusForm(
        request.POST or None, choices=services.allowed_next(petition, PETITION_TRANSITIONS)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.petition_change_status(
                petition=petition,
                to=data["to"],
                by=request.user,
                reason=data["reason"],
                response_received_on=data["response_received_on"],
                response_summary=data["response_summary"],
                expect_reply_by=data["expect_reply_by"],
                **form.happened(),
            ),
            success=_("Petition status changed."),
            request=request,
            redirect_to=reverse("cases:petition-detail", args=[petition.pk]),
        )
        if response:
            return response
    return render(
        request,
        "cases/status_form.html",
        {
            "form": form,
            "case": petition.case,
            "subject": petition,
            "current": current,
        },
    )
