"""Developments: the list, the record, its links to cases, and moving deadlines from it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from cases import access
from cases.access import Level
from cases.forms import (
    CaseDevelopmentLinkForm,
    DeadlineMoveApplyForm,
    DeadlineMoveForm,
    DevelopmentForm,
    DevelopmentLinkForm,
    apply_service_errors,
)
from cases.models import DeadlineKind, DevelopmentKind
from cases.selectors import developments as selectors
from cases.services import developments as development_services

from .common import run_service


@require_http_methods(["GET"])
def development_list(request):
    access.require_signed_in(request.user)
    q = request.GET.get("q", "").strip()[:200]
    return render(
        request,
        "developments/development_list.html",
        {
            "developments": selectors.developments_for(request.user, q=q)[:200],
            "q": q,
            "may_create": access.organizations_recording_developments(request.user).exists(),
        },
    )


@require_http_methods(["GET", "POST"])
def development_create(request):
    owners = access.organizations_recording_developments(request.user)
    if not owners.exists():
        raise PermissionDenied
    form = DevelopmentForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: development_services.development_create(by=request.user, **form.cleaned_data),
            success=_("Development recorded. Link it to the cases it bears on."),
            request=request,
            redirect_to=lambda d: reverse("cases:development-link", args=[d.pk]),
        )
        if response:
            return response
    return render(
        request,
        "developments/development_form.html",
        {"form": form, "heading": _("Record a development")},
    )


@require_http_methods(["GET", "POST"])
def development_edit(request, pk):
    development = access.get_development_for(request.user, pk, edit=True)
    form = DevelopmentForm(request.POST or None, instance=development, owners=None)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: development_services.development_update(
                development=development, by=request.user, **form.cleaned_data
            ),
            success=_("Development saved."),
            request=request,
            redirect_to=reverse("cases:development-detail", args=[development.pk]),
        )
        if response:
            return response
    return render(
        request,
        "developments/development_form.html",
        {"form": form, "development": development, "heading": _("Edit the development")},
    )


@require_http_methods(["GET"])
def development_detail(request, pk):
    development = access.get_development_for(request.user, pk)
    links = list(selectors.development_links_visible(request.user, development))
    editable = set(
        access.cases_editable_by(request.user)
        .filter(pk__in=[link.case_id for link in links])
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    moves = list(selectors.deadline_moves_of(development)[:20])
    for move in moves:
        move.may_undo = move.may_undo_at(now) and move.by_id == request.user.pk
    return render(
        request,
        "developments/development_detail.html",
        {
            "development": development,
            "links": [(link, link.case_id in editable) for link in links],
            "may_edit": access.may_edit_development(request.user, development),
            "moves": moves,
        },
    )


@require_http_methods(["GET", "POST"])
def development_link(request, pk):
    """Link the development to cases the user may edit (a search box narrows the list)."""
    development = access.get_development_for(request.user, pk)
    q = request.GET.get("q", "").strip()[:200]
    cases = selectors.cases_to_link(request.user, development, q=q)
    form = DevelopmentLinkForm(
        request.POST or None, cases=cases[:100] if not request.POST else cases
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["cases"]
        for case in chosen:
            development_services.development_link_case(
                development=development, case=case, by=request.user
            )
        count = len(chosen)
        messages.success(
            request,
            ngettext("Linked to %(n)d case.", "Linked to %(n)d cases.", count) % {"n": count},
        )
        return redirect("cases:development-detail", pk=development.pk)
    return render(
        request,
        "developments/development_link.html",
        {"development": development, "form": form, "q": q},
    )


@require_POST
def development_unlink(request, pk, link_pk):
    development = access.get_development_for(request.user, pk)
    link = access.get_development_link_for(request.user, development, link_pk)
    development_services.development_unlink_case(link=link, by=request.user)
    messages.success(
        request,
        _("The development is no longer linked to %(reference)s.")
        % {"reference": link.case.reference},
    )
    return redirect("cases:development-detail", pk=development.pk)


@require_http_methods(["GET", "POST"])
def case_development_link(request, pk):
    """From the case page: link a development the user sees to this case."""
    case = access.get_case_for(request.user, pk, level=Level.EDIT)
    form = CaseDevelopmentLinkForm(
        request.POST or None, developments=selectors.developments_to_link(request.user, case)
    )
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: development_services.development_link_case(
                development=form.cleaned_data["development"], case=case, by=request.user
            ),
            success=_("Development linked."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "developments/case_development_link.html", {"case": case, "form": form})


def _filters(data) -> dict:
    return {
        "kind": data["kind"],
        "status": data["status"],
        "new_on": data["new_on"],
        "new_precision": data["new_precision"],
    }


@require_http_methods(["GET", "POST"])
def development_move(request, pk):
    """Apply to deadlines: choose (GET), preview every change (GET with the choice), apply
    with one reason (POST)."""
    development = access.get_development_for(request.user, pk)
    posted = request.method == "POST"
    asked = request.POST if posted else (request.GET if "new_on" in request.GET else None)
    initial = {"status": "open"}
    if development.kind == DevelopmentKind.EXCHANGE_ANNOUNCED:
        initial["kind"] = DeadlineKind.EXCHANGE_WINDOW
    choose = DeadlineMoveForm(asked, initial=initial)
    context = {"development": development, "choose": choose, "preview": None}
    if asked is None or not choose.is_valid():
        return render(request, "developments/deadline_move.html", context)
    try:
        preview = development_services.deadline_move_preview(
            development=development, by=request.user, **_filters(choose.cleaned_data)
        )
    except ValidationError as error:
        apply_service_errors(choose, error)
        return render(request, "developments/deadline_move.html", context)
    ids = [line.deadline.pk for line in preview.movable]
    apply = DeadlineMoveApplyForm(
        request.POST if posted else None,
        deadline_ids=ids,
        initial={**choose.cleaned_data, "deadlines": ids},
    )
    picked = set(ids)
    if posted:
        picked = {int(v) for v in request.POST.getlist("deadlines") if v.isdigit()}
        if apply.is_valid():
            data = apply.cleaned_data
            response = run_service(
                apply,
                lambda: development_services.deadline_move_apply(
                    development=development,
                    by=request.user,
                    reason=data["reason"],
                    deadline_ids=data["deadlines"],
                    confirmed=data["confirmed"],
                    **_filters(data),
                ),
                success=None,
                request=request,
                redirect_to=lambda move: reverse("cases:deadline-move-detail", args=[move.pk]),
            )
            if response:
                messages.success(request, _("Deadlines moved. You can undo this for a day."))
                return response
    context.update(preview=preview, apply=apply, picked=picked)
    return render(request, "developments/deadline_move.html", context)


@require_http_methods(["GET"])
def deadline_move_detail(request, pk):
    move = access.get_deadline_move_for(request.user, pk)
    items = list(selectors.move_items_visible(request.user, move))
    return render(
        request,
        "developments/deadline_move_detail.html",
        {
            "move": move,
            "development": move.development,
            "items": items,
            "may_undo": move.may_undo_at(timezone.now()) and move.by_id == request.user.pk,
        },
    )


@require_POST
def deadline_move_undo(request, pk):
    move = access.get_deadline_move_for(request.user, pk, undo=True)
    try:
        result = development_services.deadline_move_undo(move=move, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("cases:deadline-move-detail", pk=move.pk)
    restored, refused = len(result.restored), len(result.refused)
    messages.success(
        request,
        ngettext("%(n)d deadline put back.", "%(n)d deadlines put back.", restored)
        % {"n": restored},
    )
    if refused:
        messages.warning(
            request,
            ngettext(
                "%(n)d deadline was left as it is: see below.",
                "%(n)d deadlines were left as they are: see below.",
                refused,
            )
            % {"n": refused},
        )
    return redirect("cases:deadline-move-detail", pk=move.pk)
