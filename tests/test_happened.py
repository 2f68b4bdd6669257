"""Every timeline entry says when it happened, apart from when it was recorded.

Status changes (the form asks "when did this happen"; a response date is the answer's date),
deadline outcomes, custody changes and documents (their own date) are placed on the timeline
by when they happened; the timeline shows "recorded on … by …" beside it, and history keeps
both times.
"""

import datetime as dt
import importlib
import re
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from cases import services
from cases.models import Petition, TimelineEntry
from cases.models.chain import canonical_content, content_fields
from cases.services.audit_chain import verify_chain
from cases.services.timeline import status_happened_on
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def jan9(time_machine):
    """The day after the Thursday visit (ticking: history orders rows by their time)."""
    time_machine.move_to(dt.datetime(2026, 1, 9, 9, 0, tzinfo=dt.UTC), tick=True)


def titles_in_order(html: str, titles: list[str]) -> list[str]:
    """The titles in the order the timeline shows them."""
    html = html[html.index('id="timeline-list"') :]
    found = sorted((html.index(t), t) for t in titles if t in html)
    return [t for _, t in found]


def test_an_answer_happened_when_it_was_received(jan9, client, case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator, title="Protection petition")
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:petition-status", args=[petition.pk]),
        {
            "to": "acknowledged",
            "reason": "Receipt confirmed",
            "response_received_on": "2026-01-08",
            "happened_on": "2026-01-09",  # the form's default, today: left as it was
        },
    )
    assert response.status_code == 302
    petition.refresh_from_db()
    assert (petition.status_changed_on, petition.status_changed_precision) == (
        dt.date(2026, 1, 8),
        "day",
    )
    entry = TimelineEntry.objects.get(kind="status", petition=petition)
    assert entry.happened_on == dt.date(2026, 1, 8)
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    item = page[page.index("Receipt confirmed") - 1500 : page.index("Receipt confirmed") + 400]
    assert "Jan. 8, 2026" in item
    assert re.search(r"recorded on Jan\. 9, 2026, [^<]*[ap]\.m\. by coordinator", item)


def test_the_person_may_say_another_day_than_the_response(jan9, client, case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator)
    client.force_login(coordinator)
    client.post(
        reverse("cases:petition-status", args=[petition.pk]),
        {
            "to": "under_review",
            "reason": "Under review since the 10th",
            "response_received_on": "2026-01-08",
            "happened_on": "2026-01-07",
        },
    )
    petition.refresh_from_db()
    assert petition.status == "under_review"
    assert petition.status_changed_on == dt.date(2026, 1, 7)


def test_the_story_reads_in_the_order_it_happened_not_as_it_was_learned(
    jan9, client, case, coordinator
):
    """The coordinator logs the petition first, then the March 2025 visit, then the
    acknowledgement received on 8 January."""
    petition = factories.make_petition(
        case=case, by=coordinator, title="Protection petition", filed_on=dt.date(2026, 1, 3)
    )
    services.event_log(
        case=case,
        by=coordinator,
        kind="visit",
        title="Lawmaker meets both men",
        occurred_on=dt.date(2025, 3, 1),
        occurred_on_precision="month",
    )
    services.petition_change_status(
        petition=petition,
        to="acknowledged",
        by=coordinator,
        reason="Acknowledgement received",
        response_received_on=dt.date(2026, 1, 8),
    )
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])
    story = ["Lawmaker meets both men", "Petition filed", "Acknowledgement received"]
    oldest_first = client.get(url, {"order": "oldest"}).content.decode()
    assert titles_in_order(oldest_first, story) == story
    newest_first = client.get(url).content.decode()
    assert titles_in_order(newest_first, story) == story[::-1]
    assert "March 2025" in oldest_first


