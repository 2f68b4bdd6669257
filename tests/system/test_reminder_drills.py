"""Reminder drills: real worker and beat processes, a recording SMTP sink, things going wrong.

Each drill starts from the same world (a copy of one seeded database: 300 reminders due now,
20 readers x 15 deadlines, two coordinators), runs the worker and beat as docker-compose.yml
runs them, breaks something mid-drain and counts what reaches the SMTP sink on loopback:

- lost: reminders that should have gone out and never reached the sink (must be 0);
- duplicates: the same email (same Message-ID) received again (within the stated bound);
- distinct-ID duplicates: one reader told the same thing under two Message-IDs (must be 0);
- time to drain after the worker or the database is back (within 60 s).

The figures are printed (run with ``-s``) and quoted in docs/reminders.md. The database
"restart" terminates the worker's connections to its own database (pg_terminate_backend):
the machine's PostgreSQL server is shared and is never restarted by a test.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.smtp import SmtpSink, free_port
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

# Named after the database in DATABASE_URL, so that two checkouts can drill side by side.
_BASE = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "")).path.strip("/") or "advocacy"
TEMPLATE = f"{_BASE}_drill_template"
DRILL = f"{_BASE}_drill"
READERS = 20
DEADLINES = 15
DUE = READERS * DEADLINES  # one reminder each, all due now
CONCURRENCY = 2  # the worker's, as docker-compose.yml runs it
SENT_GROUP = 20  # cases.services.reminders.delivery.SENT_GROUP
SMTP_CONNECTIONS = int(example_settings()["REMINDER_SMTP_CONNECTIONS"])
# SIGKILL mid-drain: the emails the server took that were not yet marked sent, per process:
# the group not yet marked, and one on each connection.
KILL_BOUND = (SENT_GROUP + SMTP_CONNECTIONS) * CONCURRENCY
RECOVERY_LIMIT = 60.0  # seconds, from the worker (or the database) being back to drained

SEED = f"""
import datetime as dt
from django.contrib.auth import get_user_model
from django.utils import timezone
from cases import services
from cases.models import Membership, Organization
User = get_user_model()
org = Organization.objects.create(name="Drill NGO", kind=Organization.Kind.NGO)
coordinators = []
for number in range(2):
    user = User.objects.create_user(f"coord{{number}}", f"coord{{number}}@example.org", "x")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.COORDINATOR)
    coordinators.append(user)
readers = []
for number in range({READERS}):
    user = User.objects.create_user(f"reader{{number}}", f"reader{{number}}@example.org", "x")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.EDITOR)
    readers.append(user)
case = services.case_create(by=coordinators[0], title="Drill case", lead_organization=org)
due_on = timezone.localdate() + dt.timedelta(days=2)
for number in range({DEADLINES}):
    # Reminded 3 days before a deadline 2 days away: that point has passed, so each
    # reader's reminder is due at once (the catch-up for the latest past point).
    services.deadline_create(
        case=case, by=coordinators[0], kind="follow_up_visit", title=f"Visit {{number:02d}}",
        due_on=due_on, assignees=readers, reminder_days=[3],
    )
