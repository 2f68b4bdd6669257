"""Shared fixtures: service availability, the cast of personas, time helpers.

A test that needs a service that is not running is skipped with a reason naming it, except in
CI (the CI variable is set), where a missing service is a failure: CI always runs everything.
"""

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests import factories

IN_CI = bool(os.environ.get("CI"))


def missing_service(name: str, how: str) -> None:
    message = f"needs {name}: {how}"
    if IN_CI:
        pytest.fail(f"CI must run every test, but this one {message}", pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing_service(
            "PostgreSQL", "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy"
        )


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    parts = urlsplit(url)
    if not _port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        missing_service("Redis", f"start a server reachable at {url} (or set REDIS_URL)")
    return url


# --- The cast --------------------------------------------------------------------------------
@pytest.fixture
def lead_org(db):
    return factories.OrganizationFactory(name="Lead Organization")


@pytest.fixture
def partner_org(db):
    return factories.OrganizationFactory(name="Partner Organization")


@pytest.fixture
def coordinator(lead_org):
    return factories.member(lead_org, "coordinator", username="coordinator")


@pytest.fixture
def editor(lead_org):
    return factories.member(lead_org, "editor", username="editor")


@pytest.fixture
def viewer(lead_org):
    return factories.member(lead_org, "viewer", username="viewer")


@pytest.fixture
def partner(partner_org):
    return factories.member(partner_org, "editor", username="partner")


@pytest.fixture
def outsider(db):
    return factories.member(
        factories.OrganizationFactory(name="Outside"), "coordinator", username="outsider"
    )


@pytest.fixture
def staff(db):
    return factories.UserFactory(username="staff", is_staff=True, is_superuser=True)


@pytest.fixture
def case(lead_org, coordinator):
    return factories.make_case(lead_organization=lead_org, by=coordinator)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashers are slow on purpose; tests only need a working one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rendered timelines are cached per process (cases/views/cases.py); a test's database is
    # rolled back, so its ids and version tokens may come back in the next test.
    # So is the page frame's header (cases/rendering.py), under the reader's id, and each
    # timeline entry as written (kept whole, so only for tests that count what is written).
    from django.core.cache import cache

    from cases import rendering
    from cases.views import cases as case_views

    def forget():
        cache.clear()
        rendering.forget_kept_headers()
        case_views.forget_kept_entries()

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _default_language_and_time_zone():
    # A request through the test client leaves its reader's language and time zone active in
    # this thread (the middleware activates them; nothing resets them after the response):
    # every test starts, and leaves, with the defaults, whatever ran before it.
    from django.conf import settings as django_settings
    from django.utils import timezone, translation

    translation.activate(django_settings.LANGUAGE_CODE)
    timezone.deactivate()
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
    timezone.deactivate()


# --- Reminders: broker and mail server -------------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def _celery_broker_in_memory():
    # Tasks enqueued after a commit (a reminder due at once) go to an in-process queue, not to
    # the demo's broker folder under var/. The Celery worker test points the app at Redis.
    from advocacy.celery import app

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback that Django's SMTP backend sends to."""
    from tests.smtp import SmtpSink

    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield sink


# --- Signing in: force_login stands for a complete sign-in, second step included -------------
def pass_two_factor(client, user) -> None:
    """Mark the client's session as having passed two-factor sign-in, as django_otp.login does
    after a good code, for a user who must use it (coordinators, staff) or has it on. A user
    who must use it and has not set it up gets a confirmed authenticator first.

    Tests of two-factor sign-in itself do not use this: they sign in through the real pages.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cases.security import authenticator_for, two_factor_required

    device = authenticator_for(user)
    if device is None:
        if not two_factor_required(user):
            return
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """``client.force_login(user)`` also completes the second step, so tests about what a
    signed-in coordinator or staff member sees need not go through the code page."""
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        pass_two_factor(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)
