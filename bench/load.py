"""Load benchmark: gunicorn with 2 workers against 10,000 cases and 1,000,000 history rows.

    .venv/bin/python bench/load.py            # seed once (a few minutes), then measure
    .venv/bin/python bench/load.py --seed-only

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/advocacy_bench_load:
the database is created, seeded once and reused; never point it at real data) and wrk
(Debian: apt-get install wrk). Everything listens on 127.0.0.1 only.

The server is the one docker-compose.yml runs (its web command, 2 gunicorn workers, static
files collected with STATIC_MANIFEST=1, JSON logs written to a file), signed in as an editor.
Each endpoint is measured for --duration seconds right after the same time on a trivial
signed-in page (/settings/), so the pair is comparable even on a machine shared with other
work: the case page and the case list on random cases, and a petition form POST (with its
CSRF token) on random cases. Any socket error or unexpected status (a signed-out redirect, a
form shown again instead of a 302) fails the run. Results and the exact commands are printed
as Markdown for docs/performance.md ("## Load").
"""

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "load.lua"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/advocacy_bench_load"
USERNAME = "bench-editor"
PASSWORD = "bench load passphrase 41d9"  # noqa: S105 (a throwaway account, loopback only)
SECRET_KEY = "bench-only-secret-key-0123456789abcdef-0123456789abcdef-load"  # noqa: S105
# Per case: the case, 1 person of concern, 2 petitions, 5 events and 1 deadline, each with its
# creation and edits in history: 10 + 5 + 2 x 10 + 5 x 10 + 15 = 100 history rows.
HISTORY_PER_CASE = {"case": 10, "prisoner": 5, "petition": 10, "event": 10, "deadline": 15}
PETITIONS, EVENTS = 2, 5
CHUNK = 200  # cases per transaction: about 20,000 history rows in memory at a time
FLOOR = "/bench/floor/"  # the one-line signed-in page (bench/floor_urls.py, bench/floor_wsgi.py)
GOAL_RPS, GOAL_P95_MS = 69, 100  # issue 14: 3x the 23 req/s measured before it, p95 <= 100 ms

sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Database --------------------------------------------------------------------------------
def ensure_database(url: str, *, recreate: bool) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("DATABASE_URL must point at a PostgreSQL database made for the benchmark.")
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if recreate:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="advocacy.settings",
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=url,
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def history_rows() -> int:
    from cases.models import Case, Deadline, Event, Petition, Prisoner

    return sum(m.history.count() for m in (Case, Prisoner, Petition, Event, Deadline))


