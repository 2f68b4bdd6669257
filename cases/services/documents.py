import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from cases.models import Case, DatePrecision, Document, Event, Petition
from cases.models.dates import period_start

from . import plausibility
from .transitions import save_tracked

# What each allowed extension must look like inside, and the content type we serve it as.
# The browser's claimed content type is never trusted.
_SIGNATURES: dict[str, tuple[tuple[bytes, ...], str]] = {
    "pdf": ((b"%PDF-",), "application/pdf"),
    "png": ((b"\x89PNG\r\n\x1a\n",), "image/png"),
    "jpg": ((b"\xff\xd8\xff",), "image/jpeg"),
    "jpeg": ((b"\xff\xd8\xff",), "image/jpeg"),
    "docx": (
        (b"PK\x03\x04",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "odt": ((b"PK\x03\x04",), "application/vnd.oasis.opendocument.text"),
    "txt": ((), "text/plain"),
}
_CHUNK = 64 * 1024


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def _extension(name: str) -> str:
    # PurePath keeps only the last component, so "../../etc/passwd.txt" is "passwd.txt".
    return PurePath(name.replace("\\", "/")).suffix.lower().lstrip(".")


def safe_original_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(". ")
    return cleaned[:255] or "document"


def _check_type(upload: File, ext: str) -> str:
    allowed = settings.DOCUMENT_ALLOWED_EXTENSIONS
    if not ext or ext not in allowed or ext not in _SIGNATURES:
        raise _file_error(
            _("Files of this type cannot be stored. Allowed: %(types)s.")
            % {"types": ", ".join(sorted(set(allowed) & set(_SIGNATURES)))},
            "type_not_allowed",
        )
    signatures, content_type = _SIGNATURES[ext]
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if signatures and not any(head.startswith(sig) for sig in signatures):
        raise _file_error(
            _("The file's content does not match its .%(ext)s name.") % {"ext": ext},
            "content_mismatch",
        )
    if ext == "txt" and b"\x00" in head:
        raise _file_error(_("This does not look like a text file."), "content_mismatch")
    return content_type


def _sha256_and_size(upload: File) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in upload.chunks(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class CheckedUpload:
    original_name: str
    extension: str
    content_type: str
    sha256: str
    size: int


def _too_large() -> ValidationError:
    return _file_error(
        _("The file is larger than the limit of %(limit)s.")
        % {"limit": filesizeformat(settings.DOCUMENT_MAX_BYTES)},
        "too_large",
    )


def document_check_upload(upload: File) -> CheckedUpload:
    """Refuse what may not be stored (too large, empty, wrong type); hash what may."""
    original = safe_original_name(getattr(upload, "name", "") or "")
    if upload.size is not None and upload.size > settings.DOCUMENT_MAX_BYTES:
        raise _too_large()
    ext = _extension(original)
    content_type = _check_type(upload, ext)
    sha256, size = _sha256_and_size(upload)
    if size > settings.DOCUMENT_MAX_BYTES:
        raise _too_large()
    if size == 0:
        raise _file_error(_("The file is empty."), "empty")
    return CheckedUpload(original, ext, content_type, sha256, size)


def document_store(
    *,
    case: Case,
    upload: File,
    by: AbstractBaseUser,
    title: str = "",
    description: str = "",
    petition: Petition | None = None,
    event: Event | None = None,
    dated_on: dt.date | None = None,
    dated_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
) -> Document:
    """Keep a file with a case: checked for size and type, hashed, stored under a random name.

    ``dated_on`` is the document's own date (the letter's, not the upload's); without one, a
    document of a petition is dated by its filing and one of an event by the event. The
    timeline places it there.
    """
    if petition is not None and petition.case_id != case.pk:
        raise ValidationError({"petition": _("The petition belongs to another case.")})
    if event is not None and event.case_id != case.pk:
        raise ValidationError({"event": _("The event belongs to another case.")})
    if dated_precision not in DatePrecision.values:
        raise ValidationError({"dated_on": _("Choose how precisely the date is known.")})
    if dated_on is None and petition is not None and petition.filed_on is not None:
        dated_on, dated_precision = petition.filed_on, DatePrecision.DAY
    elif dated_on is None and event is not None:
        dated_on, dated_precision = event.occurred_on, event.occurred_on_precision
    if dated_on is not None:
        dated_on = period_start(dated_on, dated_precision)
    plausibility.check(
        [plausibility.happened("dated_on", dated_on, dated_precision)], confirmed=confirmed
    )
    checked = document_check_upload(upload)
    document = Document(
        case=case,
        petition=petition,
        event=event,
        original_name=checked.original_name,
        title=title.strip() or checked.original_name,
        description=description,
        sha256=checked.sha256,
        size=checked.size,
        content_type=checked.content_type,
        uploaded_by=by,
        dated_on=dated_on,
        dated_precision=dated_precision if dated_on is not None else None,
    )
    document.file.save(f"{uuid.uuid4().hex}.{checked.extension}", upload, save=False)
    try:
        with transaction.atomic():
            document.full_clean()
            save_tracked(document, by=by, reason="Uploaded")
    except Exception:
        # Nothing half-written: no row means no file either.
        document.file.delete(save=False)
        raise
    return document
