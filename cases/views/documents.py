from django.http import FileResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases import access, services
from cases.access import Level
from cases.forms import DocumentForm
from cases.models import AccessLog, Document

from .common import run_service


def document_fields(data: dict) -> dict:
    """An upload form's cleaned data as services.document_store takes it (web and API)."""
    return {
        "upload": data["file"],
        "title": data["title"],
        "description": data["description"],
        "petition": data["petition"],
        "event": data["event"],
        "dated_on": data["dated_on"],
        "dated_precision": data["dated_precision"] or "day",
        "confirmed": data["confirmed"],
    }


@require_http_methods(["GET", "POST"])
def document_upload(request, case_pk):
    case = access.get_case_for(request.user, case_pk, level=Level.EDIT)
    form = DocumentForm(request.POST or None, request.FILES or None, case=case)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.document_store(case=case, by=request.user, **document_fields(data)),
            success=_("Document stored."),
            request=request,
            redirect_to=lambda document: reverse("cases:document-detail", args=[document.pk]),
        )
        if response:
            return response
    return render(request, "cases/document_form.html", {"form": form, "case": case})


@require_safe
def document_detail(request, pk):
    document = access.get_for(request.user, Document.objects.select_related("uploaded_by"), pk)
    return render(
        request, "cases/document_detail.html", {"document": document, "case": document.case}
    )


@require_safe
def document_download(request, pk):
    document = access.get_for(request.user, Document.objects.all(), pk)
    return document_file_response(request.user, document)


def document_file_response(user, document) -> FileResponse:
    """The stored file as a download, on the access log (the web page and the API alike)."""
    services.access_log_record(
        user=user,
        action=AccessLog.Action.DOWNLOAD_DOCUMENT,
        case=document.case,
        target=f"{document.pk} {document.sha256[:12]}",
    )
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