def seed(cases: int) -> None:
    """Bulk inserts in chunks of CHUNK cases, one transaction each (memory stays flat)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cases.models import Authority, Case, Membership, Organization

    user = get_user_model().objects.create_user(USERNAME, "bench@example.org", PASSWORD)
    # An editor: may file petitions; two-factor sign-in is required of coordinators only.
    org = Organization.objects.create(name="Bench Organization", kind=Organization.Kind.NGO)
    Membership.objects.create(user=user, organization=org, role=Membership.Role.EDITOR)
    authority = Authority.objects.create(
        name="Bench Authority", kind=Authority.Kind.GOVERNMENT_BODY, country="Ukraine"
    )
    started = time.monotonic()
    for start in range(0, cases, CHUNK):
        with transaction.atomic():
            _seed_chunk(range(start, min(start + CHUNK, cases)), user, org, authority)
        done = min(start + CHUNK, cases)
        if done % 1000 == 0 or done == cases:
            log(f"  {done} cases, {time.monotonic() - started:.0f} s")
    assert Case.objects.count() == cases


def _seed_chunk(numbers: range, user, org, authority) -> None:
    from cases.models import (
        Case,
        CaseStatus,
        DatePrecision,
        Deadline,
        DeadlineKind,
        Event,
        Petition,
        PetitionStatus,
        Prisoner,
        TimelineEntry,
    )

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    prisoners = Prisoner.objects.bulk_create(
        [
            Prisoner(owner=org, code=f"BENCH-POW-{n:05d}", legal_name=f"Bench Person {n}")
            for n in numbers
        ]
    )
    cases = Case.objects.bulk_create(
        [
            Case(
                reference=f"BENCH-{n:05d}",
                title=f"Bench case {n}",
                summary="Detained; asks not to be returned.",
                status=CaseStatus.OPEN,
                lead_organization=org,
                opened_on=today - dt.timedelta(days=n % 1000),
            )
            for n in numbers
        ]
    )
    Case.prisoners.through.objects.bulk_create(
        [
            Case.prisoners.through(case_id=c.pk, prisoner_id=p.pk)
            for c, p in zip(cases, prisoners, strict=True)
        ]
    )
    petitions = Petition.objects.bulk_create(
        [
            Petition(
                case=case,
                title=f"Petition {i + 1}",
                addressed_to=authority,
                filed_on=case.opened_on + dt.timedelta(days=i + 1),
                channel="email",
                legal_bases=[],
                summary="Non-refoulement, lawyer access, ICRC registration.",
                # The first petition was acknowledged after it was filed (a status change).
                status=PetitionStatus.ACKNOWLEDGED if i == 0 else PetitionStatus.FILED,
            )
            for case in cases
            for i in range(PETITIONS)
        ]
    )
    Petition.filed_by.through.objects.bulk_create(
        [Petition.filed_by.through(petition_id=p.pk, organization_id=org.pk) for p in petitions]
    )
    events = Event.objects.bulk_create(
        [
            Event(
                case=case,
                kind="visit",
                occurred_on=case.opened_on + dt.timedelta(days=2 * i),
                occurred_on_precision=DatePrecision.DAY,
                title=f"Visit {i + 1}",
                description="Met the person of concern with a lawyer.",
                created_by=user,
            )
            for case in cases
            for i in range(EVENTS)
        ]
    )
    deadlines = Deadline.objects.bulk_create(
        [
            Deadline(
                case=case,
                petition=petitions[PETITIONS * k],
                kind=DeadlineKind.FOLLOW_UP_VISIT,
                title="Follow-up visit",
                due_on=today + dt.timedelta(days=30 + k % 60),
                due_precision=DatePrecision.DAY,
                reminder_days=[3, 1],
            )
            for k, case in enumerate(cases)
        ]
    )

    # History: a creation, then edits, a day apart, ending a day ago.
    def write_history(model, objects, rounds, edit):
        for r in range(rounds):
            moment = now - dt.timedelta(days=rounds - r)
            for obj in objects:
                obj._history_date = moment
                edit(obj, r)
            model.history.bulk_history_create(
                objects,
                batch_size=2000,
                update=r > 0,
                default_user=user,
                default_change_reason="Created" if r == 0 else f"Edit {r}",
            )

    def summary_edit(obj, r):
        obj.summary = f"{obj.summary.split(' (edit')[0]} (edit {r})" if r else obj.summary

    def petition_edit(obj, r):
        summary_edit(obj, r)
        if obj.title == "Petition 1":
            obj.status = PetitionStatus.FILED if r < 3 else PetitionStatus.ACKNOWLEDGED

    write_history(Case, cases, HISTORY_PER_CASE["case"], summary_edit)
    write_history(Prisoner, prisoners, HISTORY_PER_CASE["prisoner"], _note_edit)
    write_history(Petition, petitions, HISTORY_PER_CASE["petition"], petition_edit)
    write_history(Event, events, HISTORY_PER_CASE["event"], _description_edit)
    write_history(Deadline, deadlines, HISTORY_PER_CASE["deadline"], _note_edit)

    # The timeline, as cases.services.timeline projects these rows.
    Kind = TimelineEntry.Kind
    entries = []
    for case in cases:
        opened = now - dt.timedelta(days=HISTORY_PER_CASE["case"])
        entries.append(
            TimelineEntry(
                kind=Kind.CASE_OPENED,
                case=case,
                happened_on=case.opened_on,
                precision=DatePrecision.DAY,
                happened_at=opened,
                recorded_at=opened,
                actor=user,
                reason="Created",
            )
        )
    for event in events:
        entries.append(
            TimelineEntry(
                kind=Kind.EVENT,
                event=event,
                case_id=event.case_id,
                happened_on=event.occurred_on,
                precision=event.occurred_on_precision,
                recorded_at=now,
            )
        )
    for petition in petitions:
        entries.append(
            TimelineEntry(
                kind=Kind.PETITION,
                petition=petition,
                case_id=petition.case_id,
                happened_on=petition.filed_on,
                precision=DatePrecision.DAY,
                recorded_at=now,
            )
        )
        if petition.status == PetitionStatus.ACKNOWLEDGED:
            changed = now - dt.timedelta(days=HISTORY_PER_CASE["petition"] - 3)
            entries.append(
                TimelineEntry(
                    kind=Kind.STATUS,
                    subject=TimelineEntry.Subject.PETITION,
                    field="status",
                    old_value=PetitionStatus.FILED,
                    new_value=PetitionStatus.ACKNOWLEDGED,
                    petition=petition,
                    case_id=petition.case_id,
                    happened_on=changed.date(),
                    precision=DatePrecision.DAY,
                    happened_at=changed,
                    recorded_at=changed,
                    actor=user,
                    reason="Edit 3",
                )
            )
    for deadline in deadlines:
        entries.append(
            TimelineEntry(
                kind=Kind.DEADLINE,
                deadline=deadline,
                case_id=deadline.case_id,
                happened_on=deadline.due_on,
                precision=deadline.due_precision,
                recorded_at=now,
            )
        )
    TimelineEntry.objects.bulk_create(entries, batch_size=2000)


def _note_edit(obj, r):
    obj.notes = f"Notes, version {r}"


def _description_edit(obj, r):
    obj.description = f"Met the person of concern with a lawyer. Version {r}."


# --- The server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, port: int, data_dir: Path) -> dict:
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": "memory://",
        "DATA_DIR": str(data_dir),
        "STATIC_MANIFEST": "1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }


def web_command(port: int) -> list[str]:
    import yaml

    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"][
        "command"
    ]
    command = list(command)
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    # The same server with the floor page added to the URLs (bench/floor_wsgi.py).
    command[command.index("advocacy.wsgi")] = "bench.floor_wsgi"
    return command


class Session:
    """A signed-in visitor: cookies and the CSRF token of its forms."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def sign_in(self, username: str = USERNAME) -> None:
        page = self.get("/accounts/login/")
        token = _token(page)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        ).encode()
        with self.opener.open(self.base + "/accounts/login/", data=data, timeout=60) as response:
            if "/accounts/login/" in response.url:
                sys.exit("Could not sign in as the bench user.")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def _token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]