print("seeded")
"""

# Run inside the drill's database while the worker drains: waits for "go", then cancels one
# deadline and moves another through the services, and prints when that committed.
CHANGE = """
import datetime as dt, sys, time
from django.contrib.auth import get_user_model
from cases import services
from cases.models import Deadline
deadlines = {d.title: d for d in Deadline.objects.select_related("case")}
by = get_user_model().objects.get(username="coord0")
print("ready", flush=True)
sys.stdin.readline()
services.deadline_change_status(
    deadline=deadlines["Visit 10"], to="cancelled", by=by, reason="drill: cancelled"
)
moved = deadlines["Visit 11"]
services.deadline_update(deadline=moved, by=by, due_on=moved.due_on + dt.timedelta(days=7))
print("committed", time.time(), flush=True)
"""


# --- The world --------------------------------------------------------------------------------
def _server_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def _url(database: str) -> str:
    parts = urllib.parse.urlsplit(_server_url())
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(), autocommit=True) as conn:
        conn.execute(sql)


def _query(sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(_url(DRILL), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(_url(DRILL), autocommit=True) as conn:
        conn.execute(sql)


def _env(tmp_path: Path, redis_url: str, *, database: str, smtp_port: int) -> dict:
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": "C.UTF-8",
        **example_settings(),
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": "drill-secret-key-0123456789abcdef-0123456789abcdef",
        "SITE_URL": "http://127.0.0.1:9",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _url(database),
        "CELERY_BROKER_URL": redis_url,
        "DATA_DIR": str(tmp_path / "data"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_TIMEOUT": "5",
        "LOG_FORMAT": "plain",
    }


def _django(env: dict, code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own manage.py)
        [str(BIN / "python"), "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        text=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One seeded database; each drill starts from a copy of it."""
    if not _server_url().startswith("postgres"):
        pytest.skip("the drills need PostgreSQL")
    _admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {TEMPLATE}")
    env = _env(tmp_path_factory.mktemp("seed"), "memory://", database=TEMPLATE, smtp_port=9)
    for code in (None, SEED):
        if code is None:
            command = [str(BIN / "python"), "manage.py", "migrate", "--no-input", "-v", "0"]
        else:
            command = [str(BIN / "python"), "manage.py", "shell", "--no-imports", "-c", code]
        done = subprocess.run(  # noqa: S603 (our own manage.py)
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
    yield TEMPLATE
    _admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


class Drill:
    """A fresh copy of the world, the sink, and the production processes around it."""

    def __init__(self, tmp_path: Path, redis_url: str, *, sink_port: int | None = None):
        _admin(f"DROP DATABASE IF EXISTS {DRILL} WITH (FORCE)")
        _admin(f"CREATE DATABASE {DRILL} TEMPLATE {TEMPLATE}")
        (tmp_path / "logs").mkdir()
        (tmp_path / "data").mkdir()
        self.sink = SmtpSink(port=sink_port)
        self.env = _env(
            tmp_path, separate_redis_db(redis_url), database=DRILL, smtp_port=self.sink.port
        )
        self.processes = Processes(self.env, tmp_path / "logs")
        self.workers = 0

    def start_worker(self) -> None:
        self.workers += 1
        self.processes.start(f"worker{self.workers}", compose_command("worker"))

    def worker(self) -> subprocess.Popen:
        return self.processes.running[f"worker{self.workers}"]

    def start(self, *, sink: bool = True, delay: float = 0.02) -> None:
        self.sink.handler.delay = delay  # a mail server taking its time: the drain lasts
        if sink:
            self.sink.__enter__()
        self.start_worker()
        self.processes.start("beat", compose_command("beat"))

    def stop(self) -> None:
        self.processes.stop()
        with contextlib.suppress(Exception):  # never started
            self.sink.__exit__(None, None, None)
        _admin(f"DROP DATABASE IF EXISTS {DRILL} WITH (FORCE)")

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{self.processes.log(name)[-2500:]}" for name in self.processes.running
        )

    # What reached the sink.
    def reminders_received(self) -> list:
        return [m for m in self.sink.messages if str(m["Message-ID"]).startswith("<reminder.")]

    def received_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.reminders_received()]

    def expected_ids(self) -> set[str]:
        """Every reminder due by now that must reach its reader (not the ones cancelled on
        purpose, nor those a move planned for later)."""
        rows = _query(
            "SELECT message_id FROM cases_reminder"
            " WHERE kind = 'reminder' AND status <> 'cancelled' AND scheduled_for <= now()"
        )
        return {row[0] for row in rows}

    def figures(self) -> dict:
        received = self.received_ids()
        expected = self.expected_ids()
        told: dict[tuple[str, str], set[str]] = defaultdict(set)
        for message in self.reminders_received():
            title = re.search(r"Visit \d+", str(message["Subject"]))[0]
            told[(str(message["To"]), title)].add(str(message["Message-ID"]))
        return {
            "due": len(expected),
            "delivered": len(set(received) & expected),
            "lost": len(expected - set(received)),
            "duplicates": len(received) - len(set(received)),
            "distinct_id_duplicates": sum(len(ids) - 1 for ids in told.values()),
            "left_due_in_outbox": _query(
                "SELECT count(*) FROM cases_reminder WHERE status IN ('pending', 'sending')"
                " AND kind = 'reminder' AND next_attempt_at <= now()"
            )[0][0],
        }

    def drained(self) -> bool:
        return self.expected_ids() <= set(self.received_ids()) and not _query(
            "SELECT 1 FROM cases_reminder WHERE status IN ('pending', 'sending')"
            " AND kind = 'reminder' AND next_attempt_at <= now()"
        )


