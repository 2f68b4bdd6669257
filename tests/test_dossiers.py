"""Dossiers and tabular exports: what each audience profile keeps and hides, the watermark,
the record in the access log, verification, languages and fonts, background building.

The canary test seeds every text field of a case with its own marker and reads the PDF's
text back (pypdf): a marker is in the file exactly when the profile keeps its field (and, for
identities, the exporter may see them). The expectations below are written out again, on
purpose, rather than read from cases/dossiers/profiles.py.
"""

import csv
import datetime as dt
import hashlib
import io
import logging
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from cases import services
from cases.dossiers import pdf as dossier_pdf
from cases.models import AccessLog, CaseStatus, DatePrecision, Export, PetitionStatus
from cases.services import exports
from cases.services.petitions import RequestSpec
from tests import factories

pytestmark = pytest.mark.django_db

# canary: (text, the facet that keeps it, or None if every profile shows it)
CANARIES = {
    "case_title": ("QXCASETITLE", None),
    "case_summary": ("QXCASESUMMARY", None),
    "code": ("QXPOWCODE", None),
    "legal_name": ("QXLEGALNAME", "legal_name"),
    "nationality": ("QXNATIONALITY", "person_details"),
    "rank_unit": ("QXRANKUNIT", "person_details"),
    "captured_where": ("QXCAPTUREDWHERE", None),
    "place_of_detention": ("QXPLACENOW", "places_of_detention"),
    "old_place": ("QXPLACEBEFORE", "places_of_detention+full_timeline"),
    "health_notes": ("QXHEALTHNOTES", "health_notes"),
    "wish_destination": ("QXWISHDEST", None),
    "wish_source": ("QXWISHSOURCE", "sources"),
    "icrc_reference": ("QXICRCREF", "references"),
    "unhcr_reference": ("QXUNHCRREF", "references"),
    "person_notes": ("QXPERSONNOTES", "person_notes"),
    "petition_title": ("QXPETITIONTITLE", None),
    "petition_reference": ("QXPETITIONREF", "petition_texts"),
    "petition_summary": ("QXPETITIONSUMMARY", "petition_texts"),
    "legal_basis_other": ("QXLEGALBASIS", "petition_texts"),
    "request_text": ("QXREQUESTTEXT", "petition_texts"),
    "response_summary": ("QXRESPONSE", "petition_texts"),
    "petition_reason": ("QXPETITIONREASON", "internal_notes"),
    "case_reason": ("QXCASEREASON", "internal_notes+full_timeline"),
    "event_title": ("QXEVENTTITLE", None),
    "event_description": ("QXEVENTDESCRIPTION", "full_timeline"),
    "event_source": ("QXEVENTSOURCE", "sources"),
    "staff": ("qxstaffname", "staff_names"),
    "deadline_title": ("QXDEADLINETITLE", None),
    "deadline_notes": ("QXDEADLINENOTES", "internal_notes"),
    "document_title": ("QXDOCUMENTTITLE", "documents"),
    "document_description": ("QXDOCUMENTDESCRIPTION", "documents"),
}
IDENTITY = {"legal_name", "health_notes", "person_notes"}
# What each profile keeps, as the issue and docs/dossiers.md describe it.
KEEPS = {
    "internal": {
        "legal_name",
        "person_notes",
        "health_notes",
        "person_details",
        "places_of_detention",
        "references",
        "sources",
        "internal_notes",
        "staff_names",
        "petition_texts",
        "documents",
        "full_timeline",
    },
    "partner": {
        "person_details",
        "places_of_detention",
        "references",
        "sources",
        "internal_notes",
        "staff_names",
        "petition_texts",
        "documents",
        "full_timeline",
    },
    "authority": {
        "person_details",
        "places_of_detention",
        "references",
        "petition_texts",
        "documents",
        "full_timeline",
    },
    "icrc_unhcr": {
        "legal_name",
        "health_notes",
        "person_details",
        "places_of_detention",
        "references",
        "petition_texts",
        "documents",
        "full_timeline",
    },
    "public": set(),
}


