"""What every signed-in page costs: no query or write that a page pays without need."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return lambda **delta: time_machine.shift(dt.timedelta(**delta))


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_a_page_seen_again_pays_no_two_factor_profile_or_session_write(client, editor, clock):
    client.force_login(editor)
    url = reverse("cases:organization-list")  # a page that reads nothing of the user's own
    first = _queries(client, url)
    again = _queries(client, url)
    assert len(again) < len(first)
    joined = "\n".join(again).lower()
    assert "otp_totp_totpdevice" not in joined  # two-factor state kept in the session
    assert 'update "django_session"' not in joined  # the session is not written every page


def test_an_active_session_is_still_renewed_and_an_idle_one_ends(client, editor, clock):
    client.force_login(editor)
    for _ in range(3):
        clock(minutes=29)
        assert client.get(reverse("cases:settings")).status_code == 200
    clock(minutes=31)
    assert client.get(reverse("cases:settings")).status_code == 302


def test_a_language_change_shows_at_once(client, editor):
    client.force_login(editor)
    client.get(reverse("cases:settings"))
    client.post(reverse("cases:set-language"), {"language": "uk", "next": "/settings/"})
    assert 'lang="uk"' in client.get(reverse("cases:settings")).content.decode()


def test_a_new_coordinator_role_asks_for_two_factor_within_a_minute(
    client, editor, lead_org, clock
):
    from cases.models import Membership

    client.force_login(editor)
    assert client.get(reverse("cases:settings")).status_code == 200
    Membership.objects.filter(user=editor).update(role="coordinator")
    clock(seconds=61)
    response = client.get(reverse("cases:settings"))
    assert response.status_code == 302 and "two-factor" in response.url


def test_a_change_made_elsewhere_reaches_open_sessions_at_once(client, editor, lead_org):
    from cases import services
    from cases.models import Membership

    client.force_login(editor)
    assert 'lang="en"' in client.get(reverse("cases:settings")).content.decode()
    profile = services.profile_get(editor)
    profile.language = "uk"
    profile.save()  # as in the admin, or from another device
    assert 'lang="uk"' in client.get(reverse("cases:settings")).content.decode()
    membership = Membership.objects.get(user=editor)
    membership.role = "coordinator"
    membership.save()
    response = client.get(reverse("cases:settings"))
    assert response.status_code == 302 and "two-factor" in response.url