def _claimed(title: str) -> int:
    """How many reminders of that deadline a dispatcher holds right now ("sending")."""
    return _query(
        "SELECT count(*) FROM cases_reminder r JOIN cases_deadline d ON d.id = r.deadline_id"
        " WHERE d.title = %s AND r.status = 'sending'",
        (title,),
    )[0][0]


def _report(name: str, figures: dict) -> None:
    print(f"\nDRILL {name}: {json.dumps(figures)}")


@pytest.fixture
def drill(template, tmp_path, redis_url):
    drill = Drill(tmp_path, redis_url)
    yield drill
    drill.stop()


# --- The drills -----------------------------------------------------------------------------
def test_baseline_every_reminder_once(drill):
    started = time.monotonic()
    drill.start()
    assert wait_for(drill.drained, timeout=90, alive=drill.processes.alive), drill.logs()
    figures = {**drill.figures(), "seconds_to_drain": round(time.monotonic() - started, 1)}
    _report("baseline", figures)
    assert figures["due"] == DUE
    assert figures["lost"] == figures["duplicates"] == figures["distinct_id_duplicates"] == 0


def test_worker_killed_mid_drain_and_restarted(drill):
    drill.start()
    assert wait_for(lambda: len(drill.received_ids()) >= 60, timeout=90), drill.logs()
    killed = drill.processes.running.pop(f"worker{drill.workers}")
    os.killpg(killed.pid, signal.SIGKILL)  # the whole worker, children too
    killed.wait(timeout=10)
    at_kill = len(drill.received_ids())
    time.sleep(2)
    assert not drill.drained(), "the drain was over before the kill: the drill proves nothing"

    back = time.monotonic()
    drill.start_worker()
    assert wait_for(drill.drained, timeout=RECOVERY_LIMIT + 30, alive=drill.processes.alive), (
        drill.logs()
    )
    figures = {
        **drill.figures(),
        "received_before_kill": at_kill,
        "seconds_to_drain_after_restart": round(time.monotonic() - back, 1),
    }
    _report("worker SIGKILL", figures)
    assert figures["lost"] == 0 and figures["distinct_id_duplicates"] == 0
    assert figures["duplicates"] <= KILL_BOUND
    assert figures["seconds_to_drain_after_restart"] <= RECOVERY_LIMIT
    assert "Took back" in drill.processes.log(f"worker{drill.workers}"), "no start-up recovery"


def test_database_connections_cut_mid_drain(drill):
    drill.start()
    assert wait_for(lambda: len(drill.received_ids()) >= 60, timeout=90), drill.logs()
    terminated = _query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (DRILL,),
    )[0][0]
    back = time.monotonic()
    assert not drill.drained(), "the drain was over before the cut: the drill proves nothing"
    assert wait_for(drill.drained, timeout=RECOVERY_LIMIT + 30, alive=drill.processes.alive), (
        drill.logs()
    )
    figures = {
        **drill.figures(),
        "connections_cut": terminated,
        "seconds_to_drain_after_cut": round(time.monotonic() - back, 1),
    }
    _report("database connections cut", figures)
    assert terminated >= 1
    assert figures["lost"] == 0 and figures["distinct_id_duplicates"] == 0
    assert figures["duplicates"] <= KILL_BOUND  # expected 0: the marks are retried
    assert figures["seconds_to_drain_after_cut"] <= RECOVERY_LIMIT


