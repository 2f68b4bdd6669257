"""The production processes, for real: what docker-compose.yml runs, without Docker.

gunicorn (2 workers), a Celery worker and Celery beat are started with the commands of
docker-compose.yml and the settings of .env.example, against a fresh PostgreSQL database, the
local Redis and an SMTP server on loopback. Over HTTP, an editor signs in, files a petition
and sets a follow-up deadline whose reminder is due at once; the reminder must reach the SMTP
server, naming the case by its reference and nobody by name. The processes' logs must say what
happened without the password or the name.
"""

import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.smtp import SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Named after the database in DATABASE_URL, so that two checkouts can run these side by side.
DATABASE = (
    urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "")).path.strip("/") or "advocacy"
) + "_system"
PASSWORD = "system test passphrase 7c1e"
LEGAL_NAME = "Ri Sysnamemarker"
PRISONER_CODE = "POW-SYS-1"

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


# --- The installation ------------------------------------------------------------------------
def compose_command(service: str) -> list[str]:
    return list(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["command"]
    )


def example_settings() -> dict[str, str]:
    """The values an installation starts from: the set lines of .env.example."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match[1]] = match[2]
    return values


def database_urls() -> tuple[str, str]:
    """(the server's URL for the tests, the same server's URL for the system database)."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urllib.parse.urlsplit(url)
    return url, urllib.parse.urlunsplit(parts._replace(path=f"/{DATABASE}"))


def recreate_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def separate_redis_db(redis_url: str) -> str:
    """Another database number on the same Redis, emptied: nothing shared with other tests."""
    import redis

    parts = urllib.parse.urlsplit(redis_url)
    number = int(parts.path.strip("/") or 0)
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{(number - 1) % 16}"))
    redis.Redis.from_url(url).flushdb()
    return url


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}"
    return result.stdout


SETUP = f"""
import json
from django.contrib.auth import get_user_model
from cases import services
from cases.models import Authority, Membership, Organization
user = get_user_model().objects.create_user("editor", "editor@example.org", {PASSWORD!r})
org = Organization.objects.create(name="Lead Organization", kind=Organization.Kind.NGO)
Membership.objects.create(user=user, organization=org, role=Membership.Role.EDITOR)
authority = Authority.objects.create(
    name="Coordination Headquarters", kind=Authority.Kind.GOVERNMENT_BODY, country="Ukraine"
)
prisoner = services.prisoner_create(
    by=user, owner=org, code={PRISONER_CODE!r}, legal_name={LEGAL_NAME!r}
)
case = services.case_create(
    by=user, title="System test case", lead_organization=org, prisoners=[prisoner]
)
print(json.dumps({{
    "user": user.pk, "organization": org.pk, "authority": authority.pk,
    "case": case.pk, "reference": case.reference,
}}))
"""


# --- Processes -------------------------------------------------------------------------------
class Processes:
    def __init__(self, env: dict, logs: Path):
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]) -> None:
        program = shutil.which(command[0], path=str(BIN)) or command[0]
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.running[name] = subprocess.Popen(  # noqa: S603
            [program, *command[1:]],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with all its children
        )
        log.close()

    def alive(self) -> None:
        for name, process in self.running.items():
            assert process.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.running.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_for(condition, *, timeout: float, every: float = 0.5, alive=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive:
            alive()
        result = condition()
        if result:
            return result
        time.sleep(every)
    return None


# --- A browser, in a few lines ---------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | list | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def form_token(self, path: str) -> str:
        status, _, page = self.request(path)
        assert status == 200, f"GET {path} answered {status}"
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        fields = {"csrfmiddlewaretoken": self.form_token(path), **fields}
        return self.request(path, fields)


def form_errors(page: str) -> str:
    return " | ".join(re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S))[:2000]


