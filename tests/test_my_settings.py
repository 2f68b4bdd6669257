"""My settings: muted cases, the calendar address, signed-in sessions, the time-zone list."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import UserSession
from cases.services import profile_get

pytestmark = pytest.mark.django_db
SETTINGS = reverse("cases:settings")


def test_mute_from_the_case_page_and_unmute_from_settings(client, editor, case):
    client.force_login(editor)
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "Mute reminder emails" in page
    response = client.post(reverse("cases:case-mute", args=[case.pk]), {"muted": "1"})
    assert response.url == reverse("cases:case-detail", args=[case.pk])
    assert list(profile_get(editor).muted_cases.all()) == [case]
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "You muted reminder emails for this case." in page
    settings_page = client.get(SETTINGS).content.decode()
    assert case.reference in settings_page
    client.post(reverse("cases:case-mute", args=[case.pk]), {"muted": "0", "next": "settings"})
    assert not profile_get(editor).muted_cases.exists()
    assert "You get reminders for every case." in client.get(SETTINGS).content.decode()


def test_a_new_calendar_address_stops_the_old_one(client, editor):
    client.force_login(editor)
    page = client.get(SETTINGS).content.decode()
    old = re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', page)[1]
    assert client.get(old).status_code == 200
    client.post(reverse("cases:calendar-new"))
    page = client.get(SETTINGS).content.decode()
    new = re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', page)[1]
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_sign_out_everywhere_else(editor):
    here, phone = (
        Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"),
        Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"),
    )
    for client in (here, phone):
        client.force_login(editor)
        assert client.get(reverse("cases:home")).status_code == 200
    page = here.get(SETTINGS).content.decode()
    assert "Firefox on Linux" in page and "Safari on iPhone" in page
    assert page.count("this browser") == 1
    here.post(reverse("cases:sessions-end-others"))
    response = phone.get(reverse("cases:home"))
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert here.get(reverse("cases:home")).status_code == 200
    page = here.get(SETTINGS).content.decode()
    assert "Safari on iPhone" not in page
    assert UserSession.objects.filter(user=editor, ended_at__isnull=True).count() == 1


def test_time_zones_are_places_only(client, editor):
    client.force_login(editor)
    page = client.get(SETTINGS).content.decode()
    assert '<option value="Europe/Kyiv">' in page
    assert '<option value="Factory">' not in page
    assert '<option value="localtime">' not in page
    response = client.post(SETTINGS, {"time_zone": "Factory", "email_mode": "immediate"})
    assert "Unknown time zone" in response.content.decode()


def test_signing_out_takes_the_session_off_the_list(client, editor):
    from tests.factories import PASSWORD

    client.post(reverse("login"), {"username": "editor", "password": PASSWORD})
    assert UserSession.objects.filter(user=editor, ended_at__isnull=True).count() == 1
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=editor, ended_at__isnull=True).exists()


def test_the_session_list_forgets_old_sessions(editor):
    import datetime as dt

    from django.utils import timezone

    from cases import tasks

    now = timezone.now()
    old = UserSession.objects.create(
        user=editor, sid="a" * 32, session_key="k1", ended_at=now - dt.timedelta(days=31)
    )
    recent = UserSession.objects.create(
        user=editor, sid="b" * 32, session_key="k2", ended_at=now - dt.timedelta(days=2)
    )
    assert tasks.purge_session_list() == 1
    assert not UserSession.objects.filter(pk=old.pk).exists()
    assert UserSession.objects.filter(pk=recent.pk).exists()
