"""Signing in: lockout after repeated failures, password rules, and how long a session lives.

Two-factor sign-in has its own file (tests/test_two_factor.py). Here the editor, who does not
need a second step, signs in through the real form.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests import factories

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOME = reverse("cases:home")
LOGIN = reverse("login")
WRONG_PASSWORD = "not the password at all"


@pytest.fixture
def clock(time_machine):
    """A stopped clock; ``clock(minutes=...)`` moves it on."""
    time_machine.move_to(START, tick=False)
    return lambda **delta: time_machine.shift(dt.timedelta(**delta))


def attempt(client, username, password=factories.PASSWORD, url=LOGIN):
    return client.post(url, {"username": username, "password": password})


def signed_in(client) -> bool:
    response = client.get(HOME)
    if response.status_code == 302:
        assert response.url.startswith(LOGIN), response.url
        return False
    assert response.status_code == 200
    return True


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def main_part(response) -> str:
    """The page's own content, without the header (language form, CSRF token)."""
    body = response.content.decode()
    return body[body.index("<main") : body.index("</main>")]


def form_errors(response) -> str:
    body = response.content.decode()
    return body[
        body.index('<div class="form-errors"') : body.index(
            "</div>", body.index('<div class="form-errors"')
        )
    ]


# --- Lockout ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_five_failures_lock_the_username_for_15_minutes(client, editor, coordinator, clock):
    for _ in range(4):
        response = attempt(client, "editor", WRONG_PASSWORD)
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
        clock(minutes=2)
    response = attempt(client, "editor", WRONG_PASSWORD)
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert "15 minutes" in response.content.decode()

    # The right password does not help while the lock lasts.
    clock(seconds=5)
    response = attempt(client, "editor")
    assert response.status_code == 429
    assert not signed_in(client)
    clock(minutes=14)
    assert attempt(client, "editor").status_code == 429
    assert not signed_in(client)

    # Other usernames are not affected.
    other = Client()
    assert attempt(other, "coordinator").status_code == 302

    # Fifteen minutes after the fifth failure, the right password works again.
    clock(minutes=1)
    assert attempt(client, "editor").status_code == 302
    assert signed_in(client)


@pytest.mark.django_db
def test_failures_further_apart_than_15_minutes_do_not_add_up(client, editor, clock):
    for _ in range(4):
        assert attempt(client, "editor", WRONG_PASSWORD).status_code == 200
    clock(minutes=16)
    for _ in range(4):
        assert attempt(client, "editor", WRONG_PASSWORD).status_code == 200
    assert attempt(client, "editor").status_code == 302


@pytest.mark.django_db
def test_signing_in_clears_earlier_failures(client, editor, clock):
    for _ in range(4):
        attempt(client, "editor", WRONG_PASSWORD)
    assert attempt(client, "editor").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert attempt(client, "editor", WRONG_PASSWORD).status_code == 200
    assert attempt(client, "editor").status_code == 302


@pytest.mark.django_db
def test_the_lockout_does_not_tell_whether_the_account_exists(editor, clock):
    pages = {}
    for username in ("editor", "nobody-by-this-name"):
        client = Client()
        failures = [attempt(client, username, WRONG_PASSWORD) for _ in range(5)]
        assert [r.status_code for r in failures] == [200, 200, 200, 200, 429]
        refused = attempt(client, username, WRONG_PASSWORD)
        assert refused.status_code == 429
        # The typed username is kept in the form, so compare the message, then whole pages.
        pages[username] = (form_errors(failures[0]), main_part(failures[4]), main_part(refused))
    assert pages["editor"] == pages["nobody-by-this-name"]
    assert "Sign-in paused" in pages["editor"][1]


