"""Access review: repeated case views coalesced (without changing chained rows), filters,
unusual patterns on the case page and in the weekly email."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases import services, tasks
from cases.models import AccessLog, CaseViewSession
from cases.services.audit_chain import chained_models
from tests import factories

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _chain_ok():
    from django.core.management import call_command

    call_command("verify_audit")  # raises CommandError when a chain is broken


def test_views_in_one_session_are_one_row_and_reveals_stay_rows(client, coordinator, case):
    client.force_login(coordinator)
    url = reverse("cases:case-detail", args=[case.pk])
    for _ in range(5):
        assert client.get(url).status_code == 200
    views = AccessLog.objects.filter(case=case, action=AccessLog.Action.VIEW_CASE)
    assert views.count() == 1
    counter = CaseViewSession.objects.get()
    assert counter.first == views.get() and counter.count == 5
    assert counter.last_at >= counter.first_at
    # Another session of the same user: its own row.
    other = Client()
    other.force_login(coordinator)
    other.get(url)
    assert views.count() == 2
    # Each reveal is its own row.
    prisoner = factories.PrisonerFactory(legal_name="Someone", owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    for _ in range(2):
        client.post(reverse("cases:prisoner-reveal", args=[prisoner.pk]))
    assert AccessLog.objects.filter(action=AccessLog.Action.REVEAL_IDENTITY).count() == 2
    page = client.get(reverse("cases:case-access-log", args=[case.pk])).content.decode()
    assert "5 views in this session" in page
    _chain_ok()  # counting never touched a chained row
    assert CaseViewSession not in chained_models()


def test_the_log_filters_by_user_kind_and_date(client, coordinator, editor, case):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC)):
        services.access_log_record(user=editor, action="view_case", case=case)
    with time_machine.travel(dt.datetime(2026, 3, 5, 9, tzinfo=UTC)):
        services.access_log_record(user=editor, action="download_document", case=case, target="d1")
        services.access_log_record(user=coordinator, action="view_case", case=case, target="c1")
    client.force_login(coordinator)
    url = reverse("cases:case-access-log", args=[case.pk])

    def rows(**query):
        page = client.get(url, query).context["page"]
        return sorted((r.username, r.action) for r in page.object_list)

    assert rows(user="editor") == [("editor", "download_document"), ("editor", "view_case")]
    assert rows(action="download_document") == [("editor", "download_document")]
    assert rows(since="2026-03-04", until="2026-03-05") == [
        ("coordinator", "view_case"),
        ("editor", "download_document"),
    ]
    assert rows(since="2026-03-01", until="2026-03-02") == [("editor", "view_case")]
    response = client.get(url, {"since": "2026-03-05", "until": "2026-03-01"})
    assert "The end comes before the start." in response.content.decode()


def _burst(user, lead_org, by, *, at, cases=16, downloads=0):
    made = []
    with time_machine.travel(at, tick=False) as traveller:
        for index in range(cases):
            case = factories.make_case(lead_organization=lead_org, by=by, title=f"Case {index}")
            services.access_log_record(user=user, action="view_case", case=case)
            made.append(case)
            traveller.shift(dt.timedelta(minutes=2))
        for _ in range(downloads):
            services.access_log_record(user=user, action="download_document", case=made[0])
            traveller.shift(dt.timedelta(minutes=1))
    return made


def test_unusual_patterns_show_on_the_case_page_for_coordinators(
    client, coordinator, editor, lead_org
):
    now = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)
    made = _burst(editor, lead_org, coordinator, at=now - dt.timedelta(days=1), downloads=10)
    # A view at 03:00 in the editor's time zone (UTC here): outside default usual hours.
    with time_machine.travel(dt.datetime(2026, 3, 9, 3, tzinfo=UTC)):
        services.access_log_record(user=editor, action="view_case", case=made[0])
    with time_machine.travel(now):
        client.force_login(coordinator)
        page = client.get(reverse("cases:case-detail", args=[made[0].pk])).content.decode()
        assert "Unusual access in the last two weeks" in page
        assert "editor opened 16 different cases within one hour." in page
        assert "editor downloaded or exported 10 times within one hour." in page
        assert "editor opened the case outside their usual hours (1 time)." in page
        client.force_login(editor)
        page = client.get(reverse("cases:case-detail", args=[made[0].pk])).content.decode()
        assert "Unusual access" not in page  # only for those who review access


def test_ordinary_work_is_not_flagged(client, coordinator, editor, lead_org):
    now = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)
    made = _burst(editor, lead_org, coordinator, at=now - dt.timedelta(days=1), cases=5)
    with time_machine.travel(now):
        client.force_login(coordinator)
        page = client.get(reverse("cases:case-detail", args=[made[0].pk])).content.decode()
    assert "Unusual access" not in page


def test_weekly_summary_goes_to_coordinators_once(coordinator, editor, lead_org, outsider):
    monday = dt.datetime(2026, 3, 16, 6, 30, tzinfo=UTC)
    _burst(editor, lead_org, coordinator, at=dt.datetime(2026, 3, 11, 10, tzinfo=UTC))
    mail.outbox.clear()
    with time_machine.travel(monday):
        assert tasks.access_review_weekly() == 1
        assert tasks.access_review_weekly() == 0  # run twice: sent once
    assert [m.to for m in mail.outbox] == [[coordinator.email]]
    assert "editor opened 16 different cases within one hour." in mail.outbox[0].body
    # The week after, nothing unusual: nothing sent.
    with time_machine.travel(monday + dt.timedelta(days=7)):
        assert tasks.access_review_weekly() == 0