def wrk(base: str, sessions: list[Session], path: str, ids: tuple[int, int], *, body="", args):
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA.relative_to(ROOT)),
        base,
        "--",
        path,
        str(ids[0]),
        str(ids[1]),
        "|".join(s.cookie_header() for s in sessions),
    ]
    if body:
        command.append(body)
    output = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["command"] = _shown(command)
    return result


def _shown(command: list[str]) -> str:
    """The command as printed in docs: secrets and the port replaced by placeholders."""
    text = shlex.join(command)
    text = re.sub(r"'?(csrftoken|sessionid)=[^ ']*( [^ ']*)*'?", "COOKIES", text, count=1)
    text = re.sub(r"csrfmiddlewaretoken=[^&']*", "csrfmiddlewaretoken=TOKEN", text)
    return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", text)


def readers(count: int) -> list[str]:
    """The signed-in users: the seeded editor and count - 1 more editors of its organization."""
    from django.contrib.auth import get_user_model

    from cases.models import Membership, Organization

    org = Organization.objects.get(name="Bench Organization")
    names = [USERNAME] + [f"{USERNAME}-{n}" for n in range(2, count + 1)]
    for name in names[1:]:
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            user = get_user_model().objects.create_user(name, f"{name}@example.org", PASSWORD)
            Membership.objects.create(user=user, organization=org, role=Membership.Role.EDITOR)
    return names


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def measure(url: str, args) -> list[tuple[str, dict, dict]]:
    from cases.models import Authority, Case, Organization

    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    first = Case.objects.order_by("pk").values_list("pk", flat=True)[0]
    last = Case.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert last - first + 1 == Case.objects.count(), "case ids must be contiguous"
    org = Organization.objects.get(name="Bench Organization").pk
    authority = Authority.objects.get(name="Bench Authority").pk
    names = readers(args.users)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = server_env(url, port, work / "data")
    subprocess.run(  # noqa: S603 (our own manage.py)
        [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    command = web_command(port)
    log(f"Server: {shlex.join(command)}")
    with open(work / "web.log", "wb") as server_log:
        server = subprocess.Popen(  # noqa: S603 (our own command)
            [shutil.which(command[0], path=str(BIN)) or command[0], *command[1:]],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        sessions = [Session(base) for _ in names]
        for _ in range(120):
            try:
                sessions[0].get("/accounts/login/")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        for session, name in zip(sessions, names, strict=True):
            session.sign_in(name)
        token = _token(sessions[0].get(f"/cases/{first}/petitions/new/"))
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "title": "Load test petition",
                "filed_by": org,
                "addressed_to": authority,
                "status": "filed",
                "filed_on": dt.date.today().isoformat(),
                "channel": "email",
                "summary": "Filed by bench/load.py.",
                "requests-TOTAL_FORMS": "0",
                "requests-INITIAL_FORMS": "0",
                "requests-MIN_NUM_FORMS": "0",
                "requests-MAX_NUM_FORMS": "30",
            }
        )
        ids = (first, last)
        warm = argparse.Namespace(**{**vars(args), "duration": 3})
        wrk(base, sessions, FLOOR, ids, args=warm)  # warm-up, not counted
        wrk(base, sessions, "/cases/{case}/", ids, args=warm)
        endpoints = [
            ("Case page (GET /cases/&lt;id&gt;/, random case)", "/cases/{case}/", "", 200),
            ("Case list (GET /cases/)", "/cases/", "", 200),
        ]
        if args.post:
            endpoints.append(
                (
                    "Petition form (POST /cases/&lt;id&gt;/petitions/new/)",
                    "/cases/{case}/petitions/new/",
                    body,
                    302,
                )
            )
        results = []
        for label, path, form, expected in endpoints:
            log(f"Measuring {label} beside the floor ... (load average {load_average()})")
            # A form's CSRF token belongs to one session: a POST is sent as the first user only.
            users = sessions[:1] if form else sessions
            floor = wrk(base, users, FLOOR, ids, args=args)
            result = wrk(base, users, path, ids, body=form, args=args)
            for measured, status in ((floor, 200), (result, expected)):
                wrong = sum(n for k, n in measured["statuses"].items() if int(k) != status)
                measured["errors"] = measured["socket_errors"] + wrong
            results.append((label, floor, result))
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def report(results, args, url: str, loads: tuple[str, str]) -> str:
    import django
    from django.db import connection

    from cases.models import Case, TimelineEntry

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    lines = [
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPU cores "
        f"shared by wrk, gunicorn (2 sync workers), PostgreSQL {pg.split()[0]} and whatever "
        f"else the machine was doing (load average before {loads[0]}, after {loads[1]}); "
        f"Django {django.get_version()}, Python {sys.version.split()[0]}. Data: "
        f"{Case.objects.count():,} cases, {history_rows():,} history rows, "
        f"{TimelineEntry.objects.count():,} timeline entries. wrk: {args.threads} thread, "
        f"{args.connections} connections, {args.duration} s per measurement, on 127.0.0.1, "
        f"{args.users} signed-in editors.",
        "",
        "| Endpoint | req/s | p50 ms | p95 ms | p99 ms | errors | floor req/s | floor p95 ms "
        "| req/s ÷ floor's |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, floor, result in results:
        lines.append(
            f"| {label} | {result['rps']:.1f} | {result['p50_us'] / 1000:.0f} | "
            f"{result['p95_us'] / 1000:.0f} | {result['p99_us'] / 1000:.0f} | "
            f"{result['errors']} | {floor['rps']:.1f} | {floor['p95_us'] / 1000:.0f} | "
            f"{result['rps'] / floor['rps']:.2f} |"
        )
    label, _, case_page = results[0]
    met = (
        case_page["rps"] >= GOAL_RPS
        and case_page["p95_us"] <= GOAL_P95_MS * 1000
        and not any(r["errors"] or f["errors"] for _, f, r in results)
    )
    lines += [
        "",
        f"Goal (issue 14): case page ≥ {GOAL_RPS} req/s, p95 ≤ {GOAL_P95_MS} ms, 0 errors: "
        + ("**met**." if met else "**not met**."),
        "",
        "Commands (one pair per row, the floor first):",
        "",
        "```sh",
    ]
    for _, floor, result in results:
        lines += [floor["command"], result["command"]]
    lines.append("```")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--users", type=int, default=4, help="signed-in editors sending requests")
    parser.add_argument(
        "--post", action="store_true", help="also file petitions (writes to the bench database)"
    )
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    ensure_database(url, recreate=args.reseed)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    from cases.models import Case

    call_command("migrate", verbosity=0)
    if not Case.objects.exists():
        log(f"Seeding {args.cases:,} cases and {args.cases * 100:,} history rows ...")
        started = time.monotonic()
        seed(args.cases)
        log(f"Seeded in {time.monotonic() - started:.0f} s.")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have by now
    elif Case.objects.count() != args.cases:
        sys.exit(f"The database holds another data set; run with --reseed ({url}).")
    log(f"{Case.objects.count():,} cases, {history_rows():,} history rows.")
    if args.seed_only:
        return
    before = load_average()
    results = measure(url, args)
    print(report(results, args, url, (before, load_average())))
    if any(r["errors"] or f["errors"] for _, f, r in results):
        sys.exit("Errors during the run (see the table); server log kept in the temp directory.")


if __name__ == "__main__":
    main()