@pytest.mark.django_db
def test_the_admin_sign_in_counts_and_locks_the_same_username(client, staff, clock):
    admin_login = reverse("admin:login")
    statuses = [
        attempt(client, "staff", WRONG_PASSWORD, url=admin_login).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    assert attempt(client, "staff", url=admin_login).status_code == 429
    assert attempt(client, "staff").status_code == 429  # the app's sign-in too
    clock(minutes=16)
    assert attempt(client, "staff", url=admin_login).status_code == 302


# --- Passwords --------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("Sh0rt-pass!", "This password is too short. It must contain at least 12 characters."),
        ("qwerty123456", "This password is too common."),
        ("password1234", "This password is too common."),
    ],
)
def test_weak_passwords_are_refused_on_the_password_change_form(
    client, editor, new_password, message
):
    assert attempt(client, "editor").status_code == 302
    response = client.post(
        reverse("password_change"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    editor.refresh_from_db()
    assert editor.check_password(factories.PASSWORD)


@pytest.mark.django_db
def test_a_long_uncommon_password_is_accepted(client, editor):
    assert attempt(client, "editor").status_code == 302
    new = "plum lantern seventeen rivers"
    response = client.post(
        reverse("password_change"),
        {"old_password": factories.PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    editor.refresh_from_db()
    assert editor.check_password(new)


# --- Sessions ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_signing_in_gives_a_new_session_key(client, editor):
    session = client.session  # a session that exists before signing in (a planted one, say)
    session["planted"] = True
    session.save()
    before = session.session_key
    assert attempt(client, "editor").status_code == 302
    assert session_key(client) != before
    assert not Session.objects.filter(session_key=before).exists()
    # Whoever knew the key from before signing in is not signed in.
    planted = Client()
    planted.cookies[settings.SESSION_COOKIE_NAME] = before
    assert not signed_in(planted)
    assert signed_in(client)


@pytest.mark.django_db
def test_30_minutes_without_a_request_sign_you_out(client, editor, clock):
    assert attempt(client, "editor").status_code == 302
    for _ in range(3):
        clock(minutes=29)
        assert signed_in(client)  # each request starts the 30 minutes again
    clock(minutes=31)
    assert not signed_in(client)


@pytest.mark.django_db
def test_12_hours_after_signing_in_you_are_signed_out_however_active(client, editor, clock):
    assert attempt(client, "editor").status_code == 302
    key = session_key(client)
    for _ in range(11 * 3 + 2):  # a page every 20 minutes: 11 h 40 min
        clock(minutes=20)
        assert signed_in(client)
    clock(minutes=21)
    assert not signed_in(client)
    assert not Session.objects.filter(session_key=key).exists()
    # Signing in again starts a new 12 hours.
    assert attempt(client, "editor").status_code == 302
    clock(minutes=20)
    assert signed_in(client)


@pytest.mark.django_db
def test_signing_out_ends_the_session_on_the_server(client, editor):
    assert attempt(client, "editor").status_code == 302
    key = session_key(client)
    assert Session.objects.filter(session_key=key).exists()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    # A copy of the old cookie (from a shared computer, say) opens nothing.
    copy = Client()
    copy.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not signed_in(copy)


@pytest.mark.django_db
def test_deactivating_a_user_ends_their_sessions(editor):
    laptop, phone = Client(), Client()
    assert attempt(laptop, "editor").status_code == 302
    assert attempt(phone, "editor").status_code == 302
    assert signed_in(laptop) and signed_in(phone)
    editor.is_active = False
    editor.save(update_fields=["is_active"])
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert attempt(laptop, "editor").status_code == 200  # and cannot sign in again


@pytest.mark.django_db
def test_changing_the_password_ends_the_other_sessions(editor):
    laptop, phone = Client(), Client()
    assert attempt(laptop, "editor").status_code == 302
    assert attempt(phone, "editor").status_code == 302
    new = "plum lantern seventeen rivers"
    response = laptop.post(
        reverse("password_change"),
        {"old_password": factories.PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert signed_in(laptop)  # where the password was changed, the session goes on
    assert not signed_in(phone)
    assert phone.post(LOGIN, {"username": "editor", "password": new}).status_code == 302


@pytest.mark.django_db
def test_the_session_cookie_is_not_readable_by_scripts(client, editor):
    response = attempt(client, "editor")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert int(cookie["max-age"]) == 30 * 60
