"""Personal access tokens under the user's settings (cases/views/tokens.py)."""

import datetime as dt

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import ApiToken
from cases.services.tokens import api_token_find

pytestmark = pytest.mark.django_db


def _make(client, **fields):
    data = {
        "name": "Reports bot",
        "scope": "read",
        "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        **fields,
    }
    return client.post(reverse("cases:tokens"), data)


def _shown_token(page: str) -> str:
    start = page.index('class="token-value">') + len('class="token-value">')
    return page[start : page.index("<", start)]


def test_settings_page_links_to_the_tokens_page(client, editor):
    client.force_login(editor)
    assert reverse("cases:tokens") in client.get(reverse("cases:settings")).content.decode()


def test_a_token_is_shown_once_stored_hashed_and_listed_with_last_use(client, editor, case):
    client.force_login(editor)
    response = _make(client)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    raw = _shown_token(response.content.decode())
    token = ApiToken.objects.get(user=editor)
    assert api_token_find(raw) == token
    assert raw not in (token.digest, token.prefix)
    page = client.get(reverse("cases:tokens")).content.decode()
    assert "Reports bot" in page and raw not in page and "Never" in page
    client.get(reverse("api:case-detail", args=[case.pk]), HTTP_AUTHORIZATION=f"Bearer {raw}")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_bad_input_makes_no_token(client, editor):
    client.force_login(editor)
    response = _make(client, name="", expires_on=(dt.date.today() - dt.timedelta(days=1)))
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    response = _make(client, expires_on=(dt.date.today() + dt.timedelta(days=800)).isoformat())
    assert "at most a year" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_ends_the_token_and_only_ones_own(client, editor, viewer, case):
    client.force_login(editor)
    raw = _shown_token(_make(client).content.decode())
    token = ApiToken.objects.get(user=editor)
    client.force_login(viewer)
    assert client.post(reverse("cases:token-revoke", args=[token.pk])).status_code == 404
    assert api_token_find(raw) is not None
    client.force_login(editor)
    response = client.post(reverse("cases:token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert api_token_find(raw) is None
    api = client.get(reverse("api:case-detail", args=[case.pk]), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 401
    record = token.history.latest()
    assert (record.history_user, record.history_change_reason) == (editor, "Revoked by its user")


def test_two_factor_users_need_a_fresh_code(client, coordinator):
    client.force_login(coordinator)  # signed in with the second step done (conftest)
    device = TOTPDevice.objects.get(user=coordinator)
    response = _make(client)
    assert "code" in response.context["form"].errors
    assert not ApiToken.objects.exists()
    response = _make(client, code="000000" if totp(device.bin_key) else "111111")
    assert not ApiToken.objects.exists()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = _make(client, code=f"{totp(device.bin_key):06d}")
    assert ApiToken.objects.filter(user=coordinator).count() == 1
    assert _shown_token(response.content.decode()).startswith("adv_")


def test_editors_without_two_factor_are_not_asked_for_a_code(client, editor):
    client.force_login(editor)
    assert "code" not in client.get(reverse("cases:tokens")).context["form"].fields


def test_a_half_signed_in_session_cannot_use_the_api(client, coordinator, case):
    """Password given, second step not done: the web sends them to the code page; the API
    (session authentication, for the browsable docs) refuses them too."""
    from django.test.client import Client

    TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)
    fresh = Client()
    # Signed in with the password only (force_login would also pass the second step).
    fresh._login(coordinator, "django.contrib.auth.backends.ModelBackend")
    assert fresh.get(reverse("cases:case-detail", args=[case.pk])).status_code == 302
    response = fresh.get(reverse("api:case-detail", args=[case.pk]))
    assert response.status_code in (401, 403)
    assert case.title not in response.content.decode()
