from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import access, services
from cases.access import Level
from cases.forms import PersonLinkForm, PersonLinkRequestForm, PersonUnlinkForm, PrisonerForm
from cases.models import AccessLog, PersonLinkRequest, Prisoner
from cases.selectors.history import readable_history

from .common import run_service


@require_http_methods(["GET", "POST"])
def prisoner_create(request, case_pk):
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    owner = access.registering_organization(request.user, case)
    show_identity = owner is not None and access.may_see_identity(
        request.user, Prisoner(owner=owner)
    )
    form = PrisonerForm(request.POST or None, show_identity=show_identity)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        response = run_service(
            form,
            lambda: services.prisoner_register(case=case, by=request.user, **data),
            success=_("Person added to the case."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/prisoner_form.html", {"form": form, "case": case, "owner": owner})


def _log_reveal(request, prisoner) -> None:
    """On the owner's record: the person's own access log, whoever reveals."""
    services.access_log_record(
        user=request.user,
        action=AccessLog.Action.REVEAL_IDENTITY,
        case=None,
        prisoner=prisoner,
        target=prisoner.code,
    )


def _detail(request, prisoner, *, revealed: bool):
    cases = list(access.cases_visible_to(request.user).filter(prisoners=prisoner))
    for case in cases:
        case.may_unlink = access.may_unlink_prisoner(request.user, prisoner, case)
    may_reveal = access.may_see_identity(request.user, prisoner)
    level = access.person_level(request.user, prisoner)
    return render(
        request,
        "cases/prisoner_detail.html",
        {
            "prisoner": prisoner,
            "cases": cases,
            "may_reveal": may_reveal,
            "revealed": revealed and may_reveal,
            "can_edit": level >= Level.EDIT,
            "can_link": level >= Level.EDIT,
            "can_read_log": level >= Level.MANAGE,
            "link_requests": (
                prisoner.link_requests.filter(status=PersonLinkRequest.Status.PENDING)
                .select_related("case", "requested_by")
                .order_by("created_at")
                if level >= Level.MANAGE
                else []
            ),
            "can_ask_link": level < Level.MANAGE
            and access.cases_to_request_link(request.user, prisoner).exists(),
            "history": readable_history(prisoner, user=request.user, identity=revealed),
        },
    )


@require_safe
def prisoner_detail(request, pk):
    """The person's record, known by code; the identity stays hidden until revealed."""
    return _detail(request, access.get_prisoner_for(request.user, pk), revealed=False)


@require_POST
def prisoner_reveal(request, pk):
    """Show the identity to someone entitled to it, and put that on the owner's record."""
    prisoner = access.get_prisoner_for(request.user, pk)
    if not access.may_see_identity(request.user, prisoner):
        raise PermissionDenied
    _log_reveal(request, prisoner)
    return _detail(request, prisoner, revealed=True)


@require_http_methods(["GET", "POST"])
def prisoner_edit(request, pk):
    prisoner = access.get_prisoner_for(request.user, pk)
    if not access.may_edit_prisoner(request.user, prisoner):
        raise PermissionDenied
    show_identity = access.may_see_identity(request.user, prisoner)
    form = PrisonerForm(request.POST or None, instance=prisoner, show_identity=show_identity)
    if show_identity and request.method == "GET":
        _log_reveal(request, prisoner)  # the edit form shows the identity
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


@require_http_methods(["GET", "POST"])
def prisoner_link(request, pk):
    """Put the person on another case: the owner's own act (its editors for its own cases,
    its coordinators for cases led by others), on record on the case's history."""
    prisoner = access.get_prisoner_for(request.user, pk)
    if access.person_level(request.user, prisoner) < Level.EDIT:
        raise PermissionDenied
    form = PersonLinkForm(request.POST or None, cases=access.cases_to_link(request.user, prisoner))
    if request.method == "POST" and form.is_valid():
        case = form.cleaned_data["case"]
        services.case_add_prisoner(case=case, prisoner=prisoner, by=request.user)
        messages.success(
            request,
            _("%(code)s is now on %(case)s.")
            % {
                "code": prisoner.code,
                "case": case.reference,
            },
        )
        return redirect("cases:case-detail", pk=case.pk)
    return render(request, "cases/prisoner_link.html", {"form": form, "prisoner": prisoner})


@require_http_methods(["GET", "POST"])
def prisoner_unlink(request, case_pk, pk):
    """Take the person off the case: the person's owner or the case's lead, with a reason."""
    case = access.get_case_for(request.user, case_pk)
    prisoner = case.prisoners.filter(pk=pk).first()
    if prisoner is None:
        from django.http import Http404

        raise Http404("No such person on this case.")
    if not access.may_unlink_prisoner(request.user, prisoner, case):
        raise PermissionDenied
    form = PersonUnlinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.case_remove_prisoner(
            case=case, prisoner=prisoner, by=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request,
            _("%(code)s is no longer on this case.")
            % {
                "code": prisoner.code,
            },
        )
        return redirect("cases:case-detail", pk=case.pk)
    return render(
        request, "cases/prisoner_unlink.html", {"form": form, "prisoner": prisoner, "case": case}
    )


@require_safe
def prisoner_access_log(request, pk):
    """Who revealed the person's identity (the owner's coordinators)."""
    prisoner = access.get_prisoner_for(request.user, pk)
    if access.person_level(request.user, prisoner) < Level.MANAGE:
        raise PermissionDenied
    page = Paginator(prisoner.access_log.select_related("user"), 100).get_page(
        request.GET.get("page")
    )
    return render(request, "cases/prisoner_access_log.html", {"prisoner": prisoner, "page": page})


@require_http_methods(["GET", "POST"])
def prisoner_link_request(request, pk):
    """Ask the person's owner to put them on one of the user's cases."""
    prisoner = access.get_prisoner_for(request.user, pk)
    cases = access.cases_to_request_link(request.user, prisoner)
    if not cases.exists():
        raise PermissionDenied
    form = PersonLinkRequestForm(request.POST or None, cases=cases)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.person_link_request(
                prisoner=prisoner,
                case=form.cleaned_data["case"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            ),
            success=_("Asked. The organization that registered the person decides."),
            request=request,
            redirect_to=reverse("cases:prisoner-detail", args=[prisoner.pk]),
        )
        if response:
            return response
    return render(request, "cases/prisoner_link_request.html", {"form": form, "prisoner": prisoner})


@require_POST
def link_request_decide(request, pk):
    """The owner's coordinator accepts or declines a request (POST ``decision``)."""
    link_request = PersonLinkRequest.objects.select_related("prisoner").filter(pk=pk).first()
    if link_request is None:
        from django.http import Http404

        raise Http404("No such request.")
    prisoner = access.get_prisoner_for(request.user, link_request.prisoner_id)
    if access.person_level(request.user, prisoner) < Level.MANAGE:
        raise PermissionDenied
    accept = request.POST.get("decision") == "accept"
    from django.core.exceptions import ValidationError

    try:
        services.person_link_decide(link_request=link_request, by=request.user, accept=accept)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Accepted: the person is on the case.") if accept else _("Declined.")
        )
    return redirect("cases:prisoner-detail", pk=prisoner.pk)
