from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import access, services
from cases.access import Level
from cases.forms import PrisonerForm
from cases.models import AccessLog, Prisoner
from cases.selectors.history import readable_history

from .common import run_service


def _prisoner_for(user, pk, *, level=Level.READ):
    """A person of concern, reached through a case the user may see (else 404)."""
    prisoner = access.prisoners_visible_to(user).filter(pk=pk).first()
    if prisoner is None:
        from django.http import Http404

        raise Http404("No such person.")
    if level > Level.READ:
        cases = prisoner.cases.all()
        if not any(access.case_level(user, case) >= level for case in cases):
            raise PermissionDenied
    return prisoner


@require_http_methods(["GET", "POST"])
def prisoner_create(request, case_pk):
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    show_identity = access.case_level(request.user, case) >= Level.MANAGE
    form = PrisonerForm(request.POST or None, show_identity=show_identity)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)

        def create():
            prisoner = services.prisoner_create(by=request.user, **data)
            services.case_add_prisoner(case=case, prisoner=prisoner, by=request.user)
            return prisoner

        response = run_service(
            form,
            create,
            success=_("Person added to the case."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/prisoner_form.html", {"form": form, "case": case})


def _log_reveal(request, prisoner) -> None:
    for case in access.cases_visible_to(request.user).filter(prisoners=prisoner):
        services.access_log_record(
            user=request.user,
            action=AccessLog.Action.REVEAL_IDENTITY,
            case=case,
            target=prisoner.code,
        )


def _detail(request, prisoner, *, revealed: bool):
    cases = access.cases_visible_to(request.user).filter(prisoners=prisoner)
    may_reveal = access.may_see_identity(request.user, prisoner)
    return render(
        request,
        "cases/prisoner_detail.html",
        {
            "prisoner": prisoner,
            "cases": cases,
            "may_reveal": may_reveal and bool(prisoner.legal_name),
            "revealed": revealed and may_reveal,
            "can_edit": any(access.case_level(request.user, c) >= Level.EDIT for c in cases),
            "history": readable_history(prisoner, user=request.user, identity=revealed),
        },
    )


@require_safe
def prisoner_detail(request, pk):
    """The person's record, known by code; the legal name stays hidden until revealed."""
    return _detail(request, _prisoner_for(request.user, pk), revealed=False)


@require_POST
def prisoner_reveal(request, pk):
    """Show the legal name to someone entitled to it, and put that on the access log."""
    prisoner = _prisoner_for(request.user, pk)
    if not access.may_see_identity(request.user, prisoner):
        raise PermissionDenied
    _log_reveal(request, prisoner)
    return _detail(request, prisoner, revealed=True)


@require_http_methods(["GET", "POST"])
def prisoner_edit(request, pk):
    prisoner = _prisoner_for(request.user, pk, level=Level.EDIT)
    show_identity = access.may_see_identity(request.user, prisoner)
    form = PrisonerForm(request.POST or None, instance=prisoner, show_identity=show_identity)
    if show_identity and prisoner.legal_name and request.method == "GET":
        _log_reveal(request, prisoner)  # the edit form shows the legal name
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("change_reason", "")
        happened = {
            "happened_on": data.pop("custody_changed_on", None),
            "happened_precision": data.pop("custody_changed_precision", None) or "day",
        }
        new_custody = data.pop("custody_status")
        original = Prisoner.objects.get(pk=prisoner.pk)
        # The form wrote its values onto the instance; start again from the stored row.
        fields = {name: value for name, value in data.items()}

        def save():
            if new_custody != original.custody_status:
                return services.prisoner_change_custody(
                    prisoner=original,
                    to=new_custody,
                    by=request.user,
                    reason=reason,
                    **happened,
                    **fields,
                )
            return services.prisoner_update(prisoner=original, by=request.user, **fields)

        response = run_service(
            form,
            save,
            success=_("Saved."),
            request=request,
            redirect_to=reverse("cases:prisoner-detail", args=[prisoner.pk]),
        )
        if response:
            return response
    return render(request, "cases/prisoner_form.html", {"form": form, "prisoner": prisoner})
