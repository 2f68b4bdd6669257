"""Two-factor sign-in, through the real pages: required for coordinators and staff, optional
for everyone else; a wrong code, a used recovery code and a password alone open nothing.

These tests never use ``force_login`` for a user who has or needs two-factor sign-in (that
shortcut completes the second step, see tests/conftest.py): they sign in with the password
form and type codes computed the way an authenticator app does.
"""

import datetime as dt
import re
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SETUP = reverse("cases:two-factor-setup")
VERIFY = reverse("cases:two-factor-verify")
HOME = reverse("cases:home")


@pytest.fixture
def clock(time_machine):
    """A stopped clock; ``clock(seconds)`` moves it on (codes change every 30 seconds)."""
    time_machine.move_to(START, tick=False)
    return lambda seconds: time_machine.shift(dt.timedelta(seconds=seconds))


def sign_in(client, username, *, login_url=None, next_url=None):
    data = {"username": username, "password": factories.PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(login_url or reverse("login"), data)
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def app_code(key: bytes) -> str:
    """The code an authenticator app holding ``key`` shows now."""
    return f"{totp(key):06d}"


def wrong_code(key: bytes) -> str:
    right = {f"{totp(key, drift=d):06d}" for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def key_on(page: str) -> bytes:
    """Read the key off the set-up page, as a person typing it into their app would."""
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match, "the set-up page shows the key as text"
    secret = match.group(1).replace(" ", "")
    return b32decode(secret + "=" * (-len(secret) % 8))


def set_up(client, clock) -> tuple[bytes, list[str]]:
    """Go through the set-up page: returns the app's key and the recovery codes shown."""
    page = client.get(SETUP)
    assert page.status_code == 200
    key = key_on(page.content.decode())
    response = client.post(SETUP, {"code": app_code(key), "next": HOME}, follow=True)
    body = response.content.decode()
    assert "Two-factor sign-in is on." in body
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", body)
    clock(30)  # the next code the app shows is a new one
    return key, codes


def sign_out(client):
    client.post(reverse("logout"))


def lands_on(client, url) -> str:
    """Where a signed-in user who opens ``url`` ends up (path only)."""
    response = client.get(url)
    if response.status_code == 302:
        return response.url.split("?")[0]
    assert response.status_code == 200, (url, response.status_code)
    return url


# --- Who is forced ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_coordinator_sets_it_up_after_the_password_then_needs_a_code_every_time(
    client, coordinator, clock
):
    sign_in(client, "coordinator")
    # Nothing opens before the set-up is done.
    for url in (HOME, reverse("cases:case-list"), reverse("cases:settings")):
        assert lands_on(client, url) == SETUP
    response = client.get(HOME)
    assert response.url == f"{SETUP}?next=/"

    page = client.get(SETUP).content.decode()
    assert "Scan this QR code" in page or "scan this QR code" in page
    assert "<svg" in page and "data:" not in page  # drawn on the server, inline
    assert "Aegis" in page  # names apps to use
    key = key_on(page)
    # Showing the page writes no device; showing it again shows the same key.
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert key_on(client.get(SETUP).content.decode()) == key

    response = client.post(SETUP, {"code": wrong_code(key)})
    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()
    assert lands_on(client, HOME) == SETUP

    clock(2)  # after a wrong code, the next try waits a second
    response = client.post(SETUP, {"code": app_code(key), "next": "/"}, follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("cases:two-factor-recovery-codes"))
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "shown only this once" in body
    # Shown once: coming back shows how many are left, not the codes.
    again = client.get(reverse("cases:two-factor-recovery-codes")).content.decode()
    assert codes[0] not in again and "You have 10 unused recovery codes." in again
    assert lands_on(client, HOME) == HOME

    # Next time: password, then a code.
    sign_out(client)
    clock(60)
    sign_in(client, "coordinator")
    assert lands_on(client, HOME) == VERIFY
    assert lands_on(client, SETUP) == VERIFY  # a password alone cannot replace the app
    response = client.post(VERIFY, {"code": app_code(key), "next": "/cases/"})
    assert response.status_code == 302 and response.url == "/cases/"
    assert lands_on(client, HOME) == HOME


@pytest.mark.django_db
def test_staff_need_it_for_the_admin_too(client, staff, clock):
    sign_in(client, "staff", login_url=reverse("admin:login"), next_url="/admin/")
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url == f"{SETUP}?next=/admin/"
    assert lands_on(client, "/admin/cases/case/") == SETUP
    key, _codes = set_up(client, clock)
    assert client.get("/admin/").status_code == 200

    sign_out(client)
    sign_in(client, "staff", login_url=reverse("admin:login"), next_url="/admin/")
    for url in ("/admin/", "/admin/cases/case/", "/admin/auth/user/"):
        assert lands_on(client, url) == VERIFY
    response = client.post(VERIFY, {"code": app_code(key), "next": "/admin/"})
    assert response.url == "/admin/"
    assert client.get("/admin/cases/case/").status_code == 200


@pytest.mark.django_db
def test_changes_elsewhere_take_effect_at_the_next_page_not_after_a_while(
    client, editor, lead_org, clock
):
    """The two-factor state is kept in the session, but a change made elsewhere (the admin,
    a coordinator) shows at the editor's very next page."""
    sign_in(client, "editor")
    assert lands_on(client, HOME) == HOME
    # Made staff in the admin (no signal watches the user row: read from it on every page).
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    assert lands_on(client, HOME) == SETUP
    editor.is_staff = False
    editor.save(update_fields=["is_staff"])
    assert lands_on(client, HOME) == HOME
    # Made a coordinator by someone else: the membership's change drops the kept state.
    membership = editor.memberships.get(organization=lead_org)
    membership.role = "coordinator"
    membership.save()
    assert lands_on(client, HOME) == SETUP
    # Deactivated: signed out at once.
    membership.role = "editor"
    membership.save()
    assert lands_on(client, HOME) == HOME
    editor.is_active = False
    editor.save(update_fields=["is_active"])
    assert lands_on(client, HOME) == reverse("login")


@pytest.mark.django_db
def test_an_editor_is_not_forced_but_can_turn_it_on_and_off(client, editor, clock):
    sign_in(client, "editor")
    assert lands_on(client, HOME) == HOME
    settings_page = client.get(reverse("cases:settings")).content.decode()
    assert "Two-factor sign-in: off (turn it on)" in settings_page
    manage = client.get(reverse("cases:two-factor")).content.decode()
    assert "Turn on two-factor sign-in" in manage

    key, codes = set_up(client, clock)
    assert len(codes) == 10
    assert "Two-factor sign-in: on" in client.get(reverse("cases:settings")).content.decode()

    # From now on the editor needs a code too.
    sign_out(client)
    sign_in(client, "editor")
    assert lands_on(client, HOME) == VERIFY
    client.post(VERIFY, {"code": app_code(key)})
    assert lands_on(client, HOME) == HOME

    # Turning it off asks for a code.
    clock(30)
    response = client.post(reverse("cases:two-factor-disable"), {"code": wrong_code(key)})
    assert response.status_code == 200 and "This code is not right" in response.content.decode()
    clock(2)
    response = client.post(reverse("cases:two-factor-disable"), {"code": app_code(key)})
    assert response.status_code == 302
    sign_out(client)
    sign_in(client, "editor")
    assert lands_on(client, HOME) == HOME


@pytest.mark.django_db
def test_a_coordinator_cannot_turn_it_off(client, coordinator, clock):
    sign_in(client, "coordinator")
    set_up(client, clock)
    manage = client.get(reverse("cases:two-factor")).content.decode()
    assert "cannot be turned off" in manage
    assert reverse("cases:two-factor-disable") not in manage
    assert client.post(reverse("cases:two-factor-disable"), {"code": "x"}).status_code == 403
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()


# --- Codes that do not open it ----------------------------------------------------------------
@pytest.mark.django_db
def test_a_wrong_code_is_refused_clearly_and_guessing_is_slowed_down(client, coordinator, clock):
    sign_in(client, "coordinator")
    key, _codes = set_up(client, clock)
    sign_out(client)
    sign_in(client, "coordinator")

    for typed in (wrong_code(key), "not a code", "12345678"):
        clock(120)
        response = client.post(VERIFY, {"code": typed})
        assert response.status_code == 200
        assert "This code is not right" in response.content.decode()
        assert lands_on(client, HOME) == VERIFY

    # Right after a wrong code, even the right one waits: guessing is throttled.
    response = client.post(VERIFY, {"code": app_code(key)})
    assert response.status_code == 200
    assert "Too many wrong codes in a row. Wait" in response.content.decode()
    assert lands_on(client, HOME) == VERIFY

    clock(600)
    response = client.post(VERIFY, {"code": app_code(key)})
    assert response.status_code == 302
    assert lands_on(client, HOME) == HOME


@pytest.mark.django_db
def test_a_code_from_the_app_works_once(client, coordinator, clock):
    sign_in(client, "coordinator")
    key, _codes = set_up(client, clock)
    code = app_code(key)
    sign_out(client)
    sign_in(client, "coordinator")
    assert client.post(VERIFY, {"code": code}).status_code == 302
    sign_out(client)
    clock(2)  # same 30-second window: the app still shows the same code
    sign_in(client, "coordinator")
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()


@pytest.mark.django_db
def test_a_recovery_code_opens_once_and_new_codes_replace_the_old(client, coordinator, clock):
    sign_in(client, "coordinator")
    _key, codes = set_up(client, clock)
    sign_out(client)

    sign_in(client, "coordinator")
    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")}, follow=True)
    assert "You used a recovery code. 9 recovery codes are left." in response.content.decode()
    assert lands_on(client, HOME) == HOME
    sign_out(client)

    clock(10)
    sign_in(client, "coordinator")
    response = client.post(VERIFY, {"code": codes[0]})
    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()
    clock(10)
    assert client.post(VERIFY, {"code": codes[1]}).status_code == 302

    # New codes: shown once, and the old ones stop working.
    response = client.post(reverse("cases:two-factor-recovery-codes-new"), follow=True)
    new_codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert StaticToken.objects.filter(device__user=coordinator).count() == 10
    sign_out(client)
    clock(10)
    sign_in(client, "coordinator")
    assert client.post(VERIFY, {"code": codes[2]}).status_code == 200
    clock(10)
    assert client.post(VERIFY, {"code": new_codes[0]}).status_code == 302


@pytest.mark.django_db
def test_moving_to_a_new_phone_needs_the_second_step_and_retires_the_old_app(
    client, coordinator, clock
):
    sign_in(client, "coordinator")
    old_key, _codes = set_up(client, clock)
    new_key, _new_codes = set_up(client, clock)  # from the two-factor page, signed in fully
    assert new_key != old_key
    sign_out(client)
    sign_in(client, "coordinator")
    assert client.post(VERIFY, {"code": app_code(old_key)}).status_code == 200
    clock(2)
    assert client.post(VERIFY, {"code": app_code(new_key)}).status_code == 302


@pytest.mark.django_db
def test_signed_out_pages_stay_open_between_password_and_code(client, coordinator, clock):
    sign_in(client, "coordinator")
    set_up(client, clock)
    sign_out(client)
    sign_in(client, "coordinator")
    assert client.get(reverse("password_reset")).status_code == 200
    assert client.get(reverse("login")).status_code == 200
    assert client.get("/static/css/app.css").status_code != 302
    response = client.post(reverse("cases:set-language"), {"language": "en", "next": "/"})
    assert response.status_code == 302 and response.url == "/"
    # Signing out works without the code.
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert lands_on(client, HOME) == reverse("login")


@pytest.mark.django_db
def test_two_factor_pages_need_a_password_first(client, db):
    for url in (SETUP, VERIFY, reverse("cases:two-factor")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