def test_deadline_outcomes_and_custody_changes_carry_their_dates(jan9, client, case, coordinator):
    deadline = factories.make_deadline(case=case, by=coordinator, due_on=dt.date(2026, 1, 8))
    prisoner = factories.PrisonerFactory(
        code="POW-A", custody_status="captured", owner=case.lead_organization
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:deadline-status", args=[deadline.pk]),
        {"to": "done", "reason": "Visited", "happened_on": "2026-01-08"},
    )
    assert response.status_code == 302
    outcome = TimelineEntry.objects.get(kind="status", deadline=deadline)
    assert outcome.happened_on == dt.date(2026, 1, 8)

    form = client.get(reverse("cases:prisoner-edit", args=[prisoner.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields if name != "confirmed"}
    data.update(
        custody_status="detained",
        change_reason="Transferred to Kyiv",
        custody_changed_on="2025-01-20",
        custody_changed_precision="month",
    )
    response = client.post(reverse("cases:prisoner-edit", args=[prisoner.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    change = TimelineEntry.objects.get(kind="status", prisoner=prisoner)
    assert (change.happened_on, change.precision) == (dt.date(2025, 1, 1), "month")
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "January 2025" in page


def test_a_document_is_dated_by_its_own_date(jan9, client, case, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(coordinator)
    letter = SimpleUploadedFile("letters.pdf", b"%PDF-1.4 letters", "application/pdf")
    response = client.post(
        reverse("cases:document-upload", args=[case.pk]),
        {
            "file": letter,
            "title": "Handwritten letters",
            "dated_on": "2025-12-15",
            "dated_precision": "month",
        },
    )
    assert response.status_code == 302
    entry = TimelineEntry.objects.get(kind="document")
    assert (entry.happened_on, entry.precision) == (dt.date(2025, 12, 1), "month")
    page = client.get(reverse("cases:document-detail", args=[entry.document_id]))
    assert "December 2025" in page.content.decode()
    # A petition's file is dated by the petition's filing, not by its upload.
    petition = factories.make_petition(
        case=case,
        by=coordinator,
        filed_on=dt.date(2026, 1, 3),
        uploads=[SimpleUploadedFile("petition.pdf", b"%PDF-1.4 p", "application/pdf")],
    )
    document = petition.documents.get()
    assert document.dated_on == dt.date(2026, 1, 3)
    assert TimelineEntry.objects.get(document=document).happened_on == dt.date(2026, 1, 3)


def test_backdating_is_on_record(jan9, client, case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator)
    services.petition_change_status(
        petition=petition,
        to="acknowledged",
        by=coordinator,
        reason="Acknowledged by phone",
        happened_on=dt.date(2026, 1, 5),
    )
    record = petition.history.order_by("-history_id").first()
    assert record.status_changed_on == dt.date(2026, 1, 5)
    assert record.history_date.date() == dt.date(2026, 1, 9)
    client.force_login(coordinator)
    page = client.get(reverse("cases:petition-detail", args=[petition.pk])).content.decode()
    history = page[page.index('id="history-heading"') :]
    assert "Status changed on" in history and "Jan. 5, 2026" in history


def test_changes_recorded_before_dates_were_asked_use_the_best_stored_date():
    """What migration 0011 and a timeline rebuild give rows without ``status_changed_on``."""
    petition = Petition(status="acknowledged")
    record = SimpleNamespace(
        status_changed_on=None,
        status_changed_precision=None,
        status="acknowledged",
        response_received_on=dt.date(2026, 1, 8),
        filed_on=dt.date(2026, 1, 3),
        history_date=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    )
    previous = SimpleNamespace(response_received_on=None)
    assert status_happened_on(petition, record, previous) == (dt.date(2026, 1, 8), "day")
    record.response_received_on = None
    assert status_happened_on(petition, record, previous) == (dt.date(2026, 12, 1), "day")


def test_rows_written_before_the_new_columns_keep_their_hash(jan9, case, coordinator):
    """A history row whose added columns are NULL hashes as it did before they existed."""
    petition = factories.make_petition(case=case, by=coordinator)
    record = petition.history.earliest("history_id")
    fields = content_fields(Petition.history.model)
    values = {f.attname: getattr(record, f.attname) for f in fields}
    assert values["status_changed_on"] is None
    assert '"status_changed_on"' not in canonical_content(fields, values)
    services.petition_change_status(
        petition=petition, to="acknowledged", by=coordinator, reason="r"
    )
    newest = petition.history.order_by("-history_id").first()
    values = {f.attname: getattr(newest, f.attname) for f in fields}
    assert '"status_changed_on":"2026-01-09"' in canonical_content(fields, values)
    assert verify_chain(Petition.history.model).ok


def test_korean_times_put_the_half_of_day_first():
    from cases.models.dates import format_moment

    moment = dt.datetime(2026, 1, 8, 9, 2, tzinfo=dt.UTC)
    with translation.override("ko"):
        assert format_moment(moment).endswith("오전 9:02")


def test_a_changed_wish_is_placed_when_it_was_expressed(jan9, case, coordinator):
    prisoner = factories.PrisonerFactory(
        code="POW-B", wish_status="undecided", owner=case.lead_organization
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.prisoner_update(
        prisoner=prisoner,
        by=coordinator,
        wish_status="clearly_stated",
        wish_expressed_on=dt.date(2025, 12, 1),
        wish_expressed_on_precision="month",
    )
    entry = TimelineEntry.objects.get(kind="change", field="wish_status")
    assert (entry.happened_on, entry.precision) == (dt.date(2025, 12, 1), "month")


def test_the_migration_dates_old_status_entries_by_the_best_stored_date(jan9, case, coordinator):
    """Migration 0011 on entries written before it (dated the day they were recorded)."""
    petition = factories.make_petition(case=case, by=coordinator, filed_on=dt.date(2026, 1, 3))
    services.petition_change_status(
        petition=petition,
        to="acknowledged",
        by=coordinator,
        reason="Letter",
        response_received_on=dt.date(2026, 1, 8),
    )
    services.case_change_status(case=case, to="monitoring", by=coordinator, reason="Quiet")
    # As the projection before 0011 wrote them: the day they were recorded.
    TimelineEntry.objects.filter(kind="status").update(happened_on=dt.date(2026, 1, 9))
    migration = importlib.import_module("cases.migrations.0015_happened_dates")
    migration.status_entries_happened_on(django_apps, None)
    answer = TimelineEntry.objects.get(kind="status", subject="petition")
    assert (answer.happened_on, answer.happened_at) == (dt.date(2026, 1, 8), None)
    other = TimelineEntry.objects.get(kind="status", subject="case")
    assert other.happened_on == dt.date(2026, 1, 9)  # nothing better stored: as recorded
