"""Urgent alerts with the production processes: a Celery worker and beat as docker-compose.yml
runs them, an SMTP sink on loopback, and the worker killed (SIGKILL) in the middle of sending.

A coordinator raises a person's risk to "imminent". The worker takes the alert's emails at
once (enqueued on commit) and opens an SMTP transaction; the sink holds the first RCPT
unanswered, and the worker is killed while it waits. A new worker (the same node name, as a
restarted container has) takes back the rows its predecessor held and sends them: every
recipient gets the alert exactly once, within 60 seconds of the change, and nobody is named.
"""

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.smtp import SmtpSink
from tests.system.test_processes import (
    BIN,
    ROOT,
    Processes,
    compose_command,
    example_settings,
    separate_redis_db,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

DATABASE = "advocacy_alert_drill"
LIMIT = 60.0  # seconds from the change to every alert in the sink
LEGAL_NAME = "Ri Alertdrillname"
CODE = "POW-ALERT-1"

SEED = f"""
import json
from django.contrib.auth import get_user_model
from cases import services
from cases.models import Membership, Organization
User = get_user_model()
org = Organization.objects.create(name="Drill NGO", kind=Organization.Kind.NGO)
users = {{}}
for name, role in [("coord0", "coordinator"), ("coord1", "coordinator"), ("editor", "editor"),
                   ("viewer", "viewer")]:
    users[name] = User.objects.create_user(name, f"{{name}}@example.org", "x")
    Membership.objects.create(user=users[name], organization=org, role=role)
person = services.prisoner_create(
    by=users["coord0"], owner=org, code={CODE!r}, legal_name={LEGAL_NAME!r}, risk_level="high"
)
case = services.case_create(
    by=users["coord0"], title="Alert drill case", lead_organization=org, prisoners=[person]
)
import datetime as dt
services.deadline_create(
    case=case, by=users["coord0"], kind="follow_up_visit", title="Visit",
    due_on=dt.date.today() + dt.timedelta(days=60), assignees=[users["editor"], users["coord0"]],
)
print(json.dumps({{"case": case.pk, "reference": case.reference, "person": person.pk}}))
"""

CHANGE = """
import time
from django.contrib.auth import get_user_model
from cases import services
from cases.models import Prisoner
by = get_user_model().objects.get(username="coord0")
services.prisoner_update(
    prisoner=Prisoner.objects.get(), by=by, risk_level="imminent", reason="Listed for exchange"
)
print("committed", time.time(), flush=True)
"""


def _server_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def _url(database: str) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(_server_url())
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(), autocommit=True) as conn:
        conn.execute(sql)


def _query(sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(_url(DATABASE), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own manage.py)
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _alerts(sink: SmtpSink) -> list:
    return [m for m in sink.messages if str(m["Message-ID"]).startswith("<alert.")]


def test_an_urgent_alert_reaches_everyone_once_though_the_worker_is_killed_mid_send(
    tmp_path, redis_url
):
    if not _server_url().startswith("postgres"):
        pytest.skip("the drill needs PostgreSQL")
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DATABASE}")
    (tmp_path / "logs").mkdir()
    (tmp_path / "data").mkdir()
    sink = SmtpSink()
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": "C.UTF-8",
        **example_settings(),
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": "alert-drill-secret-key-0123456789abcdef-0123456789abcdef",
        "SITE_URL": "http://127.0.0.1:9",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _url(DATABASE),
        "CELERY_BROKER_URL": separate_redis_db(redis_url),
        "DATA_DIR": str(tmp_path / "data"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        # Longer than the hold below, so the worker is still waiting when it is killed.
        "EMAIL_TIMEOUT": "60",
        "LOG_FORMAT": "plain",
    }
    processes = Processes(env, tmp_path / "logs")

    def logs() -> str:
        return "\n".join(f"--- {name}\n{processes.log(name)[-2500:]}" for name in processes.running)

    try:
        _manage(env, "migrate", "--no-input", "-v", "0")
        world = json.loads(
            _manage(env, "shell", "--no-imports", "-c", SEED).strip().splitlines()[-1]
        )
        sink.__enter__()
        sink.handler.hold_rcpt = True
        processes.start("worker1", compose_command("worker"))
        processes.start("beat", compose_command("beat"))
        assert wait_for(
            lambda: "ready" in processes.log("worker1"), timeout=90, alive=processes.alive
        ), logs()

        # The change, committed; the worker claims the rows and stalls at the first RCPT.
        line = _manage(env, "shell", "--no-imports", "-c", CHANGE).split()
        committed_at = float(line[line.index("committed") + 1])
        assert wait_for(lambda: sink.handler.rcpt_seen >= 1, timeout=30, alive=processes.alive), (
            logs()
        )
        sending = _query("SELECT count(*) FROM cases_alertemail WHERE status = 'sending'")[0][0]
        assert sending == 3, "the worker holds the three rows while it is killed"

        killed = processes.running.pop("worker1")
        os.killpg(killed.pid, signal.SIGKILL)  # the whole worker, children too
        killed.wait(timeout=10)
        sink.handler.hold_rcpt = False
        time.sleep(1)
        assert _alerts(sink) == [], "the server took nothing before the kill"

        processes.start("worker2", compose_command("worker"))
        assert wait_for(
            lambda: len(_alerts(sink)) >= 3, timeout=LIMIT + 30, alive=processes.alive
        ), logs()
        time.sleep(5)  # anything more would be a duplicate
        received = _alerts(sink)
        at = [
            when
            for message, when in zip(sink.messages, sink.handler.received_at, strict=True)
            if str(message["Message-ID"]).startswith("<alert.")
        ]
        figures = {
            "received": len(received),
            "per_recipient": dict(Counter(str(m["To"]) for m in received)),
            "distinct_message_ids": len({str(m["Message-ID"]) for m in received}),
            "seconds_from_change_to_last": round(max(at) - committed_at, 1),
        }
        print(f"\nDRILL alert worker SIGKILL: {json.dumps(figures)}")
        assert figures["per_recipient"] == {
            "coord0@example.org": 1,
            "coord1@example.org": 1,
            "editor@example.org": 1,
        }
        assert figures["distinct_message_ids"] == 3
        assert figures["seconds_from_change_to_last"] <= LIMIT
        assert "Took back 3 alert email(s)" in processes.log("worker2"), "no start-up recovery"
        assert _query("SELECT array_agg(DISTINCT status) FROM cases_alertemail")[0][0] == ["sent"]
        for message in received:
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            everything = f"{message['Subject']}\n{text}\n{html}"
            assert world["reference"] in everything
            assert f"/cases/{world['case']}/" in text
            assert CODE not in everything and LEGAL_NAME not in everything
        assert LEGAL_NAME not in processes.log("worker2")
    finally:
        processes.stop()
        sink.handler.hold_rcpt = False
        with contextlib.suppress(Exception):  # never started
            sink.__exit__(None, None, None)
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