def test_cancel_and_move_during_the_drain(drill):
    changer = _django(drill.env, CHANGE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert changer.stdout.readline().strip() == "ready"
        # A server slow enough that the drain lasts while the dispatchers send over all their
        # connections at once.
        drill.start(delay=0.03 * SMTP_CONNECTIONS)
        # Act once their rows are claimed by a dispatcher, before all of them went out: the
        # batch was checked when it was claimed, and must be checked again email by email.
        assert wait_for(lambda: _claimed("Visit 10") and _claimed("Visit 11"), timeout=90), (
            drill.logs()
        )
        claimed = _claimed("Visit 10") + _claimed("Visit 11")
        changer.stdin.write("go\n")
        changer.stdin.flush()
        line = changer.stdout.readline().split()
        assert line and line[0] == "committed", line
        committed_at = float(line[1])
        assert wait_for(drill.drained, timeout=120, alive=drill.processes.alive), drill.logs()
    finally:
        changer.kill()
        changer.wait(timeout=10)

    after: Counter = Counter()
    before: Counter = Counter()
    for message, when in zip(drill.sink.messages, drill.sink.handler.received_at, strict=True):
        title = re.search(r"Visit \d+", str(message["Subject"]))
        if title and title[0] in {"Visit 10", "Visit 11"}:
            (after if when > committed_at else before)[title[0]] += 1
    figures = {
        **drill.figures(),
        "cancelled_sent_before": before["Visit 10"],
        "cancelled_sent_after": after["Visit 10"],
        "moved_sent_before": before["Visit 11"],
        "moved_sent_after": after["Visit 11"],
        "claimed_when_changed": claimed,
    }
    _report("cancel and move during the drain", figures)
    assert figures["lost"] == figures["duplicates"] == figures["distinct_id_duplicates"] == 0
    # At most the emails each worker process had already checked and was handing over, one
    # per SMTP connection.
    assert figures["cancelled_sent_after"] <= CONCURRENCY * SMTP_CONNECTIONS
    assert figures["moved_sent_after"] <= CONCURRENCY * SMTP_CONNECTIONS
    # The change landed mid-batch: rows of both were claimed and not all of them sent.
    assert claimed > 0
    assert figures["cancelled_sent_before"] + figures["moved_sent_before"] < 2 * READERS


def test_mail_server_down_past_the_retry_window(template, tmp_path, redis_url):
    port = free_port()
    drill = Drill(tmp_path, redis_url, sink_port=port)
    try:
        # Two hours of retries, already behind them: the next attempt is the last.
        _execute("UPDATE cases_reminder SET attempts = 7 WHERE kind = 'reminder'")
        drill.start(sink=False, delay=0.0)  # nobody listens on the mail port
        gave_up = wait_for(
            lambda: (
                _query(
                    "SELECT count(*) FROM cases_reminder WHERE kind = 'reminder'"
                    " AND status = 'failed' AND failure_cause = 'unreachable'"
                )[0][0]
                == DUE
            ),
            timeout=60,
            alive=drill.processes.alive,
        )
        assert gave_up, drill.logs()
        reports = _query(
            "SELECT count(*) FROM cases_reminder WHERE kind = 'failure_report'"
            " AND status = 'pending'"
        )[0][0]

        drill.sink.__enter__()  # the mail server is back
        back = time.monotonic()
        assert wait_for(drill.drained, timeout=150, alive=drill.processes.alive), drill.logs()
        healed = round(time.monotonic() - back, 1)
        # The reports' gathering window (5 minutes) passes, and a round runs (cron's command
        # here, rather than waiting a minute for beat's).
        _execute(
            "UPDATE cases_reminder SET next_attempt_at = now(), scheduled_for = now()"
            " WHERE kind = 'failure_report' AND status = 'pending'"
        )
        done = subprocess.run(  # noqa: S603 (our own manage.py)
            [str(BIN / "python"), "manage.py", "send_due_reminders"],
            cwd=ROOT,
            env=drill.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert wait_for(
            lambda: len([m for m in drill.sink.messages if "coord" in str(m["To"])]) >= 2,
            timeout=90,
            alive=drill.processes.alive,
        ), drill.logs()
        time.sleep(3)  # anything more would be a second summary
        summaries = Counter(
            str(m["To"]) for m in drill.sink.messages if str(m["To"]).startswith("coord")
        )
        figures = {
            **drill.figures(),
            "failure_reports_queued": reports,
            "seconds_to_deliver_after_server_back": healed,
            "summaries_per_coordinator": dict(summaries),
        }
        _report("mail server down past the retry window", figures)
        assert figures["lost"] == figures["duplicates"] == figures["distinct_id_duplicates"] == 0
        assert reports == DUE * 2  # one per failed reminder per coordinator, in the outbox
        assert summaries == {"coord0@example.org": 1, "coord1@example.org": 1}
        body = (
            next(m for m in drill.sink.messages if str(m["To"]).startswith("coord"))
            .get_body(("plain",))
            .get_content()
        )
        assert body.count("Delivered in the end") == DUE
    finally:
        drill.stop()
