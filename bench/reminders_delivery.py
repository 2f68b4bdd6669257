"""Benchmark: one Celery worker delivers 10,000 due reminders to a loopback SMTP sink.

    createdb -h 127.0.0.1 -U postgres advocacy_bench   # once (the script also creates it)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/reminders_delivery.py

Goals (issue 4): at least 200 emails per second, and the worker's peak memory under 150 MB.

What runs: an aiosmtpd sink in its own process on 127.0.0.1, and a real worker
(``celery -A advocacy worker --pool=solo``) taking tasks from Redis. Once the worker has
settled, 10,000 reminders are planned through the services (100 deadlines x 100 assignees),
all made due at once, and one dispatch task is sent, as beat would. Measured: the time until
every row is marked sent, the worker's CPU time and its peak memory (VmHWM). Checked: the sink
received each sent row's Message-ID exactly once, and nothing else. Every task goes to the
Redis database in REDIS_URL (never to the demo's broker folder). The database named in
DATABASE_URL is FLUSHED: never point it at real data.

``--profile`` instead runs one dispatch round in this process under cProfile (no worker, no
broker) and prints where the time goes; ``--count 2000`` is enough for that.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")
os.environ.setdefault("DEBUG", "0")  # DEBUG would keep every query in memory
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef-0123456789abcdef")


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("DATABASE_URL must point at a PostgreSQL database made for the benchmark.")
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def run_sink() -> None:
    """Child process: an SMTP server that counts what it accepts until stdin closes, then
    prints the counts and the Message-ID of every message, one a line."""
    from tests.smtp import SmtpSink

    with SmtpSink(keep=False) as sink:
        print(sink.port, flush=True)
        sys.stdin.read()
    handler = sink.handler
    print(handler.accepted, handler.connections)
    print("\n".join(handler.raw_message_ids), flush=True)


def start_sink() -> tuple[subprocess.Popen, int]:
    sink = subprocess.Popen(  # noqa: S603 - this very script, as the SMTP sink
        [sys.executable, __file__, "--sink"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return sink, int(sink.stdout.readline())


def stop_sink(sink: subprocess.Popen) -> tuple[int, int, list[str]]:
    """(emails accepted, SMTP connections, the Message-ID of each email accepted)."""
    out, _ = sink.communicate("", timeout=60)
    counts, *message_ids = out.splitlines()
    accepted, connections = (int(value) for value in counts.split())
    return accepted, connections, message_ids


def check_delivered_once(accepted: int, message_ids: list[str]) -> None:
    """Every sent row's email reached the sink once, and nothing else did."""
    from cases.models import Reminder

    expected = Counter(Reminder.objects.filter(status="sent").values_list("message_id", flat=True))
    received = Counter(message_ids)
    twice = sum(n - 1 for n in received.values() if n > 1)
    missing = sum((expected - received).values())
    unknown = sum((received - expected).values())
    print(
        f"delivered once:        {sum((expected & received).values())} Message-IDs received once; "
        f"{twice} received again, {missing} missing, {unknown} unknown"
    )
    if accepted != len(message_ids) or twice or missing or unknown:
        sys.exit("the sink did not receive each reminder exactly once")