# --- The test --------------------------------------------------------------------------------
def test_gunicorn_worker_and_beat_deliver_a_reminder_filed_over_http(tmp_path, redis_url):
    admin_url, system_url = database_urls()
    recreate_database(admin_url)
    web_port = free_port()
    (tmp_path / "logs").mkdir()
    sink = SmtpSink()
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": "C.UTF-8",
        **example_settings(),
        # What the Dockerfile sets in the image.
        "PYTHONUNBUFFERED": "1",
        "STATIC_MANIFEST": "1",
        # What this machine is instead of the compose services.
        "SECRET_KEY": "system-test-secret-key-0123456789abcdef-0123456789abcdef",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": system_url,
        "CELERY_BROKER_URL": separate_redis_db(redis_url),
        "DATA_DIR": str(tmp_path / "data"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "5",
    }
    assert env["LOG_FORMAT"] == "json" and env["NAMES_IN_NOTIFICATIONS"] == "0"
    processes = Processes(env, tmp_path / "logs")
    try:
        # What docs/operations.md says to run, and what the image's build runs.
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        world = json.loads(
            manage(env, "shell", "--no-imports", "-c", SETUP).strip().splitlines()[-1]
        )
        sink.__enter__()

        web = compose_command("web")
        web[web.index("--bind") + 1] = f"127.0.0.1:{web_port}"
        processes.start("web", web)
        processes.start("worker", compose_command("worker"))
        processes.start("beat", compose_command("beat"))

        browser = Browser(f"http://127.0.0.1:{web_port}")
        assert wait_for(
            lambda: (
                browser.request("/accounts/login/")[0] == 200 if _listening(web_port) else False
            ),
            timeout=60,
            alive=processes.alive,
        ), f"gunicorn did not answer:\n{processes.log('web')[-3000:]}"

        # Sign in.
        status, location, _ = browser.submit(
            "/accounts/login/", {"username": "editor", "password": PASSWORD}
        )
        assert status == 302 and "/accounts/login/" not in location, "sign-in failed"
        status, _, page = browser.request("/")
        assert status == 200

        # A static file from the manifest, served by whitenoise inside gunicorn.
        css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
        assert css, "pages link static files by their hashed names"
        assert browser.request(css[1])[0] == 200

        # File a petition through the web form.
        case = world["case"]
        today = dt.date.today()
        status, location, page = browser.submit(
            f"/cases/{case}/petitions/new/",
            {
                "title": "Non-refoulement petition",
                "reference": "SYS-PET-1",
                "filed_by": [world["organization"]],
                "addressed_to": world["authority"],
                "status": "filed",
                "filed_on": today.isoformat(),
                "channel": "email",
                "summary": "Asks that he not be returned.",
                "requests-TOTAL_FORMS": "1",
                "requests-INITIAL_FORMS": "0",
                "requests-MIN_NUM_FORMS": "0",
                "requests-MAX_NUM_FORMS": "30",
                "requests-0-kind": "non_refoulement",
                "requests-0-text": "Do not return him against his will.",
                "requests-0-outcome": "pending",
            },
        )
        assert status == 302, f"petition form refused: {form_errors(page)}"
        petition = int(re.search(r"/petitions/(\d+)/", location)[1])

        # A follow-up visit in two days, reminded three days before: that point has passed, so
        # the reminder is due now.
        status, location, page = browser.submit(
            f"/cases/{case}/deadlines/new/?petition={petition}",
            {
                "kind": "follow_up_visit",
                "title": "Follow-up visit",
                "petition": petition,
                "due_on": (today + dt.timedelta(days=2)).isoformat(),
                "due_precision": "day",
                "assignees": [world["user"]],
                "reminder_days": "3",
            },
        )
        assert status == 302, f"deadline form refused: {form_errors(page)}"

        assert wait_for(lambda: sink.messages, timeout=90, alive=processes.alive), (
            "no reminder reached the SMTP server:\n" + processes.log("worker")[-3000:]
        )
        [email] = sink.messages
        body = "\n".join(
            part.get_content()
            for part in email.walk()
            if part.get_content_type() in {"text/plain", "text/html"}
        )
        assert email["To"] == "editor@example.org"
        assert world["reference"] in email["Subject"]
        assert world["reference"] in body
        assert LEGAL_NAME not in email.as_string() and LEGAL_NAME.split()[1] not in body

        # /healthz turns ok once beat's heartbeat went through a worker (every 30 s).
        assert wait_for(
            lambda: browser.request("/healthz")[0] == 200,
            timeout=75,
            every=2,
            alive=processes.alive,
        ), "healthz: " + browser.request("/healthz")[2]
        status, _, answer = browser.request("/healthz")
        assert json.loads(answer) == {
            "status": "ok",
            "checks": {"database": "ok", "broker": "ok", "beat": "ok"},
        }

        # One JSON line per request, with the user's id and no secrets or names.
        requests = [
            line
            for line in map(_json_or_none, processes.log("web").splitlines())
            if line and line.get("logger") == "advocacy.request"
        ]
        posts = [r for r in requests if r["method"] == "POST"]
        assert {(r["path"], r["status"]) for r in posts} >= {
            ("/accounts/login/", 302),
            (f"/cases/{case}/petitions/new/", 302),
            (f"/cases/{case}/deadlines/new/", 302),
        }
        assert all(r["user_id"] == world["user"] for r in posts if r["path"] != "/accounts/login/")
        assert all("?" not in r["path"] and r["duration_ms"] >= 0 for r in requests)
        tasks = [
            line
            for line in map(_json_or_none, processes.log("worker").splitlines())
            if line and line.get("task")
        ]
        assert {"task": "cases.dispatch_due_reminders", "outcome": "succeeded"}.items() <= next(
            t for t in tasks if t["task"] == "cases.dispatch_due_reminders"
        ).items()
        for name in ("web", "worker", "beat"):
            text = processes.log(name)
            assert PASSWORD not in text and LEGAL_NAME not in text, f"{name} logged a secret"
    finally:
        processes.stop()
        sink.__exit__(None, None, None)
        drop_database(admin_url)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _json_or_none(line: str):
    if not line.startswith("{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None
