"""The API with tokens, against the same world and policies as tests/test_authorization.py:
every API route for every persona and method, another organization's ids, the canary
strings, read-only tokens; and arbitrary JSON posted to every write route (hypothesis)."""

import datetime as dt
import itertools
import json

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import (
    ApiToken,
    Case,
    Deadline,
    Document,
    Event,
    Petition,
    PetitionRequest,
    TimelineEntry,
)
from cases.services.tokens import api_token_create
from tests import test_authorization as matrix
from tests.test_authorization import (
    API_POLICIES,
    MARKER,
    NEED_TO_KNOW,
    NOT_ABOUT_ONE_CASE,
    PERSONAS,
    SEES_IDENTITY,
)

world = matrix.world  # the same world of personas and cases (a fixture)

# With a token, the POST sends ``{}`` as JSON: the JSON routes name the missing fields
# (400) and the upload route, which takes multipart/form-data only, refuses the type (415).
SWAP = {400: 415, 415: 400}


def _token_policy(policy: dict) -> dict:
    return {persona: SWAP.get(status, status) for persona, status in policy.items()}


def _tokens(world, scope=ApiToken.Scope.READ_WRITE) -> dict:
    tokens = {}
    for persona, user in world["users"].items():
        if user is None:
            tokens[persona] = None
            continue
        _token, raw = api_token_create(
            user=user, name="t", scope=scope, expires_on=dt.date.today() + dt.timedelta(days=9)
        )
        tokens[persona] = raw
    return tokens


def _call(client, token, method, url, body="{}"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    with transaction.atomic():
        if method == "post":
            response = client.post(url, data=body, content_type="application/json", **headers)
        else:
            response = client.get(url, **headers)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response, content.decode(errors="replace")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_POLICIES))
def test_api_policy_with_tokens(client, world, name):
    kwargs_for, get_policy, post_policy = API_POLICIES[name]
    url = reverse(name, kwargs=kwargs_for(world))
    tokens = _tokens(world)
    failures = []
    for persona, method in itertools.product(PERSONAS, ("get", "post")):
        expected = get_policy if method == "get" else _token_policy(post_policy)
        response, body = _call(client, tokens[persona], method, url)
        if response.status_code != expected[persona]:
            failures.append(
                f"{method.upper()} {persona}: {response.status_code} (expected {expected[persona]})"
            )
        if MARKER in body:
            failures.append(f"{method.upper()} {persona}: another organization's data shown")
        if NEED_TO_KNOW in body and persona not in SEES_IDENTITY:
            failures.append(f"{method.upper()} {persona}: a need-to-know identity shown")
    assert not failures, f"{url}: " + "; ".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(API_POLICIES) - NOT_ABOUT_ONE_CASE))
def test_another_organizations_ids_give_404_to_tokens(client, world, name):
    kwargs_for, _get, _post = API_POLICIES[name]
    url = reverse(name, kwargs=kwargs_for(world["theirs"]))
    tokens = _tokens(world)
    for persona, token in tokens.items():
        for method in ("get", "post"):
            response, body = _call(client, token, method, url)
            expected = {401} if token is None else {404, 405}
            assert response.status_code in expected, (persona, method, response.status_code)
            assert MARKER not in body, (persona, method)


@pytest.mark.django_db
def test_identity_through_the_api_only_for_the_owners_coordinator(client, world):
    url = reverse("api:person-detail", args=[world["prisoner"].pk]) + "?identity=1"
    tokens = _tokens(world)
    for persona, token in tokens.items():
        response, body = _call(client, token, "get", url)
        if persona in SEES_IDENTITY:
            assert response.status_code == 200 and NEED_TO_KNOW in body
        else:
            assert response.status_code in {401, 403, 404}, persona
            assert NEED_TO_KNOW not in body, persona


@pytest.mark.django_db
def test_search_through_the_api_never_shows_another_organization(client, world):
    tokens = _tokens(world)
    for query in ("", "?q=Case+title", "?q=Petition", "?q=POW"):
        for persona, token in tokens.items():
            if token is None:
                continue
            response, body = _call(client, token, "get", reverse("api:case-list") + query)
            assert response.status_code == 200
            assert MARKER not in body and NEED_TO_KNOW not in body, (persona, query)


WRITE_ROUTES = {
    "api:case-petitions": "case",
    "api:case-events": "case",
    "api:case-deadlines": "case",
    "api:case-documents": "case",
    "api:case-status": "case",
    "api:petition-status": "petition",
    "api:deadline-status": "deadline",
}


@pytest.mark.django_db
def test_every_write_route_is_in_the_hypothesis_test():
    posting = {name for name, (_k, _g, post) in API_POLICIES.items() if 405 not in post.values()}
    assert posting == set(WRITE_ROUTES)


@pytest.mark.django_db
def test_read_only_tokens_write_nothing(client, world):
    tokens = _tokens(world, scope=ApiToken.Scope.READ)
    for name, subject in WRITE_ROUTES.items():
        url = reverse(name, args=[world[subject].pk])
        for persona, token in tokens.items():
            response, _body = _call(client, token, "post", url, body='{"title": "x"}')
            assert response.status_code == (401 if token is None else 403), (name, persona)


_FIELDS = [
    "title",
    "addressed_to",
    "filed_by",
    "copied_to",
    "status",
    "filed_on",
    "channel",
    "legal_bases",
    "requests",
    "kind",
    "occurred_on",
    "occurred_on_precision",
    "people",
    "organizations",
    "authorities",
    "due_on",
    "due_precision",
    "due_time",
    "petition",
    "assignees",
    "reminder_days",
    "window_starts_on",
    "to",
    "reason",
    "expect_reply_by",
    "response_received_on",
    "summary",
    "text",
    "outcome",
]
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["2026-02-01", "10:00", "filed", "visit", "day", "month", "closed", "1", "other"]
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_bodies = st.one_of(
    st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=10),
    _json,
)
_COUNTED = [Case, Petition, PetitionRequest, Event, Deadline, Document, TimelineEntry]


def _counts() -> dict:
    counts = {model.__name__: model.objects.count() for model in _COUNTED}
    counts.update({f"h{model.__name__}": model.history.count() for model in _COUNTED[:-1]})
    return counts


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(sorted(WRITE_ROUTES)), body=_bodies)
def test_arbitrary_json_on_every_write_route_no_500_nothing_half_saved(
    client, world, django_settings_api_rate, route, body
):
    token = world.setdefault("_token", _tokens(world)["coordinator"])
    url = reverse(route, args=[world[WRITE_ROUTES[route]].pk])
    with transaction.atomic():
        before = _counts()
        response = client.post(
            url,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        after = _counts()
        transaction.set_rollback(True)
    assert response.status_code < 500, response.content
    if response.status_code >= 300:
        assert after == before, (route, body, response.status_code)
        assert response["Content-Type"] == "application/problem+json"


@pytest.fixture
def django_settings_api_rate(settings):
    settings.API_RATE_PER_MINUTE = 100000
