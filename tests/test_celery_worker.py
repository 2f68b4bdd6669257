"""A real Celery worker on the Redis broker delivers a due reminder to a real SMTP server."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.utils import timezone

from advocacy.celery import app
from cases import tasks
from cases.models import Reminder, ReminderStatus
from tests import factories


def _forget_connections() -> None:
    """Drop the app's cached broker connections so the next message uses the new broker."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_on_redis(redis_url):
    """The project's Celery app, pointed at Redis for this test, then back to memory."""
    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {}
    _forget_connections()
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)  # leftovers of old runs
    yield app
    _forget_connections()
    app.conf.broker_url, app.conf.broker_transport_options = saved


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_due_reminder_end_to_end(
    celery_on_redis, smtp_server, case, coordinator
):
    with start_worker(celery_on_redis, pool="solo", perform_ping_check=False):
        # Two days before the visit, its 3-day point has passed: planned as due at once, and
        # the dispatch is enqueued when the deadline's transaction commits.
        with transaction.atomic():
            visit = factories.make_deadline(
                case=case,
                by=coordinator,
                due_on=timezone.localdate() + dt.timedelta(days=2),
                assignees=[coordinator],
            )
            time.sleep(0.5)
            assert smtp_server.messages == []  # nothing leaves before the commit

        assert wait_for(lambda: len(smtp_server.messages) == 1), "no email reached the server"

        # A second dispatch round (as beat sends every minute) sends nothing again.
        tasks.dispatch_due_reminders.delay()
        time.sleep(2)

    [email] = smtp_server.messages
    row = Reminder.objects.get(deadline=visit, status=ReminderStatus.SENT)
    assert email["To"] == "coordinator@example.org"
    assert email["Message-ID"] == row.message_id
    assert email["Subject"] == (
        f"[{case.reference}] In 2 days: Follow-up visit ({visit.due_display})"
    )
    assert len(smtp_server.messages) == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_builds_a_big_dossier_after_the_commit(
    celery_on_redis, case, coordinator, settings, tmp_path, monkeypatch
):
    from cases.services import exports

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(exports, "BACKGROUND_TIMELINE_ENTRIES", 0)
    with start_worker(celery_on_redis, pool="solo", perform_ping_check=False):
        # A worker stopped by an earlier test closed kombu's shared producer pool for this
        # broker: start from new pools.
        from kombu import pools

        pools.reset()
        _forget_connections()
        with transaction.atomic():
            export = exports.export_request(
                by=coordinator,
                case=case,
                kind="dossier",
                fmt="pdf",
                profile_key="internal",
                audience="Us",
                language="ko",
            )
            assert exports.export_runs_in_background(export)
            exports.export_enqueue(export)
            time.sleep(0.5)
            export.refresh_from_db()
            assert export.status == "pending"  # nothing is built before the commit

        def done():
            export.refresh_from_db()
            return export.status == "done"

        assert wait_for(done, timeout=60), export.error
    assert export.progress == 100
    assert export.access_log is not None
    with export.file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


SENDS_BY_NAME = """
import sys
import django

django.setup()
from cases.services.alerts import alert_emails_send_soon
from cases.services.reminders.enqueue import dispatch_soon

assert "cases.tasks" not in sys.modules, "this test needs a process that never imported the tasks"
dispatch_soon()
alert_emails_send_soon()
"""


@pytest.mark.redis
def test_a_web_process_that_never_imported_the_tasks_still_sends_them(redis_url):
    """A web or shell process never imports cases.tasks: "send now" must still reach the
    broker (looked up in the registry, it was lost with a warning, and beat sent it a minute
    late)."""
    import json
    import os
    import subprocess
    import sys

    import redis

    queue = app.conf.task_default_queue
    broker = redis.Redis.from_url(redis_url)
    broker.delete(queue)
    env = {
        **os.environ,
        "CELERY_BROKER_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "advocacy.settings",
    }
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", SENDS_BY_NAME], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Could not enqueue" not in done.stderr
    sent = [json.loads(raw)["headers"]["task"] for raw in broker.lrange(queue, 0, -1)]
    broker.delete(queue)
    assert sorted(sent) == ["cases.dispatch_due_reminders", "cases.send_alert_emails"]