def setup_people(count: int, deadlines: int):
    """An organization, its case and one editor per reminder of a deadline; no deadline yet."""
    import django
    from django.core.management import call_command

    django.setup()
    from tests import factories

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    org = factories.OrganizationFactory(name="Bench organization")
    lead = factories.member(org, "coordinator", username="bench-coordinator")
    users = [
        factories.member(org, "editor", username=f"bench-{n}") for n in range(count // deadlines)
    ]
    case = factories.make_case(lead_organization=org, by=lead, title="Bench case")
    return case, lead, users


def plan_reminders(case, lead, users, *, count: int, deadlines: int) -> None:
    """Plan ``count`` reminders through the services, then make them all due at once."""
    from django.utils import timezone

    from cases import services
    from cases.models import DeadlineKind, Reminder

    today = timezone.localdate()
    started = time.monotonic()
    for number in range(deadlines):
        services.deadline_create(
            case=case,
            by=lead,
            kind=DeadlineKind.OTHER,
            title=f"Bench deadline {number}",
            due_on=today + dt.timedelta(days=40),
            reminder_days=[30],  # one point per assignee, ten days ahead
            assignees=users,
        )
    print(f"planned {count} reminders in {time.monotonic() - started:.0f} s")
    # As if the clock had reached 08:00 on the reminders' day.
    due = Reminder.objects.filter(kind="reminder", status="pending").update(
        next_attempt_at=timezone.now()
    )
    if due != count:
        sys.exit(f"expected {count} due reminders, planned {due}")


def purge(app) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def queued(app) -> int:
    """Messages waiting in the worker's queue (declaring it, as the worker does)."""
    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(app.conf.task_default_queue).message_count


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_worker(broker_url: str, port: int, log_fd: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "LOG_LEVEL": "INFO",
    }
    command = ["celery", "-A", "advocacy", "worker", "--pool=solo", "--concurrency=1"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    return subprocess.Popen(  # noqa: S603 - a worker of this project
        [sys.executable, "-m", *command], env=env, cwd=ROOT, stdout=log_fd, stderr=log_fd
    )


def deliver(app, worker, log_name: str, args, people) -> dict:
    """Plan and send; return what was measured while the worker still runs."""
    from cases.models import Reminder

    # A starting worker runs a dispatch, a re-plan and a dispatch: let it finish them (with
    # nothing planned yet they take no time), then plan, so that only delivery is measured.
    while "ready." not in Path(log_name).read_text() or queued(app):
        if worker.poll() is not None:
            sys.exit(f"the worker stopped; see {log_name}")
        time.sleep(0.5)
    time.sleep(2)
    plan_reminders(*people, count=args.count, deadlines=args.deadlines)
    idle_cpu = cpu_seconds(worker.pid)
    started = time.monotonic()
    app.send_task("cases.dispatch_due_reminders")  # what beat sends every minute
    last, last_change = -1, time.monotonic()
    while (sent := Reminder.objects.filter(status="sent").count()) < args.count:
        if sent != last:
            last, last_change = sent, time.monotonic()
        elif time.monotonic() - last_change > 10:
            if worker.poll() is not None:
                sys.exit(f"the worker stopped; see {log_name}")
            app.send_task("cases.dispatch_due_reminders")  # a round hit its time budget
            last_change = time.monotonic()
        time.sleep(0.2)
    return {
        "sent": sent,
        "wall": time.monotonic() - started,
        "peak": peak_rss_mb(worker.pid),
        "cpu": cpu_seconds(worker.pid) - idle_cpu,
    }


def profile_round(args, people) -> None:
    """One dispatch round of ``--count`` emails in this process, under cProfile."""
    from django.test.utils import override_settings

    from cases.services.reminders import reminders_dispatch

    plan_reminders(*people, count=args.count, deadlines=args.deadlines)
    sink, port = start_sink()
    backend = "django.core.mail.backends.smtp.EmailBackend"
    profiler = cProfile.Profile()
    cpu, started = time.process_time(), time.monotonic()
    with override_settings(EMAIL_BACKEND=backend, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
        result = profiler.runcall(reminders_dispatch)
    cpu, wall = time.process_time() - cpu, time.monotonic() - started
    accepted, _connections, message_ids = stop_sink(sink)
    check_delivered_once(accepted, message_ids)
    print(f"{result}")
    print(
        f"profiled round: {wall:.2f} s wall, {cpu:.2f} s CPU = "
        f"{cpu * 1000 / args.count:.2f} ms CPU per email (with cProfile's overhead)"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--deadlines", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="profile one round in-process")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink()
        return

    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    # Every task this process enqueues (planning asks for a dispatch after each commit) goes to
    # the benchmark's Redis database, never to the demo's broker folder: set before Django
    # reads its settings, and checked below.
    os.environ["CELERY_BROKER_URL"] = broker_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(database_url)
    people = setup_people(args.count, args.deadlines)

    from django.conf import settings
    from django.db.models import Max, Min

    from advocacy.celery import app
    from cases.models import Reminder

    if not (settings.CELERY_BROKER_URL == app.conf.broker_url == broker_url):
        sys.exit(f"tasks would not go to {broker_url}: {app.conf.broker_url}")
    purge(app)
    if args.profile:
        profile_round(args, people)
        purge(app)  # the dispatches that planning asked for: nobody runs them here
        return
    sink, port = start_sink()
    log_fd, log_name = tempfile.mkstemp(prefix="bench-worker-", suffix=".log")
    worker = start_worker(broker_url, port, log_fd)
    try:
        measured = deliver(app, worker, log_name, args, people)
        sink_cpu = cpu_seconds(sink.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        os.close(log_fd)
        accepted, connections, message_ids = stop_sink(sink)

    window = Reminder.objects.filter(status="sent").aggregate(
        first=Min("sent_at"), last=Max("sent_at")
    )
    sending = (window["last"] - window["first"]).total_seconds()
    count, wall, cpu = args.count, measured["wall"], measured["cpu"]
    print(f"reminders sent:        {measured['sent']}")
    print(f"sink accepted:         {accepted} emails over {connections} SMTP connections")
    print(f"wall time:             {wall:.1f} s from enqueue to the last row marked sent")
    print(f"throughput (wall):     {count / wall:.0f} emails/s")
    print(f"throughput (sending):  {count / sending:.0f} emails/s (first to last send)")
    print(f"worker peak memory:    {measured['peak']:.0f} MB (VmHWM of the solo worker process)")
    print(
        f"worker CPU time:       {cpu:.1f} s = {cpu * 1000 / count:.1f} ms per email "
        f"= {count / cpu:.0f} emails per CPU-second of the worker"
    )
    print(f"sink CPU time:         {sink_cpu:.1f} s (the SMTP server, same machine)")
    print(f"machine load average:  {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this script peak RSS:  {own_peak:.0f} MB (setup and polling, not the worker)")
    print(f"worker log:            {log_name}")
    if accepted != count:
        sys.exit(f"the sink accepted {accepted} emails for {count} reminders")
    check_delivered_once(accepted, message_ids)


if __name__ == "__main__":
    main()
