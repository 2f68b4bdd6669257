"""The API (cases/api/): tokens, reads, writes through the services, problems, idempotency,
rate limits, ETags, history "via API" and the access log."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from cases import services
from cases.models import (
    AccessLog,
    ApiToken,
    Case,
    Event,
    Petition,
    PetitionStatus,
    TimelineEntry,
)
from cases.services.tokens import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db


def token_for(user, scope=ApiToken.Scope.READ_WRITE) -> str:
    _token, raw = api_token_create(
        user=user, name="tool", scope=scope, expires_on=dt.date.today() + dt.timedelta(days=30)
    )
    return raw


@pytest.fixture
def api(client):
    class Api:
        def __init__(self):
            self.token = None

        def call(self, method, url, body=None, **headers):
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            if self.token:
                extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
            if body is not None:
                return getattr(client, method)(
                    url, data=json.dumps(body), content_type="application/json", **extra
                )
            return getattr(client, method)(url, **extra)

        def get(self, url, **headers):
            return self.call("get", url, **headers)

        def post(self, url, body=None, **headers):
            return self.call("post", url, {} if body is None else body, **headers)

    return Api()


@pytest.fixture
def authority(db):
    return factories.AuthorityFactory(name="Ministry of Defence")


def test_no_token_is_401_with_a_problem(api, case):
    response = api.get(reverse("api:case-detail", args=[case.pk]))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_reads_a_case_and_the_read_is_on_the_access_log(api, case, editor):
    api.token = token_for(editor)
    response = api.get(reverse("api:case-detail", args=[case.pk]))
    assert response.status_code == 200, response.content
    assert response.json()["reference"] == case.reference
    assert response.json()["your_level"] == "edit"
    log = AccessLog.objects.get(case=case)
    assert (log.action, log.user) == (AccessLog.Action.VIEW_CASE, editor)


def test_revoked_expired_and_wrong_tokens_are_refused(api, case, editor):
    raw = token_for(editor)
    token = ApiToken.objects.get(user=editor)
    url = reverse("api:case-detail", args=[case.pk])
    api.token = raw
    assert api.get(url).status_code == 200
    services.tokens.api_token_revoke(token=token, by=editor, reason="test")
    assert api.get(url).status_code == 401
    api.token = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert api.get(url).status_code == 401


def test_a_new_password_or_deactivation_revokes_every_token(api, case, editor, viewer):
    api.token = token_for(editor)
    url = reverse("api:case-detail", args=[case.pk])
    editor.set_password("another long passphrase 123")
    editor.save()
    assert api.get(url).status_code == 401
    assert ApiToken.objects.get(user=editor).revoked_reason == "Password changed"
    api.token = token_for(viewer)
    assert api.get(url).status_code == 200
    viewer.is_active = False
    viewer.save()
    assert ApiToken.objects.get(user=viewer).revoked_reason == "Account deactivated"
    assert api.get(url).status_code == 401


def test_tokens_are_stored_hashed(editor):
    raw = token_for(editor)
    token = ApiToken.objects.get(user=editor)
    assert raw not in {token.digest, token.prefix}
    assert raw.startswith(token.prefix)


def test_a_read_token_may_not_write(api, case, editor, authority):
    api.token = token_for(editor, scope=ApiToken.Scope.READ)
    response = api.post(
        reverse("api:case-petitions", args=[case.pk]),
        {"title": "Ask", "addressed_to": authority.pk},
    )
    assert response.status_code == 403
    assert not Petition.objects.exists()


def _petition_body(authority, **extra):
    return {
        "title": "Do not repatriate POW-A",
        "addressed_to": authority.pk,
        "status": "filed",
        "filed_on": "2026-02-01",
        "legal_bases": ["gc3_repatriation"],
        "requests": [{"kind": "exchange_exclusion", "text": "Not against his will"}],
        **extra,
    }


def test_filing_a_petition_goes_through_the_service_and_history_says_via_api(
    api, case, editor, authority
):
    api.token = token_for(editor)
    response = api.post(reverse("api:case-petitions", args=[case.pk]), _petition_body(authority))
    assert response.status_code == 201, response.content
    petition = Petition.objects.get()
    assert response["Location"] == reverse("api:petition-detail", args=[petition.pk])
    assert petition.status == PetitionStatus.FILED
    assert petition.filed_by.get() == case.lead_organization  # the web form's default
    assert [r.kind for r in petition.requests.all()] == ["exchange_exclusion"]
    record = petition.history.latest()
    assert record.history_user == editor
    assert record.history_change_reason.endswith("(via API)")
    assert response.json()["requests"][0]["text"] == "Not against his will"


def test_a_refused_petition_is_a_problem_with_field_paths_and_nothing_saved(
    api, case, editor, authority
):
    api.token = token_for(editor)
    body = _petition_body(authority, filed_on=None, requests=[{"kind": "nonsense"}])
    response = api.post(reverse("api:case-petitions", args=[case.pk]), body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["type"].endswith("invalid")
    assert {e.get("pointer") for e in problem["errors"]} == {"#/requests/0/kind"}
    # The serializer accepted the shape; the web form's rule (a filed petition needs its day)
    body = _petition_body(authority, filed_on=None)
    problem = api.post(reverse("api:case-petitions", args=[case.pk]), body).json()
    assert [e["pointer"] for e in problem["errors"]] == ["#/filed_on"]
    assert not Petition.objects.exists()


def test_idempotency_key_makes_a_retry_return_the_first_answer(api, case, editor, authority):
    api.token = token_for(editor)
    url = reverse("api:case-petitions", args=[case.pk])
    first = api.post(url, _petition_body(authority), **{"Idempotency-Key": "abc-1"})
    again = api.post(url, _petition_body(authority), **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert Petition.objects.count() == 1
    other = api.post(url, _petition_body(authority, title="Other"), **{"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    assert Petition.objects.count() == 1


def test_rate_limit_per_token_answers_429_with_retry_after(api, case, editor, settings):
    settings.API_RATE_PER_MINUTE = 3
    api.token = token_for(editor)
    url = reverse("api:case-list")
    assert [api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(url)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    api.token = token_for(factories.member(case.lead_organization, "viewer", username="v2"))
    assert api.get(url).status_code == 200  # another token has its own count
    token = ApiToken.objects.filter(user=editor).get()
    assert token.last_used_at is not None


def test_case_etag_answers_304_until_the_case_changes(api, case, editor, coordinator):
    api.token = token_for(editor)
    url = reverse("api:case-detail", args=[case.pk])
    etag = api.get(url)["ETag"]
    assert api.get(url, **{"If-None-Match": etag}).status_code == 304
    services.case_update(case=case, by=coordinator, title="New title")
    response = api.get(url, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json()["title"] == "New title"


def test_timeline_cursor_pages_through_every_entry_once(api, case, editor):
    for day in range(1, 8):
        services.event_log(
            case=case,
            by=editor,
            kind="visit",
            title=f"Visit {day}",
            occurred_on=dt.date(2026, 1, day),
        )
    api.token = token_for(editor)
    url = reverse("api:case-timeline", args=[case.pk]) + "?page_size=3"
    seen, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        seen += [e["id"] for e in response.json()["results"]]
        url = response.json()["next"]
        pages += 1
    expected = list(
        TimelineEntry.objects.filter(case=case)
        .order_by("-happened_on", "-happened_at", "-id")
        .values_list("id", flat=True)
    )
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert pages == 3
    # newest first: the last visit comes before the first
    titles = [
        e["event"]["title"]
        for e in api.get(reverse("api:case-timeline", args=[case.pk]) + "?kind=event").json()[
            "results"
        ]
    ]
    assert titles[0] == "Visit 7" and titles[-1] == "Visit 1"


def test_timeline_development_entry_names_its_development(api, case, editor, coordinator):
    from cases.services import developments

    development = developments.development_create(
        by=coordinator,
        owner=case.lead_organization,
        title="Exchange set for 15 March",
        kind="exchange_announced",
        happened_on=dt.date(2026, 1, 9),
    )
    developments.development_link_case(development=development, case=case, by=coordinator)
    api.token = token_for(editor)
    results = api.get(reverse("api:case-timeline", args=[case.pk]) + "?kind=development").json()[
        "results"
    ]
    assert [e["kind"] for e in results] == ["development"]
    assert results[0]["development"] == {"id": development.pk, "title": "Exchange set for 15 March"}
    # Other entries say null.
    services.event_log(
        case=case, by=editor, kind="visit", title="Visit", occurred_on=dt.date(2026, 1, 10)
    )
    event = api.get(reverse("api:case-timeline", args=[case.pk]) + "?kind=event").json()["results"][
        0
    ]
    assert event["development"] is None


def test_timeline_etag_and_bad_cursor(api, case, editor):
    api.token = token_for(editor)
    url = reverse("api:case-timeline", args=[case.pk])
    etag = api.get(url)["ETag"]
    assert api.get(url, **{"If-None-Match": etag}).status_code == 304
    services.event_log(
        case=case, by=editor, kind="visit", title="v", occurred_on=dt.date(2026, 1, 1)
    )
    assert api.get(url, **{"If-None-Match": etag}).status_code == 200
    response = api.get(url + "?cursor=bm9wZQ")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "cursor"


def test_case_status_change_needs_a_reason_and_a_coordinator(api, case, editor, coordinator):
    url = reverse("api:case-status", args=[case.pk])
    api.token = token_for(editor)
    assert api.post(url, {"to": "closed", "reason": "done"}).status_code == 403
    api.token = token_for(coordinator)
    problem = api.post(url, {"to": "closed", "reason": ""}).json()
    assert problem["status"] == 400
    assert problem["errors"][0]["pointer"] == "#/reason"
    response = api.post(url, {"to": "closed", "reason": "He was released"})
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.history.latest().history_change_reason == "He was released (via API)"


def test_event_and_deadline_writes_use_the_forms_rules(api, case, editor):
    api.token = token_for(editor)
    other_case = factories.make_case(lead_organization=case.lead_organization, by=editor)
    stranger = factories.PrisonerFactory(owner=case.lead_organization)
    services.case_add_prisoner(case=other_case, prisoner=stranger, by=editor)
    body = {"kind": "visit", "title": "Visit", "occurred_on": "2026-03-01", "people": [stranger.pk]}
    response = api.post(reverse("api:case-events", args=[case.pk]), body)
    assert response.status_code == 400  # not a person of this case
    assert response.json()["errors"][0]["pointer"] == "#/people"
    body["people"] = []
    response = api.post(reverse("api:case-events", args=[case.pk]), body)
    assert response.status_code == 201, response.content
    assert Event.objects.get(pk=response.json()["id"]).created_by == editor
    deadline = {
        "kind": "follow_up_visit",
        "title": "Visit again",
        "due_on": "2026-04-01",
        "due_time": "10:00",
        "due_precision": "month",
    }
    response = api.post(reverse("api:case-deadlines", args=[case.pk]), deadline)
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/due_time"
    del deadline["due_time"]
    # Already past: the same question as on the web form, answered with "confirmed".
    response = api.post(reverse("api:case-deadlines", args=[case.pk]), deadline)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["pointer"] == "#/due_on" and "Save anyway?" in error["detail"]
    response = api.post(
        reverse("api:case-deadlines", args=[case.pk]), {**deadline, "confirmed": True}
    )
    assert response.status_code == 201, response.content


def test_person_identity_only_when_asked_and_allowed_and_the_reveal_is_logged(
    api, case, coordinator, editor
):
    prisoner = factories.PrisonerFactory(
        owner=case.lead_organization, legal_name="Ivan Secret", notes="private"
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    url = reverse("api:person-detail", args=[prisoner.pk])
    api.token = token_for(editor)
    assert "Ivan Secret" not in api.get(url).content.decode()
    assert api.get(url + "?identity=1").status_code == 403
    api.token = token_for(coordinator)
    body = api.get(url).json()
    assert body["identity"] is None and "Ivan Secret" not in json.dumps(body)
    assert not AccessLog.objects.filter(action=AccessLog.Action.REVEAL_IDENTITY).exists()
    assert api.get(url + "?identity=1").json()["identity"]["legal_name"] == "Ivan Secret"
    log = AccessLog.objects.get(action=AccessLog.Action.REVEAL_IDENTITY)
    assert (log.prisoner, log.user) == (prisoner, coordinator)


def test_document_upload_and_download_with_the_access_log(api, case, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    api.token = token_for(editor)
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    raw_client = Client()
    response = raw_client.post(
        reverse("api:case-documents", args=[case.pk]),
        {"file": SimpleUploadedFile("letter.txt", b"hello"), "title": "Letter"},
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 201, response.content
    doc_id = response.json()["id"]
    response = api.get(reverse("api:document-download", args=[doc_id]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD_DOCUMENT, user=editor).exists()


def test_case_list_uses_the_web_lists_search(api, case, editor, lead_org):
    factories.make_case(lead_organization=lead_org, by=editor, title="Findable hearing")
    api.token = token_for(editor)
    body = api.get(reverse("api:case-list") + "?q=Findable").json()
    assert [c["title"] for c in body["results"]] == ["Findable hearing"]
    assert body["count"] == 1
    assert api.get(reverse("api:case-list") + "?status=nonsense").status_code == 400
    assert Case.objects.count() == 2


def test_case_list_rows_come_from_the_cache_only_while_the_case_is_unchanged(
    api, case, editor, coordinator
):
    api.token = token_for(editor)
    url = reverse("api:case-list")
    assert api.get(url).json()["results"][0]["title"] == case.title
    services.case_update(case=case, by=coordinator, title="Renamed")
    prisoner = factories.PrisonerFactory(owner=case.lead_organization, code="NEW-1")
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    row = api.get(url).json()["results"][0]
    assert row["title"] == "Renamed"
    assert [p["code"] for p in row["people"]] == ["NEW-1"]


def test_a_retried_status_change_gets_its_first_answer_not_a_refusal(api, case, coordinator):
    """Once closed, "closed" is no longer an allowed next status: the retry must still get
    the first answer back, not a 400, and change nothing more."""
    api.token = token_for(coordinator)
    url = reverse("api:case-status", args=[case.pk])
    body = {"to": "closed", "reason": "Released"}
    first = api.post(url, body, **{"Idempotency-Key": "close-1"})
    assert first.status_code == 200, first.content
    records = case.history.count()
    again = api.post(url, body, **{"Idempotency-Key": "close-1"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert case.history.count() == records
    assert api.post(url, body).status_code == 400  # without the key: a new, refused request


def test_a_status_change_says_when_it_happened(api, case, coordinator):
    from cases.models import TimelineEntry

    api.token = token_for(coordinator)
    response = api.post(
        reverse("api:case-status", args=[case.pk]),
        {
            "to": "active_advocacy",
            "reason": "The petition went in",
            "happened_on": case.opened_on.isoformat(),
            "happened_precision": "month",
        },
    )
    assert response.status_code == 200, response.content
    entry = TimelineEntry.objects.filter(case=case, kind="status").latest("pk")
    assert entry.precision == "month"  # as the client said, not "today"
