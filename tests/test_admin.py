"""The admin writes through the services: a status change needs a reason and is on record."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Document, Petition, TimelineEntry
from tests import factories


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def petition_form(petition, **overrides):
    data = {
        "case": petition.case_id,
        "title": petition.title,
        "reference": petition.reference,
        "filed_by": [o.pk for o in petition.filed_by.all()],
        "addressed_to": petition.addressed_to_id,
        "filed_on": petition.filed_on.isoformat() if petition.filed_on else "",
        "channel": petition.channel,
        "legal_bases": petition.legal_bases,
        "summary": petition.summary,
        "status": petition.status,
        "change_reason": "",
        "requests-TOTAL_FORMS": "0",
        "requests-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_admin_status_change_goes_through_the_service(admin_client, staff, case, editor):
    petition = factories.make_petition(case=case, by=editor)
    url = reverse("admin:cases_petition_change", args=[petition.pk])
    response = admin_client.post(
        url, petition_form(petition, status="acknowledged", change_reason="Receipt by email")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    petition.refresh_from_db()
    assert petition.status == "acknowledged"
    latest = petition.history.first()
    assert latest.history_user == staff
    assert latest.history_change_reason == "Receipt by email"


@pytest.mark.django_db
def test_admin_status_change_without_reason_is_refused(admin_client, case, editor):
    petition = factories.make_petition(case=case, by=editor)
    url = reverse("admin:cases_petition_change", args=[petition.pk])
    before = petition.history.count()
    response = admin_client.post(url, petition_form(petition, status="acknowledged"))
    assert response.status_code == 200
    assert "Say why the status changes." in response.content.decode()
    petition.refresh_from_db()
    assert petition.status == "filed"
    assert petition.history.count() == before


@pytest.mark.django_db
def test_admin_offers_only_allowed_next_statuses(admin_client, case, editor):
    petition = factories.make_petition(case=case, by=editor, status="draft")
    response = admin_client.get(reverse("admin:cases_petition_change", args=[petition.pk]))
    choices = [
        value for value, _label in response.context["adminform"].form.fields["status"].choices
    ]
    assert sorted(choices) == ["draft", "filed", "withdrawn"]
    # A refused transition posted anyway is a field error, not a change.
    response = admin_client.post(
        reverse("admin:cases_petition_change", args=[petition.pk]),
        petition_form(
            petition, status="granted", change_reason="skip ahead", filed_on="2026-01-03"
        ),
    )
    assert response.status_code == 200
    assert Petition.objects.get(pk=petition.pk).status == "draft"


@pytest.mark.django_db
def test_admin_edit_without_status_change_records_the_user(admin_client, staff, case, editor):
    petition = factories.make_petition(case=case, by=editor)
    url = reverse("admin:cases_petition_change", args=[petition.pk])
    response = admin_client.post(url, petition_form(petition, summary="Updated summary"))
    assert response.status_code == 302
    assert petition.history.first().history_user == staff


@pytest.mark.django_db
def test_admin_case_add_generates_a_reference(admin_client, lead_org):
    response = admin_client.post(
        reverse("admin:cases_case_add"),
        {
            "title": "New case",
            "summary": "",
            "status": "open",
            "priority": "normal",
            "lead_organization": lead_org.pk,
            "opened_on": "2026-01-03",
            "change_reason": "",
            "shares-TOTAL_FORMS": "0",
            "shares-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    from cases.models import Case

    assert Case.objects.get(title="New case").reference.startswith("CASE-")


@pytest.mark.django_db
def test_admin_refuses_a_disallowed_upload_with_a_message(admin_client, case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = admin_client.post(
        reverse("admin:cases_document_add"),
        {
            "case": case.pk,
            "title": "Bad",
            "description": "",
            "file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00"),
        },
    )
    assert response.status_code == 200
    assert "Files of this type cannot be stored" in response.content.decode()
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_admin_upload_is_hashed(admin_client, case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = admin_client.post(
        reverse("admin:cases_document_add"),
        {
            "case": case.pk,
            "title": "Letter",
            "description": "",
            "file": SimpleUploadedFile("letter.txt", b"I wish to go to South Korea."),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    document = Document.objects.get()
    import hashlib

    assert document.sha256 == hashlib.sha256(b"I wish to go to South Korea.").hexdigest()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "organization",
        "membership",
        "authority",
        "prisoner",
        "case",
        "caseshare",
        "petition",
        "petitionrequest",
        "event",
        "deadline",
        "document",
    ],
)
def test_every_model_has_admin_list_add_and_history_pages(admin_client, case, editor, name):
    for suffix in ("changelist", "add"):
        assert admin_client.get(reverse(f"admin:cases_{name}_{suffix}")).status_code == 200
    if name == "case":
        assert (
            admin_client.get(reverse("admin:cases_case_history", args=[case.pk])).status_code == 200
        )


@pytest.mark.django_db
def test_admin_status_change_says_when_it_happened(admin_client, case, editor):
    petition = factories.make_petition(case=case, by=editor)
    url = reverse("admin:cases_petition_change", args=[petition.pk])
    response = admin_client.post(
        url,
        petition_form(
            petition,
            status="acknowledged",
            change_reason="Receipt by email",
            happened_on="2026-01-08",
            happened_precision="day",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    petition.refresh_from_db()
    assert petition.status_changed_on == dt.date(2026, 1, 8)
    entry = TimelineEntry.objects.get(kind="status", petition=petition)
    assert entry.happened_on == dt.date(2026, 1, 8)
