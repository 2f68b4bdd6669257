"""Every text a person can type is shown escaped on every page that shows it."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import reverse

from cases import services
from tests import factories

RAW = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"
# Fields whose values are not free text (validated codes, choices, hashes, names of files).
NOT_FREE_TEXT = {"reference", "sha256", "content_type", "due_timezone", "original_name", "file"}


def fill_text_fields(instance, *, unique_suffix=""):
    for field in instance._meta.get_fields():
        if not isinstance(field, models.CharField | models.TextField):
            continue
        if field.choices or field.name in NOT_FREE_TEXT or not field.editable:
            continue
        if isinstance(field, models.URLField | models.EmailField):
            continue
        value = f"{RAW}{field.name}{unique_suffix}"
        if getattr(field, "max_length", None):
            value = value[: field.max_length]
        setattr(instance, field.name, value)


@pytest.fixture
def hostile_world(db, settings, tmp_path, lead_org, coordinator):
    settings.MEDIA_ROOT = tmp_path
    fill_text_fields(lead_org)
    lead_org.save()
    authority = factories.AuthorityFactory()
    fill_text_fields(authority)
    authority.save()
    case = factories.make_case(lead_organization=lead_org, by=coordinator)
    fill_text_fields(case)
    services.case_update(case=case, by=coordinator, reason=RAW)
    prisoner = factories.PrisonerFactory(owner=case.lead_organization)
    fill_text_fields(prisoner, unique_suffix="-1")
    services.prisoner_update(prisoner=prisoner, by=coordinator, reason=RAW)
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.prisoner_change_custody(
        prisoner=prisoner,
        to="transferred",
        by=coordinator,
        reason=RAW,
        place_of_detention=f"{RAW}moved",
    )
    petition = factories.make_petition(
        case=case,
        by=coordinator,
        addressed_to=authority,
        copied_to=[authority],
        requests=[services.RequestSpec(kind="other", text=RAW)],
    )
    fill_text_fields(petition)
    services.petition_update(petition=petition, by=coordinator, reason=RAW)
    services.petition_change_status(
        petition=petition,
        to="rejected",
        by=coordinator,
        reason=RAW,
        response_received_on=dt.date(2026, 2, 1),
        response_summary=RAW,
    )
    event = services.event_log(
        case=case,
        by=coordinator,
        kind="other",
        occurred_on=dt.date(2026, 1, 2),
        title=RAW,
        description=RAW,
        source=RAW,
        prisoners=[prisoner],
        authorities=[authority],
        organizations=[lead_org],
    )
    deadline = factories.make_deadline(case=case, by=coordinator, title=RAW, notes=RAW)
    done = factories.make_deadline(case=case, by=coordinator, title=f"{RAW}done")
    services.deadline_change_status(deadline=done, to="done", by=coordinator, reason=RAW)
    document = services.document_store(
        case=case,
        by=coordinator,
        title=RAW,
        description=RAW,
        upload=SimpleUploadedFile("<b>name</b>.txt", b"text"),
    )
    return {
        "case": case,
        "prisoner": prisoner,
        "petition": petition,
        "event": event,
        "deadline": deadline,
        "document": document,
    }


@pytest.mark.django_db
def test_every_page_escapes_what_people_typed(client, coordinator, hostile_world):
    w = hostile_world
    client.force_login(coordinator)
    pages = [
        reverse("cases:home"),
        reverse("cases:case-list"),
        reverse("cases:case-list") + "?q=script",
        reverse("cases:case-detail", args=[w["case"].pk]),
        reverse("cases:case-detail", args=[w["case"].pk]) + "?order=oldest",
        reverse("cases:case-timeline", args=[w["case"].pk]),
        reverse("cases:case-edit", args=[w["case"].pk]),
        reverse("cases:case-share", args=[w["case"].pk]),
        reverse("cases:case-access-log", args=[w["case"].pk]),
        reverse("cases:petition-detail", args=[w["petition"].pk]),
        reverse("cases:petition-edit", args=[w["petition"].pk]),
        reverse("cases:event-edit", args=[w["event"].pk]),
        reverse("cases:deadline-edit", args=[w["deadline"].pk]),
        reverse("cases:deadline-status", args=[w["deadline"].pk]),
        reverse("cases:prisoner-detail", args=[w["prisoner"].pk]),
        reverse("cases:prisoner-edit", args=[w["prisoner"].pk]),
        reverse("cases:document-detail", args=[w["document"].pk]),
        reverse("cases:event-create", args=[w["case"].pk]),
        reverse("cases:deadline-create", args=[w["case"].pk]),
        reverse("cases:petition-create", args=[w["case"].pk]),
    ]
    shown = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
        shown += ESCAPED in body
    assert shown >= len(pages) - 2  # nearly every page shows some of the hostile text
    revealed = client.post(reverse("cases:prisoner-reveal", args=[w["prisoner"].pk]))
    body = revealed.content.decode()
    assert "<script>alert" not in body
    assert "onerror=alert(1)&gt;legal_name-1" in body
