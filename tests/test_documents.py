"""Documents: hashed when stored, refused with a clear message when they may not be stored."""

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.models import Document

PDF = b"%PDF-1.7\n" + b"petition text " * 500


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "documents"


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_stored_document_has_the_right_hash_and_a_random_name(case, editor, settings):
    upload = SimpleUploadedFile("petition.pdf", PDF, content_type="text/html")
    document = services.document_store(case=case, upload=upload, by=editor, title="Petition")
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.size == len(PDF)
    assert document.content_type == "application/pdf"  # not what the browser claimed
    assert document.original_name == "petition.pdf"
    assert "petition" not in document.file.name
    with document.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == document.sha256
    assert document.history.first().history_user == editor


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("malware.exe", b"MZ\x90\x00", "type_not_allowed"),
        ("page.html", b"<script>alert(1)</script>", "type_not_allowed"),
        ("no-extension", PDF, "type_not_allowed"),
        ("fake.pdf", b"<html>not a pdf</html>", "content_mismatch"),
        ("image.png", PDF, "content_mismatch"),
        ("binary.txt", b"text\x00with a nul", "content_mismatch"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_refused_uploads_leave_nothing_behind(case, editor, settings, name, content, code):
    upload = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as refused:
        services.document_store(case=case, upload=upload, by=editor)
    assert refused.value.error_dict["file"][0].code == code
    assert Document.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_oversized_upload_is_refused_with_the_limit_in_the_message(case, editor, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", PDF)
    with pytest.raises(ValidationError) as refused:
        services.document_store(case=case, upload=upload, by=editor)
    assert "1.0\xa0KB" in refused.value.messages[0]
    assert Document.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_path_traversal_name_is_reduced_to_a_plain_name(case, editor, settings):
    upload = SimpleUploadedFile("../../../etc/letter.txt", b"A handwritten letter, transcribed.")
    document = services.document_store(case=case, upload=upload, by=editor)
    assert document.original_name == "letter.txt"
    stored = stored_files(settings)
    assert len(stored) == 1
    assert Path(settings.MEDIA_ROOT) in stored[0].parents


@pytest.mark.django_db
def test_extension_not_on_the_installation_allow_list_is_refused(case, editor, settings):
    settings.DOCUMENT_ALLOWED_EXTENSIONS = ["pdf"]
    upload = SimpleUploadedFile("note.txt", b"plain text")
    with pytest.raises(ValidationError) as refused:
        services.document_store(case=case, upload=upload, by=editor)
    assert "Allowed: pdf" in refused.value.messages[0]


def test_an_upload_larger_than_allowed_is_refused_before_its_body_is_read(
    client, case, editor, settings
):
    settings.DOCUMENT_MAX_BYTES = 1024
    client.force_login(editor)

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    response = client.generic(
        "POST",
        reverse("cases:document-upload", args=[case.pk]),
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(25 * 1024 * 1024),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not case.documents.exists()
