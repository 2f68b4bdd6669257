"""Password reset: queued for the worker, the same answer whatever the address, limited."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from advocacy.celery import app
from cases.models import PasswordResetRequest
from cases.services.accounts import RESET_LIMIT_PER_EMAIL, RESET_LIMIT_PER_IP
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(db):
    return factories.UserFactory(username="kim", email="kim@example.org")


@pytest.fixture
def worker_runs_tasks():
    """Tasks run as they are queued (after commit), as the worker would run them."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _ask(client, email, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def test_no_email_is_sent_inside_the_request(client, known):
    response = _ask(client, "kim@example.org")
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []  # queued for the worker, not sent here


def test_a_known_and_an_unknown_address_cost_the_same(client, known):
    costs = []
    for email in ("kim@example.org", "nobody@example.org"):
        with CaptureQueriesContext(connection) as queries:
            response = _ask(client, email)
        costs.append((response.status_code, response.url, len(queries)))
    assert costs[0] == costs[1]


def test_the_worker_sends_the_link_to_a_known_address_only(
    client, known, worker_runs_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, "kim@example.org")
        _ask(client, "nobody@example.org")
    [email] = mail.outbox
    assert email.to == ["kim@example.org"]
    assert "http://testserver/accounts/reset/" in email.body


def test_one_address_gets_a_few_emails_an_hour_at_most(
    client, known, worker_runs_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(RESET_LIMIT_PER_EMAIL + 5):
            assert _ask(client, "kim@example.org").status_code == 302
    assert len(mail.outbox) == RESET_LIMIT_PER_EMAIL
    # The table keeps no address in clear.
    assert not PasswordResetRequest.objects.filter(email_digest__contains="kim").exists()


def test_one_client_may_ask_for_a_few_addresses_at_most(
    client, worker_runs_tasks, django_capture_on_commit_callbacks
):
    for n in range(RESET_LIMIT_PER_IP + 3):
        factories.UserFactory(username=f"u{n}", email=f"u{n}@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(RESET_LIMIT_PER_IP + 3):
            _ask(client, f"u{n}@example.org", REMOTE_ADDR="203.0.113.9")
        _ask(client, "u0@example.org", REMOTE_ADDR="203.0.113.10")  # another client
    assert len(mail.outbox) == RESET_LIMIT_PER_IP + 1