def c(name: str) -> str:
    return CANARIES[name][0]


def expected_in(profile: str, name: str, *, sees_identity: bool) -> bool:
    facet = CANARIES[name][1]
    if facet is None:
        return True
    if any(f in IDENTITY for f in facet.split("+")) and not sees_identity:
        return False
    return all(f in KEEPS[profile] for f in facet.split("+"))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "documents"


@pytest.fixture
def canary_case(lead_org, coordinator, partner_org):
    staff = factories.member(lead_org, "editor", username=c("staff"))
    case = factories.make_case(
        lead_organization=lead_org, by=coordinator, title=c("case_title"), summary=c("case_summary")
    )
    services.case_share(
        case=case, organization=partner_org, level="read", by=coordinator, reason="works with us"
    )
    prisoner = factories.PrisonerFactory(
        owner=lead_org,
        code=c("code"),
        legal_name=c("legal_name"),
        nationality=c("nationality"),
        rank_unit=c("rank_unit"),
        captured_on=dt.date(2025, 1, 1),
        captured_on_precision=DatePrecision.MONTH,
        captured_where=c("captured_where"),
        place_of_detention=c("old_place"),
        health_notes=c("health_notes"),
        wish_destination=c("wish_destination"),
        wish_source=c("wish_source"),
        icrc_reference=c("icrc_reference"),
        unhcr_reference=c("unhcr_reference"),
        notes=c("person_notes"),
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.prisoner_update(
        prisoner=prisoner,
        by=coordinator,
        reason="moved",
        place_of_detention=c("place_of_detention"),
    )
    petition = factories.make_petition(
        case=case,
        by=coordinator,
        title=c("petition_title"),
        reference=c("petition_reference"),
        summary=c("petition_summary"),
        legal_bases=["non_refoulement", "other"],
        legal_basis_other=c("legal_basis_other"),
        requests=[RequestSpec(kind="non_refoulement", text=c("request_text"))],
    )
    services.petition_change_status(
        petition=petition,
        to=PetitionStatus.ACKNOWLEDGED,
        by=coordinator,
        reason=c("petition_reason"),
        response_received_on=dt.date(2026, 1, 9),
        response_summary=c("response_summary"),
    )
    services.case_change_status(
        case=case, to=CaseStatus.ACTIVE_ADVOCACY, by=coordinator, reason=c("case_reason")
    )
    services.event_log(
        case=case,
        by=staff,
        kind="visit",
        title=c("event_title"),
        description=c("event_description"),
        source=c("event_source"),
        occurred_on=dt.date(2025, 3, 1),
        occurred_on_precision=DatePrecision.MONTH,
        prisoners=[prisoner],
    )
    factories.make_deadline(
        case=case,
        by=coordinator,
        title=c("deadline_title"),
        notes=c("deadline_notes"),
        kind="exchange_window",
        due_on=dt.date(2026, 4, 30),
        due_precision=DatePrecision.MONTH,
    )
    services.document_store(
        case=case,
        by=coordinator,
        upload=SimpleUploadedFile("letter.txt", b"a letter"),
        title=c("document_title"),
        description=c("document_description"),
    )
    return case


def export_file(case, user, profile, *, kind="dossier", fmt="pdf", language="en", **kw) -> Export:
    export = exports.export_request(
        by=user,
        case=case,
        kind=kind,
        fmt=fmt,
        profile_key=profile,
        audience="Coordination Headquarters",
        language=language,
        **kw,
    )
    export = exports.export_build(export_id=export.pk)
    assert export.status == "done", export.error
    return export


def pdf_text(export: Export) -> str:
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("profile", sorted(KEEPS))
@pytest.mark.parametrize("who", ["coordinator", "editor"])
def test_each_profile_leaves_out_what_it_hides_and_keeps_the_rest(
    canary_case, coordinator, editor, profile, who
):
    # The coordinator may see identities; the editor (no identity access) may not.
    user = {"coordinator": coordinator, "editor": editor}[who]
    text = pdf_text(export_file(canary_case, user, profile))
    wrong = []
    for name, (canary, _facet) in CANARIES.items():
        expected = expected_in(profile, name, sees_identity=who == "coordinator")
        if (canary in text) != expected:
            wrong.append(f"{name} {'missing' if expected else 'LEAKED'}")
    assert not wrong, f"{profile} as {who}: {wrong}"


@pytest.mark.parametrize(
    ("profile", "who", "shown"),
    [
        ("partner", "coordinator", False),
        ("authority", "coordinator", False),
        ("icrc_unhcr", "coordinator", True),
        ("icrc_unhcr", "editor", False),
        ("internal", "editor", False),
    ],
)
def test_a_need_to_know_place_of_detention_goes_only_where_the_identity_goes(
    canary_case, coordinator, editor, profile, who, shown
):
    prisoner = canary_case.prisoners.get()
    services.prisoner_update(prisoner=prisoner, by=coordinator, place_of_detention_sensitive=True)
    user = {"coordinator": coordinator, "editor": editor}[who]
    text = pdf_text(export_file(canary_case, user, profile))
    assert (c("place_of_detention") in text) == shown


@pytest.mark.parametrize("profile", sorted(KEEPS))
def test_the_timeline_table_follows_the_same_rules(canary_case, coordinator, profile):
    export = export_file(canary_case, coordinator, profile, kind="timeline", fmt="csv")
    with export.file.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    # The table is the timeline: these are the fields on it.
    on_timeline = {
        "old_place",
        "case_reason",
        "event_title",
        "event_description",
        "event_source",
        "staff",
        "petition_title",
    }
    for name, (canary, _facet) in CANARIES.items():
        if name == "place_of_detention":  # on the timeline as the new value of a change
            assert (canary in text) == expected_in(profile, "old_place", sees_identity=True)
        elif name == "petition_reason":  # the reason of a status change, as the case's
            assert (canary in text) == expected_in(profile, "case_reason", sees_identity=True)
        elif name in on_timeline:
            assert (canary in text) == expected_in(profile, name, sees_identity=True), name
        elif CANARIES[name][1] is not None and name != "document_title":
            assert canary not in text, name


def test_every_page_carries_the_watermark_and_its_number(
    canary_case, coordinator, lead_org, monkeypatch
):
    # Parts of 2 lines, and a PDF annex, so that pages are joined and stamped afterwards.
    monkeypatch.setattr(dossier_pdf, "TIMELINE_CHUNK", 2)
    pdf = (Path(__file__).parent / "fixtures" / "annex.pdf").read_bytes()
    services.document_store(
        case=canary_case,
        by=coordinator,
        upload=SimpleUploadedFile("annex.pdf", pdf),
        title="Annex",
    )
    export = export_file(canary_case, coordinator, "internal", include_annexes=True)
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    pages = [page.extract_text() for page in reader.pages]
    annex_pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert len(pages) >= 4 + annex_pages
    assert "ANNEX PAGE ONE" in pages[-annex_pages]
    mark = (
        f"Prepared for Coordination Headquarters by {lead_org.name} on "
        f"{exports.day(export.created_at.date())} — export {export.pk}"
    )
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert mark in flat, number
        assert f"{number} / {len(pages)}" in flat, number


def test_small_dossiers_print_the_watermark_themselves(canary_case, coordinator):
    export = export_file(canary_case, coordinator, "authority")
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    for number, page in enumerate(reader.pages, start=1):
        flat = " ".join(page.extract_text().split())
        assert f"export {export.pk}" in flat
        assert f"{number} / {len(reader.pages)}" in flat


def test_each_export_is_on_the_access_log_with_its_hash_and_size(canary_case, editor):
    export = export_file(canary_case, editor, "authority")
    with export.file.open("rb") as handle:
        content = handle.read()
    assert export.sha256 == hashlib.sha256(content).hexdigest()
    assert export.size == len(content)
    entry = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert entry == export.access_log
    assert entry.user == editor
    assert entry.case == canary_case
    assert f"sha256={export.sha256}" in entry.target
    assert f"size={export.size}" in entry.target
    assert "profile=authority" in entry.target
    assert "for=Coordination Headquarters" in entry.target
    with pytest.raises(PermissionError):
        entry.save()


def test_verify_export_recognises_the_file_and_rejects_a_changed_one(
    canary_case, coordinator, tmp_path
):
    export = export_file(canary_case, coordinator, "icrc_unhcr")
    path = tmp_path / "dossier.pdf"
    with export.file.open("rb") as handle:
        path.write_bytes(handle.read())
    out = io.StringIO()
    call_command("verify_export", str(path), stdout=out)
    assert f"RECOGNISED: export {export.pk}" in out.getvalue()
    assert "profile icrc_unhcr" in out.getvalue()
    changed = tmp_path / "changed.pdf"
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 1
    changed.write_bytes(bytes(content))
    with pytest.raises(CommandError, match="NOT RECOGNISED"):
        call_command("verify_export", str(changed))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_export", str(tmp_path / "missing.pdf"))


def test_the_verify_page_says_which_export_a_file_is(client, canary_case, coordinator, outsider):
    export = export_file(canary_case, coordinator, "internal")
    with export.file.open("rb") as handle:
        content = handle.read()
    url = reverse("cases:export-verify")
    client.force_login(coordinator)
    page = client.post(url, {"file": SimpleUploadedFile("x.pdf", content)}).content.decode()
    assert f"Genuine: this is export {export.pk}." in page
    assert canary_case.reference in page
    page = client.post(url, {"file": SimpleUploadedFile("x.pdf", content + b" ")}).content.decode()
    assert "Not recognised." in page
    # Someone who cannot see the case learns it is genuine, not what it is about.
    client.force_login(outsider)
    page = client.post(url, {"file": SimpleUploadedFile("x.pdf", content)}).content.decode()
    assert f"Genuine: this is export {export.pk}." in page
    assert canary_case.reference not in page
    assert "Coordination Headquarters" not in page


def test_dates_are_as_precise_as_they_are_known(canary_case, coordinator):
    text = " ".join(pdf_text(export_file(canary_case, coordinator, "internal")).split())
    assert "March 2025" in text  # the event, known to the month
    assert exports.day(dt.date(2025, 3, 1)) not in text  # "March 1, 2025": an invented day
    assert "by end of April 2026" in text  # the exchange window
    assert exports.day(dt.date(2026, 4, 30)) not in text
    assert "January 2025" in text  # the capture
    assert exports.day(dt.date(2025, 1, 1)) not in text


@pytest.mark.parametrize(
    ("language", "sample"),
    [("ko", "관심 대상자"), ("uk", "Петиції"), ("en", "People of concern")],
)
def test_dossiers_in_each_language_have_every_glyph(
    canary_case, coordinator, caplog, language, sample
):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    export = export_file(canary_case, coordinator, "internal", language=language)
    text = pdf_text(export)
    assert sample in text
    missing = [r.getMessage() for r in caplog.records if ".notdef" in r.getMessage()]
    assert not missing, missing
    with export.file.open("rb") as handle:
        fonts = embedded_fonts(handle.read())
    if language == "ko":
        assert any("CJK" in name for name in fonts), fonts


def test_the_glyph_check_catches_a_missing_glyph(caplog):
    # The check above would fail on a character no installed font has (here a private-use
    # code point): it is not a test that cannot fail.
    caplog.set_level(logging.WARNING, logger="weasyprint")
    dossier_pdf._render("<p>\ue000</p>", dossier_pdf._no_fetching({}))
    assert any(".notdef" in r.getMessage() for r in caplog.records)


def embedded_fonts(content: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


# --- Who may export ---------------------------------------------------------------------------
def test_external_audiences_are_for_editors_and_coordinators_of_the_lead(
    canary_case, viewer, partner, outsider
):
    # A viewer and a partner may export for their team or partners, not for outsiders.
    for user in (viewer, partner):
        assert export_file(canary_case, user, "partner").status == "done"
        with pytest.raises(PermissionDenied):
            exports.export_request(
                by=user,
                case=canary_case,
                kind="dossier",
                fmt="pdf",
                profile_key="authority",
                audience="x",
                language="en",
            )
    with pytest.raises(PermissionDenied):
        exports.export_request(
            by=outsider,
            case=canary_case,
            kind="dossier",
            fmt="pdf",
            profile_key="internal",
            audience="x",
            language="en",
        )


def test_bad_input_gets_a_clear_error_and_nothing_is_written(client, canary_case, coordinator):
    client.force_login(coordinator)
    url = reverse("cases:case-export", args=[canary_case.pk])
    response = client.post(
        url, {"output": "dossier.pdf", "profile": "nobody", "audience": " ", "language": "fr"}
    )
    assert response.status_code == 200
    assert Export.objects.count() == 0
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count() == 0
    page = response.content.decode()
    assert "This field is required." in page or "Select a valid choice" in page


def test_the_export_page_shows_the_profiles_and_builds_a_small_dossier_at_once(
    client, canary_case, coordinator
):
    client.force_login(coordinator)
    url = reverse("cases:case-export", args=[canary_case.pk])
    page = client.get(url).content.decode()
    for label in ("Internal", "Partner organization", "Authority", "ICRC / UNHCR"):
        assert label in page
    assert "Health notes (if you may see the person&#x27;s identity)" in page
    response = client.post(
        url,
        {
            "output": "dossier.pdf",
            "profile": "authority",
            "audience": "Coordination Headquarters",
            "language": "uk",
        },
    )
    export = Export.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("cases:export-detail", args=[export.pk])
    assert export.status == "done"
    assert export.language == "uk"
    detail = client.get(response.url).content.decode()
    assert export.sha256 in detail
    download = client.get(reverse("cases:export-download", args=[export.pk]))
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256


def test_only_the_exporter_sees_the_export_page(client, canary_case, coordinator, editor):
    export = export_file(canary_case, coordinator, "internal")
    client.force_login(editor)
    assert client.get(reverse("cases:export-detail", args=[export.pk])).status_code == 404
    assert client.get(reverse("cases:export-download", args=[export.pk])).status_code == 404


def test_without_weasyprint_the_page_says_so_and_tables_still_work(
    client, canary_case, coordinator, monkeypatch
):
    message = "PDF dossiers need WeasyPrint and the Pango library, which this server lacks"
    monkeypatch.setattr(dossier_pdf, "weasyprint_missing", lambda: message)
    monkeypatch.setattr("cases.views.exports.weasyprint_missing", lambda: message)
    client.force_login(coordinator)
    url = reverse("cases:case-export", args=[canary_case.pk])
    assert message in client.get(url).content.decode()
    data = {"profile": "internal", "audience": "us", "language": "en"}
    response = client.post(url, {**data, "output": "dossier.pdf"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Export.objects.exists()
    response = client.post(url, {**data, "output": "timeline.csv"})
    assert response.status_code == 302
    assert Export.objects.get().status == "done"


# --- Long work off the request ------------------------------------------------------------------
def test_a_big_dossier_is_built_by_the_worker_once(
    client, canary_case, coordinator, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exports, "BACKGROUND_TIMELINE_ENTRIES", 1)
    sent = []
    monkeypatch.setattr("cases.tasks.build_export.delay", lambda pk: sent.append(pk))
    client.force_login(coordinator)
    url = reverse("cases:case-export", args=[canary_case.pk])
    data = {"output": "dossier.pdf", "profile": "internal", "audience": "us", "language": "ko"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    export = Export.objects.get()
    assert sent == [export.pk]  # enqueued after the commit, with the id only
    assert export.status == "pending"
    page = client.get(response.url).content.decode()
    assert "<progress" in page
    assert 'hx-trigger="every 2s"' in page
    from cases import tasks

    assert tasks.build_export(export.pk) == "done"
    assert tasks.build_export(export.pk) is None  # a second run finds it done
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count() == 1
    page = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert "Ready." in page
    assert "hx-trigger" not in page


def test_a_failed_build_says_so_and_records_nothing(canary_case, coordinator, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dossier_pdf, "build_pdf", broken)
    export = exports.export_request(
        by=coordinator,
        case=canary_case,
        kind="dossier",
        fmt="pdf",
        profile_key="internal",
        audience="us",
        language="en",
    )
    export = exports.export_build(export_id=export.pk)
    assert export.status == "failed"
    assert "disk full" in export.error
    assert not export.file
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


# --- Tables -------------------------------------------------------------------------------------
def test_the_case_list_export_keeps_the_filters_and_only_visible_cases(
    client, canary_case, coordinator, lead_org, outsider
):
    other = factories.make_case(lead_organization=lead_org, by=coordinator, title="=HYPERLINK(1)")
    factories.make_case(by=outsider, title="Not ours")
    client.force_login(coordinator)
    url = reverse("cases:case-list-export")
    response = client.post(
        url + "?status=open",
        {"output": "case_list.csv", "profile": "internal", "audience": "us", "language": "en"},
    )
    export = Export.objects.get()
    assert response.status_code == 302
    assert export.filters == {"status": "open", "sort": "-opened_on"}
    with export.file.open("rb") as handle:
        rows = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert rows[0][0].startswith("Prepared for us by")
    titles = [row[1] for row in rows[2:]]
    assert titles == ["'=HYPERLINK(1)"]  # open only (the canary case is in advocacy), escaped
    assert other.reference == rows[2][0]
    assert AccessLog.objects.get(action=AccessLog.Action.EXPORT).case is None


def test_the_case_list_is_not_exported_for_outside_audiences(client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("cases:case-list-export")).content.decode()
    assert 'value="authority"' not in page
    response = client.post(
        reverse("cases:case-list-export"),
        {"output": "case_list.csv", "profile": "public", "audience": "x", "language": "en"},
    )
    assert response.status_code == 200
    assert not Export.objects.exists()


def test_the_timeline_as_xlsx(canary_case, coordinator):
    from openpyxl import load_workbook

    export = export_file(canary_case, coordinator, "authority", kind="timeline", fmt="xlsx")
    with export.file.open("rb") as handle:
        book = load_workbook(io.BytesIO(handle.read()), read_only=True)
    rows = [[cell for cell in row] for row in book.active.iter_rows(values_only=True)]
    assert rows[0][0].startswith("Prepared for Coordination Headquarters")
    cells = " ".join(str(v) for row in rows for v in row if v)
    assert c("event_title") in cells
    assert c("event_source") not in cells
    assert c("case_reason") not in cells
    assert "March 2025" in cells


def test_a_server_without_weasyprint_is_told_why(monkeypatch, client, canary_case, coordinator):
    # As on a machine without Pango: importing WeasyPrint fails. Nothing else imports it, so
    # the application runs; the export page says what is missing.
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)
    dossier_pdf.weasyprint_missing.cache_clear()
    try:
        message = dossier_pdf.weasyprint_missing()
        assert "PDF dossiers need WeasyPrint and the Pango library" in message
        assert "apt-get install libpango-1.0-0" in message
        client.force_login(coordinator)
        page = client.get(reverse("cases:case-export", args=[canary_case.pk])).content.decode()
        assert "PDF dossiers are not available on this server." in page
    finally:
        dossier_pdf.weasyprint_missing.cache_clear()


def test_a_build_left_by_a_dead_worker_is_taken_over_after_the_time_limit(
    canary_case, coordinator, settings
):
    import time_machine
    from django.utils import timezone

    from cases.models import EXPORT_TRANSITIONS
    from cases.services.transitions import apply_transition

    export = exports.export_request(
        by=coordinator,
        case=canary_case,
        kind="timeline",
        fmt="csv",
        profile_key="internal",
        audience="us",
        language="en",
    )
    apply_transition(  # a worker claimed it, then died
        instance=export,
        to="running",
        by=coordinator,
        reason="building",
        transitions=EXPORT_TRANSITIONS,
    )
    assert exports.export_build(export_id=export.pk) is None  # it may still be running
    later = timezone.now() + dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    with time_machine.travel(later):
        built = exports.export_build(export_id=export.pk)
    assert built.status == "done"
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count() == 1
