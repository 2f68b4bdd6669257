"""Export pages: the export form of a case and of the case list, an export's page (progress
while the worker builds it, then the download), and the page that verifies a file."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases import access
from cases.dossiers.forms import ExportForm, VerifyForm
from cases.dossiers.pdf import weasyprint_missing
from cases.dossiers.profiles import PROFILES
from cases.forms import CaseSearchForm, apply_service_errors
from cases.models import Export, ExportStatus
from cases.services import exports as export_services


def _allowed_profiles(user, case) -> list[str]:
    return [k for k, p in PROFILES.items() if access.may_export(user, case, external=p.external)]


def _start(request, form, **request_kwargs):
    """Create the export; build it now or hand it to the worker. A redirect, or None with
    the form showing why not."""
    try:
        with transaction.atomic():
            export = export_services.export_request(by=request.user, **request_kwargs)
            background = export_services.export_runs_in_background(export)
            if background:
                export_services.export_enqueue(export)
    except ValidationError as error:
        apply_service_errors(form, error)
        return None
    if not background:
        export_services.export_build(export_id=export.pk)
    else:
        messages.info(request, _("The dossier is being built. This page shows when it is ready."))
    return redirect("cases:export-detail", pk=export.pk)


@require_http_methods(["GET", "POST"])
def case_export(request, pk):
    case = access.get_case_for(request.user, pk)
    allowed = _allowed_profiles(request.user, case)
    form = ExportForm(request.POST or None, allowed_profiles=allowed)
    if request.method == "POST" and form.is_valid():
        kind, fmt = form.kind_and_format()
        response = _start(
            request,
            form,
            case=case,
            kind=kind,
            fmt=fmt,
            profile_key=form.cleaned_data["profile"],
            audience=form.cleaned_data["audience"],
            language=form.cleaned_data["language"],
            include_annexes=form.cleaned_data.get("include_annexes", False),
        )
        if response:
            return response
    return render(
        request,
        "dossiers/export_form.html",
        {
            "form": form,
            "case": case,
            "profiles": PROFILES.values(),
            "allowed": allowed,
            "pdf_missing": weasyprint_missing(),
            "exports": Export.objects.filter(case=case, requested_by=request.user)[:10],
        },
    )


@require_http_methods(["GET", "POST"])
def case_list_export(request):
    access.require_signed_in(request.user)
    search = CaseSearchForm(request.GET or None)
    filters = search.filters()
    allowed = _allowed_profiles(request.user, None)
    form = ExportForm(request.POST or None, allowed_profiles=allowed, case_list=True)
    if request.method == "POST" and form.is_valid():
        kind, fmt = form.kind_and_format()
        response = _start(
            request,
            form,
            kind=kind,
            fmt=fmt,
            profile_key=form.cleaned_data["profile"],
            audience=form.cleaned_data["audience"],
            language=form.cleaned_data["language"],
            filters=filters,
        )
        if response:
            return response
    return render(
        request,
        "dossiers/export_form.html",
        {
            "form": form,
            "case": None,
            "filters": {k: v for k, v in filters.__dict__.items() if v not in ("", None, False)},
            "profiles": [PROFILES[k] for k in allowed],
            "allowed": allowed,
        },
    )


def _own_export(user, pk) -> Export:
    """An export is seen by the one who made it (and superusers); anyone else gets 404."""
    access.require_signed_in(user)
    export = Export.objects.select_related("case", "organization", "access_log").filter(pk=pk)
    export = export.first()
    if export is None or not (user.is_superuser or export.requested_by_id == user.pk):
        raise Http404("No such export.")
    if export.case is not None and access.case_level(user, export.case) < access.Level.READ:
        raise Http404("No such export.")  # the user's access to the case ended since
    return export


@require_safe
def export_detail(request, pk):
    export = _own_export(request.user, pk)
    template = "dossiers/export_detail.html"
    if request.htmx:
        template = "dossiers/partials/export_status.html"
    return render(
        request,
        template,
        {
            "export": export,
            "case": export.case,
            "profile": PROFILES.get(export.profile),
            "waiting": export.status in (ExportStatus.PENDING, ExportStatus.RUNNING),
        },
    )


@require_safe
def export_download(request, pk):
    export = _own_export(request.user, pk)
    if export.status != ExportStatus.DONE or not export.file:
        raise Http404("Not ready.")
    response = FileResponse(export.file.open("rb"), as_attachment=True, filename=export.filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def export_verify(request):
    access.require_signed_in(request.user)
    form = VerifyForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = export_services.export_identify(upload)
        export = result.export
        result.profile = PROFILES.get(export.profile) if export else None
        # Which case and audience only to someone who may read the case; anyone else learns
        # that the file is genuine, not what it is about.
        result.may_see = export is not None and (
            (export.case is None and export.requested_by_id == request.user.pk)
            or (
                export.case is not None
                and access.case_level(request.user, export.case) >= access.Level.READ
            )
        )
    return render(request, "dossiers/verify.html", {"form": form, "result": result})
