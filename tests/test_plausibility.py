"""Plausibility rules (cases/services/plausibility.py): the impossible is refused with a
sentence on its field, the unlikely asks "save anyway?", and nothing is half-saved."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services
from cases.forms import StatusForm
from cases.models import Deadline, Event, Petition, Reminder
from cases.services.plausibility import ConfirmationNeeded
from cases.views.common import run_service
from tests import factories
from tests.test_forms_property import all_rows

pytestmark = pytest.mark.django_db

RAW_NAMES = ("petition_response_after_filing", "Constraint", "violated", "constraint")


@pytest.fixture
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=True)
    return dt.date(2026, 12, 1)


@pytest.fixture
def petition(today, case, coordinator):
    return factories.make_petition(case=case, by=coordinator, filed_on=dt.date(2026, 1, 3))


def errors_of(response) -> dict:
    return response.context["form"].errors


def test_a_deadline_already_past_asks_first_and_says_by_how_much(today, client, case, coordinator):
    client.force_login(coordinator)
    url = reverse("cases:deadline-create", args=[case.pk])
    data = {
        "kind": "follow_up_visit",
        "title": "Visit",
        "due_on": "2026-01-08",
        "due_precision": "day",
    }
    before = all_rows()
    response = client.post(url, data)
    assert response.status_code == 200
    assert errors_of(response)["due_on"] == [
        "This deadline is 327 days overdue already. Save anyway?"
    ]
    page = response.content.decode()
    assert "Save anyway: the dates are right" in page
    assert all_rows() == before and not Deadline.objects.exists()
    response = client.post(url, {**data, "confirmed": "on"})
    assert response.status_code == 302
    assert Deadline.objects.get().due_on == dt.date(2026, 1, 8)


def test_the_save_anyway_box_only_shows_when_asked(today, client, case, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("cases:deadline-create", args=[case.pk])).content.decode()
    assert "Save anyway" not in page


def test_a_reply_cannot_be_due_before_filing_and_no_email_follows(
    today, client, petition, coordinator
):
    client.force_login(coordinator)
    before = all_rows()
    response = client.post(
        reverse("cases:petition-status", args=[petition.pk]),
        {
            "to": "acknowledged",
            "reason": "Acknowledged",
            "expect_reply_by": "2025-12-20",
            "confirmed": "on",  # confirming does not make the impossible possible
        },
    )
    assert response.status_code == 200
    assert errors_of(response)["expect_reply_by"] == [
        "A reply cannot be due before the petition was filed (Jan. 3, 2026)."
    ]
    assert all_rows() == before
    assert not Reminder.objects.exists() and mail.outbox == []


def test_a_response_before_filing_is_a_sentence_on_its_field_and_the_header_stays(
    today, client, petition, coordinator
):
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:petition-status", args=[petition.pk]),
        {"to": "rejected", "reason": "Refused", "response_received_on": "2025-12-31"},
    )
    assert response.status_code == 200
    assert errors_of(response)["response_received_on"] == [
        "The response cannot come before the petition was filed (Jan. 3, 2026)."
    ]
    page = response.content.decode()
    assert "Now: Filed" in page and "Now: Rejected" not in page
    assert not any(name in page for name in RAW_NAMES)
    petition.refresh_from_db()
    assert petition.status == "filed"


@pytest.mark.parametrize("opened_on", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_a_case_opened_at_the_ends_of_time_is_refused(client, coordinator, lead_org, opened_on):
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:case-create"),
        {
            "title": "T",
            "priority": "normal",
            "lead_organization": lead_org.pk,
            "opened_on": opened_on,
        },
    )
    assert response.status_code == 200
    (message,) = errors_of(response)["opened_on"]
    assert message.startswith("Give a date between 1900 and ")


def test_an_event_in_the_future_and_a_capture_in_2030_ask_first(today, client, case, coordinator):
    client.force_login(coordinator)
    url = reverse("cases:event-create", args=[case.pk])
    data = {
        "kind": "visit",
        "title": "Visit",
        "occurred_on": "2031-05-01",
        "occurred_on_precision": "day",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "is in the future" in errors_of(response)["occurred_on"][0]
    assert not Event.objects.exists()
    assert client.post(url, {**data, "confirmed": "on"}).status_code == 302
    response = client.post(
        reverse("cases:prisoner-create", args=[case.pk]),
        {
            "code": "POW-X",
            "captured_on": "2030-01-01",
            "captured_on_precision": "month",
            "custody_status": "detained",
            "wish_status": "unknown",
            "icrc_registration": "not_requested",
            "unhcr_registration": "not_requested",
            "risk_level": "high",
            "wish_expressed_on_precision": "day",
        },
    )
    assert response.status_code == 200
    assert errors_of(response)["captured_on"] == [
        "January 2030 is in the future. Did it happen already? Check the date, or save anyway."
    ]


def test_a_case_cannot_be_closed_before_it_was_opened(today, client, coordinator, lead_org):
    case = factories.make_case(
        lead_organization=lead_org, by=coordinator, opened_on=dt.date(2026, 6, 1)
    )
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:case-status", args=[case.pk]),
        {"to": "closed", "reason": "Released", "happened_on": "2026-05-01"},
    )
    assert response.status_code == 200
    assert errors_of(response)["happened_on"] == [
        "The case was opened on June 1, 2026: this cannot have happened before."
    ]
    case.refresh_from_db()
    assert case.status == "open"


def test_full_clean_speaks_of_constraints_as_sentences(petition):
    petition.response_received_on = dt.date(2025, 1, 1)
    with pytest.raises(ValidationError) as raised:
        petition.full_clean()
    assert raised.value.message_dict == {
        "response_received_on": ["The response cannot come before the petition was filed."]
    }


def test_a_constraint_the_database_enforces_becomes_a_sentence_on_its_field(rf, petition):
    form = StatusForm(data={}, choices=[])
    form.is_valid()

    def race():
        raise IntegrityError(
            'new row for relation "cases_petition" violates check constraint '
            '"petition_response_after_filing"'
        )

    assert run_service(form, race, success=None, request=rf.get("/"), redirect_to="/") is None
    assert "The response cannot come before the petition was filed." in str(form.errors)
    assert "petition_response_after_filing" not in str(form.errors)


DATES = st.one_of(
    st.just(""),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.dates(min_value=dt.date(2025, 6, 1), max_value=dt.date(2027, 6, 1)).map(str),
)


@pytest.mark.parametrize("to", ["acknowledged", "rejected", "no_response"])
def test_any_dates_on_a_status_change_are_saved_whole_or_refused_with_a_sentence(
    today, client, petition, coordinator, to
):
    client.force_login(coordinator)
    url = reverse("cases:petition-status", args=[petition.pk])

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        response_on=DATES,
        happened_on=DATES,
        reply_by=DATES,
        precision=st.sampled_from(["day", "month", "year"]),
        confirmed=st.booleans(),
    )
    def check(response_on, happened_on, reply_by, precision, confirmed):
        Petition.objects.filter(pk=petition.pk).update(status_changed_on=None)
        fresh = Petition.objects.get(pk=petition.pk)
        if fresh.status != "filed":  # back to the start for the next example
            fresh._status_change_allowed = True
            fresh.status, fresh.response_received_on = "filed", None
            fresh.save()
        before = all_rows()
        post = {
            "to": to,
            "reason": "r",
            "response_received_on": response_on if to != "no_response" else "",
            "happened_on": happened_on,
            "happened_precision": precision,
            "expect_reply_by": reply_by,
        }
        if confirmed:
            post["confirmed"] = "on"
        response = client.post(url, post)
        assert response.status_code in (200, 302), post
        fresh.refresh_from_db()
        if response.status_code == 200:
            errors = response.context["form"].errors
            assert errors, post
            text = str(errors)
            assert not any(name in text for name in RAW_NAMES), text
            assert all_rows() == before, post
            assert fresh.status == "filed"
        else:
            assert fresh.status == to
            if post["response_received_on"]:
                assert fresh.response_received_on >= fresh.filed_on
            if reply_by:
                assert Deadline.objects.filter(due_on__gte=fresh.filed_on).exists()
            Deadline.objects.all().delete()

    check()


def test_the_quick_add_asks_too_and_keeps_what_was_typed(today, client, case, coordinator):
    client.force_login(coordinator)
    url = reverse("cases:event-create", args=[case.pk])
    data = {
        "quick": "1",
        "kind": "statement",
        "title": "Statement next year",
        "occurred_on": "2027-06-01",
        "occurred_on_precision": "day",
    }
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "Save anyway: the dates are right" in html
    assert 'value="Statement next year"' in html
    assert not Event.objects.exists()
    client.post(url, {**data, "confirmed": "on"}, HTTP_HX_REQUEST="true")
    assert Event.objects.get().occurred_on == dt.date(2027, 6, 1)


def test_editing_an_overdue_deadline_asks_only_when_its_date_moves(today, case, coordinator):
    deadline = factories.make_deadline(case=case, by=coordinator, due_on=dt.date(2026, 11, 20))
    services.deadline_update(
        deadline=deadline, by=coordinator, title="Renamed", confirmed=False
    )  # the date stays: nothing to ask
    with pytest.raises(ConfirmationNeeded):
        services.deadline_update(
            deadline=deadline, by=coordinator, due_on=dt.date(2026, 11, 10), confirmed=False
        )
    deadline.refresh_from_db()
    assert (deadline.title, deadline.due_on) == ("Renamed", dt.date(2026, 11, 20))


@pytest.mark.parametrize("endpoint", ["deadline-create", "event-create", "case-create"])
def test_any_dates_on_other_forms_are_saved_whole_or_refused_with_a_sentence(
    today, client, case, coordinator, lead_org, endpoint
):
    client.force_login(coordinator)
    url = (
        reverse("cases:case-create")
        if endpoint == "case-create"
        else reverse(f"cases:{endpoint}", args=[case.pk])
    )
    base = {
        "deadline-create": {"kind": "other", "title": "D", "due_precision": "day"},
        "event-create": {"kind": "visit", "title": "E", "occurred_on_precision": "month"},
        "case-create": {"title": "C", "priority": "normal", "lead_organization": lead_org.pk},
    }[endpoint]
    date_field = {
        "deadline-create": "due_on",
        "event-create": "occurred_on",
        "case-create": "opened_on",
    }[endpoint]

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(day=DATES, confirmed=st.booleans())
    def check(day, confirmed):
        post = {**base, date_field: day}
        if confirmed:
            post["confirmed"] = "on"
        before = all_rows()
        response = client.post(url, post)
        assert response.status_code in (200, 302), post
        if response.status_code == 200:
            errors = response.context["form"].errors
            assert errors, post
            assert not any(name in str(errors) for name in RAW_NAMES)
            assert all_rows() == before, post
        else:
            assert day and dt.date(1900, 1, 1) <= dt.date.fromisoformat(day)

    check()
