"""Exports: a dossier (PDF) or a table (CSV, XLSX) of a case or of the case list, for one
audience, on record.

``export_request`` checks who may export what and creates the export row;
``export_build`` builds the file (in the request for a small one, in the Celery worker for a
big one), stores it, and records it in the access log with its SHA-256 and size;
``export_identify`` tells which export a file is.
"""

import datetime as dt
import hashlib
import logging
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import access
from cases.dossiers import pdf as dossier_pdf
from cases.dossiers import tabular
from cases.dossiers.content import build_dossier, day
from cases.dossiers.profiles import Facet, Profile, get_profile
from cases.models import (
    EXPORT_TRANSITIONS,
    AccessLog,
    Case,
    Export,
    ExportStatus,
    Membership,
    Organization,
    TimelineEntry,
)
from cases.selectors.cases import CaseFilters, case_list

from .actors import system_actor
from .audit import access_log_record
from .transitions import apply_transition

log = logging.getLogger(__name__)

# A dossier bigger than this is built by the worker; smaller ones in the request (well under
# a second, see docs/performance.md).
BACKGROUND_TIMELINE_ENTRIES = 300
BACKGROUND_ANNEX_BYTES = 5 * 1024 * 1024
_CHUNK = 1024 * 1024


def _exporting_organization(user, case: Case | None) -> Organization:
    """Who the export is "prepared by": the case's lead organization if the user is in it,
    else the user's organization that the case is shared with, else their first one."""
    memberships = list(Membership.objects.filter(user=user).select_related("organization"))
    if case is not None:
        if any(m.organization_id == case.lead_organization_id for m in memberships):
            return case.lead_organization
        shared = set(case.shares.values_list("organization_id", flat=True))
        for m in memberships:
            if m.organization_id in shared:
                return m.organization
        if user.is_superuser:
            return case.lead_organization
    if memberships:
        return memberships[0].organization
    raise ValidationError(_("You belong to no organization, so nobody could sign this export."))


def _clean(profile_key: str, audience: str, language: str) -> tuple[Profile, str]:
    errors = {}
    try:
        profile = get_profile(profile_key)
    except ValueError:
        errors["profile"] = _("Choose one of the audiences listed.")
        profile = None
    audience = " ".join((audience or "").split())
    if not audience:
        errors["audience"] = _("Say who this is prepared for: it is printed on every page.")
    elif len(audience) > 120:
        errors["audience"] = _("At most 120 characters.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Choose English, Korean or Ukrainian.")
    if errors:
        raise ValidationError(errors)
    return profile, audience


def export_request(
    *,
    by: AbstractBaseUser,
    kind: str,
    fmt: str,
    profile_key: str,
    audience: str,
    language: str,
    case: Case | None = None,
    include_annexes: bool = False,
    filters: CaseFilters | None = None,
) -> Export:
    """Create an export (status "pending"); raises PermissionDenied or ValidationError."""
    profile, audience = _clean(profile_key, audience, language)
    if kind == Export.Kind.CASE_LIST:
        case = None
    elif case is None:
        raise ValidationError(_("Which case?"))
    if (kind, fmt) not in {
        (Export.Kind.DOSSIER, Export.Format.PDF),
        (Export.Kind.TIMELINE, Export.Format.CSV),
        (Export.Kind.TIMELINE, Export.Format.XLSX),
        (Export.Kind.CASE_LIST, Export.Format.CSV),
        (Export.Kind.CASE_LIST, Export.Format.XLSX),
    }:
        raise ValidationError({"format": _("That format is not offered for this export.")})
    if not access.may_export(by, case, external=profile.external):
        raise PermissionDenied
    if kind == Export.Kind.DOSSIER and dossier_pdf.weasyprint_missing():
        raise ValidationError(dossier_pdf.weasyprint_missing())
    export = Export(
        kind=kind,
        format=fmt,
        case=case,
        profile=profile.key,
        audience=audience,
        organization=_exporting_organization(by, case),
        language=language,
        include_annexes=bool(include_annexes) and Facet.DOCUMENTS in profile.keeps,
        filters=_filters_json(filters) if filters else {},
        requested_by=by,
    )
    export._change_reason = "export requested"
    export._history_user = by
    export.full_clean(exclude=["file"])
    export.save()
    return export


def _filters_json(filters: CaseFilters) -> dict:
    return {k: v for k, v in filters.__dict__.items() if v not in ("", None, False)}


def export_runs_in_background(export: Export) -> bool:
    """Whether the export is big enough to be built by the worker."""
    if export.kind != Export.Kind.DOSSIER or export.case is None:
        return False
    entries = TimelineEntry.objects.filter(case=export.case).count()
    if entries > BACKGROUND_TIMELINE_ENTRIES:
        return True
    if export.include_annexes:
        annex_bytes = sum(export.case.documents.values_list("size", flat=True))
        return annex_bytes > BACKGROUND_ANNEX_BYTES
    return False


def export_enqueue(export: Export) -> None:
    """Build the export in the worker once the transaction that created it commits."""
    from cases.tasks import build_export

    transaction.on_commit(lambda: build_export.delay(export.pk))


