"""The reference case exported for each audience in a real browser; the PDFs read back."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from pypdf import PdfReader

from cases import services
from cases.models import AccessLog, Case, Export, Prisoner
from cases.services.actors import system_actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The demo holds no legal names (they are not public): a marked placeholder stands for one.
PLACEHOLDER_NAME = "TEST-PLACEHOLDER-LEGAL-NAME"
HEALTH = "Wounded when captured."
SOURCE = "Said clearly to a visiting South Korean lawmaker"
NOTES = "Not under ICRC or UNHCR protection as of January 2026."


@pytest.fixture
def reference_case(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", verbosity=0)
    services.prisoner_update(
        prisoner=Prisoner.objects.get(code="POW-A"),
        by=system_actor("tests"),
        reason="placeholder for the test",
        legal_name=PLACEHOLDER_NAME,
    )
    return Case.objects.get()


def signed_in(page, live_server, username):
    """The browser carries the session of a complete sign-in (password and second step)."""
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def export_in_browser(page, live_server, case, *, profile_label, language="en") -> bytes:
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("link", name="Export (PDF dossier, CSV, XLSX)").click()
    page.get_by_label("Dossier (PDF)").check()
    page.get_by_label(profile_label, exact=True).check()
    page.get_by_label("Prepared for").fill("Coordination Headquarters")
    page.get_by_label("Language of the export").select_option(language)
    page.get_by_role("button", name="Export").click()
    page.get_by_text("Ready.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    return download.value.path().read_bytes()


def text_of(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_the_reference_case_for_each_audience(live_server, page, shot, reference_case, tmp_path):
    signed_in(page, live_server, "coordinator")
    files = {}
    for label in (
        "Internal",
        "Partner organization",
        "Authority",
        "ICRC / UNHCR",
        "Public / donor",
    ):
        files[label] = export_in_browser(page, live_server, reference_case, profile_label=label)
    shot("dossier-export-ready")
    texts = {label: text_of(pdf) for label, pdf in files.items()}

    authority = texts["Authority"]
    assert "POW-A" in authority
    assert PLACEHOLDER_NAME not in authority
    assert HEALTH not in authority
    assert SOURCE not in authority
    assert NOTES not in authority
    assert "Kyiv (exact place not public)" in authority

    icrc = texts["ICRC / UNHCR"]
    assert PLACEHOLDER_NAME in icrc  # the coordinator may see identities
    assert HEALTH in icrc
    assert SOURCE not in icrc
    assert NOTES not in icrc

    internal = texts["Internal"]
    assert all(text in internal for text in (PLACEHOLDER_NAME, HEALTH, SOURCE, NOTES))
    assert PLACEHOLDER_NAME not in texts["Partner organization"]
    public = texts["Public / donor"]
    assert "Kyiv (exact place not public)" not in public
    assert HEALTH not in public

    # Each export is on the access log with the hash of the file the browser received.
    entries = AccessLog.objects.filter(action=AccessLog.Action.EXPORT, case=reference_case)
    assert entries.count() == 5
    for label, pdf in files.items():
        digest = hashlib.sha256(pdf).hexdigest()
        export = Export.objects.get(sha256=digest)
        assert export.access_log in entries
        assert f"sha256={digest}" in export.access_log.target
        assert "for=Coordination Headquarters" in export.access_log.target
        assert f"export {export.pk}" in texts[label]

    # verify_export recognises a file and rejects a changed one.
    path = tmp_path / "authority.pdf"
    path.write_bytes(files["Authority"])
    call_command("verify_export", str(path), stdout=io.StringIO())
    changed = bytearray(files["Authority"])
    changed[len(changed) // 2] ^= 1
    path.write_bytes(bytes(changed))
    with pytest.raises(CommandError, match="NOT RECOGNISED"):
        call_command("verify_export", str(path))


def test_a_dossier_in_korean_and_ukrainian(live_server, page, reference_case):
    signed_in(page, live_server, "editor")
    korean = text_of(
        export_in_browser(
            page, live_server, reference_case, profile_label="Authority", language="ko"
        )
    )
    assert "관심 대상자" in korean  # "People of concern"
    assert "2025년 3월" in korean  # March 2025, known to the month: no day
    ukrainian = text_of(
        export_in_browser(
            page, live_server, reference_case, profile_label="Authority", language="uk"
        )
    )
    assert "Петиції" in ukrainian
    assert "Березень 2025" in ukrainian