def watermark(export: Export, on: dt.date) -> str:
    return _("Prepared for %(audience)s by %(organization)s on %(date)s — export %(id)s") % {
        "audience": export.audience,
        "organization": export.organization.name,
        "date": day(on),
        "id": export.pk,
    }


def _claim(export_id: int) -> Export | None:
    """Move a pending export to "running"; None if another run has it or it is done.

    A run that started longer ago than the task's hard time limit was killed (with its
    worker): its export is taken over. Tasks are acknowledged late, so the broker hands the
    task of a dead worker to another one.
    """
    stale = timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    with transaction.atomic():
        export = (
            Export.objects.select_for_update(skip_locked=True)
            .filter(pk=export_id)
            .filter(
                Q(status=ExportStatus.PENDING)
                | Q(status=ExportStatus.RUNNING, updated_at__lt=stale)
            )
            .first()
        )
        if export is None:
            return None
        apply_transition(
            instance=export,
            to=ExportStatus.RUNNING,
            by=export.requested_by or system_actor("exports"),
            reason="building" if export.status == ExportStatus.PENDING else "taken over",
            transitions=EXPORT_TRANSITIONS,
        )
    return export


def _progress(export: Export, percent: int, stage: str) -> None:
    # Not history (excluded from it): only what the export page shows while it waits.
    Export.objects.filter(pk=export.pk).update(progress=min(percent, 100), stage=stage[:100])


def export_build(*, export_id: int) -> Export | None:
    """Build a pending export; safe to run twice (the second run finds it claimed)."""
    export = _claim(export_id)
    if export is None:
        return None
    user = export.requested_by or system_actor("exports")
    try:
        with translation.override(export.language), tempfile.TemporaryFile() as out:
            _write(export, user, out)
            size = out.tell()
            out.seek(0)
            digest = hashlib.sha256()
            while block := out.read(_CHUNK):
                digest.update(block)
            out.seek(0)
            _finish(export, user, out, digest.hexdigest(), size)
    except Exception as error:
        log.exception("Export %s failed", export.pk)
        export.refresh_from_db()
        apply_transition(
            instance=export,
            to=ExportStatus.FAILED,
            by=user,
            reason="failed",
            transitions=EXPORT_TRANSITIONS,
            changes={"error": f"{type(error).__name__}: {error}"[:1000]},
        )
    return export


def _write(export: Export, user, out) -> None:
    profile = get_profile(export.profile)
    today = timezone.localdate()
    mark = watermark(export, today)
    case = export.case
    if export.kind == Export.Kind.DOSSIER:
        if case is None:
            raise ValueError("The case of this export was deleted.")
        dossier = build_dossier(case=case, user=user, profile=profile)
        dossier_pdf.build_pdf(
            case=case,
            dossier=dossier,
            profile=profile,
            stamp=dossier_pdf.Stamp(watermark=mark, language=export.language),
            include_annexes=export.include_annexes,
            out=out,
            progress=lambda percent, stage: _progress(export, percent, stage),
        )
        return
    if export.kind == Export.Kind.TIMELINE:
        if case is None:
            raise ValueError("The case of this export was deleted.")
        header, rows = tabular.timeline_rows(case=case, profile=profile)
    else:
        filters = CaseFilters(**export.filters)
        cases = case_list(user, filters, today=today).iterator(chunk_size=500)
        header, rows = tabular.case_list_rows(cases, profile=profile)
    writer = tabular.write_csv if export.format == Export.Format.CSV else tabular.write_xlsx
    writer(out, header, rows, title=mark)


def _file_name(export: Export) -> str:
    subject = export.case.reference if export.case else "cases"
    return f"{subject}-{export.kind}-{export.profile}-{export.language}-{export.pk}.{export.format}"


def _finish(export: Export, user, out, sha256: str, size: int) -> None:
    name = _file_name(export)
    with transaction.atomic():
        entry = access_log_record(
            user=user,
            action=AccessLog.Action.EXPORT,
            case=export.case,
            target=(
                f"export {export.pk} {export.kind}.{export.format} profile={export.profile} "
                f"sha256={sha256} size={size} for={export.audience}"
            ),
        )
        export.file.save(name, File(out, name=name), save=False)
        apply_transition(
            instance=export,
            to=ExportStatus.DONE,
            by=user,
            reason="built",
            transitions=EXPORT_TRANSITIONS,
            changes={
                "filename": name,
                "sha256": sha256,
                "size": size,
                "progress": 100,
                "finished_at": timezone.now(),
                "access_log": entry,
            },
        )


@dataclass
class Identified:
    sha256: str
    size: int
    export: Export | None


def export_identify(stream) -> Identified:
    """Hash a file (read in blocks) and find the export it is, if any."""
    digest = hashlib.sha256()
    size = 0
    while block := stream.read(_CHUNK):
        digest.update(block)
        size += len(block)
    sha256 = digest.hexdigest()
    export = (
        Export.objects.filter(sha256=sha256, size=size, status=ExportStatus.DONE)
        .select_related("case", "organization", "requested_by", "access_log")
        .first()
    )
    return Identified(sha256=sha256, size=size, export=export)
