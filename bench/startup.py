"""Start-up: from a new process to the WSGI application ready, and to its first case page.

    .venv/bin/python bench/startup.py             # needs bench/load.py's database (seeded once)
    .venv/bin/python bench/startup.py --importtime   # also the slowest imports (-X importtime)

A gunicorn worker that is recycled (max_requests) or started goes through exactly this: a new
Python process imports advocacy.wsgi (Django set up, every app loaded, the URLconf not yet),
then serves its first request, which imports the views, loads templates and opens the
database connection. Each run starts a fresh interpreter with the production environment of
bench/load.py (DEBUG off, PostgreSQL), signed in as the load benchmark's editor, and asks for
the page of a random case through the WSGI application itself (no server in between).
Medians of --runs runs; the process start is taken before the interpreter is launched.
Each run also forks a process that has loaded the application and times the fork's first case
page: what a worker started or recycled by gunicorn --preload (docker-compose.yml) goes through.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import io, json, sys, time
started = float(sys.argv[1])
import advocacy.wsgi
ready = time.time()
ready_cpu = time.process_time()
modules_ready = sorted(sys.modules)

def get(path):
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "HTTP_COOKIE": sys.argv[2],
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1",
    }
    statuses = []
    body = b"".join(advocacy.wsgi.application(environ, lambda s, h, e=None: statuses.append(s)))
    assert statuses[0].startswith("200"), (path, statuses, body[:300])
    return len(body)

if sys.argv[5] == "fork":
    # As gunicorn --preload: the worker is a fork of a process that loaded the application.
    import os
    forked = time.time()
    pid = os.fork()
    if pid == 0:
        get(sys.argv[3])
        print(json.dumps({"forked_first": time.time() - forked}), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    sys.exit(0)

size = get(sys.argv[3])
first = time.time()
first_cpu = time.process_time()
get(sys.argv[4])
second = time.time()
heavy = ("celery", "icalendar", "weasyprint", "rest_framework", "drf_spectacular", "qrcode",
         "kombu", "redis", "markdown", "PIL", "fontTools", "openpyxl", "docx")
print(json.dumps({
    "ready": ready - started, "first": first - started, "first_request": first - ready,
    "second_request": second - first, "bytes": size,
    "ready_cpu": ready_cpu, "first_cpu": first_cpu,
    "loaded_at_ready": sorted({m.split(".")[0] for m in modules_ready if m.split(".")[0] in heavy}),
    "loaded_after_page": sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy}),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument(
        "--compare", type=Path, help="another checkout, run interleaved with this one (e.g. main)"
    )
    args = parser.parse_args()

    from load import DEFAULT_URL, USERNAME, server_env, setup_django

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from cases.models import Case

    ids = list(Case.objects.values_list("pk", flat=True))
    if not ids:
        sys.exit("No cases: seed them first (.venv/bin/python bench/load.py --seed-only).")
    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    env = {**os.environ, **server_env(url, 80, Path(tempfile.mkdtemp(prefix="bench-startup-")))}
    env.update(STATIC_MANIFEST="0", LOG_LEVEL="WARNING", ALLOWED_HOSTS="127.0.0.1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = "advocacy.settings"
    rng = random.Random(1)  # noqa: S311
    checkouts = [ROOT] + ([args.compare] if args.compare else [])
    runs: dict[Path, list[dict]] = {code: [] for code in checkouts}
    for _ in range(args.runs):
        for code in checkouts:  # interleaved, so that the machine's load hits both alike
            pages = [f"/cases/{n}/" for n in rng.sample(ids, 2)]
            result = {}
            for mode in ("fresh", "fork"):
                started = time.time()
                out = subprocess.run(  # noqa: S603
                    [sys.executable, "-c", CHILD, repr(started), cookie, *pages, mode],
                    cwd=code,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode:
                    sys.exit(out.stderr[-3000:])
                result.update(json.loads(out.stdout.strip().splitlines()[-1]))
            runs[code].append(result)
    print(f"Load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())} (1, 5, 15 minutes)")
    for code, results in runs.items():
        med = {
            k: statistics.median(r[k] for r in results) * 1000
            for k in (
                "ready",
                "first",
                "first_request",
                "second_request",
                "ready_cpu",
                "first_cpu",
                "forked_first",
            )
        }
        print(
            f"{code}: {args.runs} fresh processes, medians: application ready "
            f"{med['ready']:.0f} ms ({med['ready_cpu']:.0f} ms CPU); first case page answered "
            f"{med['first']:.0f} ms after the process started ({med['first_cpu']:.0f} ms CPU; "
            f"the request itself {med['first_request']:.0f} ms); the next case page "
            f"{med['second_request']:.0f} ms."
        )
        print(
            f"  a worker forked from a process that loaded the application (gunicorn --preload):"
            f" first case page {med['forked_first']:.0f} ms after the fork"
        )
        print(f"  heavy packages loaded when ready: {results[-1]['loaded_at_ready']}")
        print(f"  ... and after the first case page: {results[-1]['loaded_after_page']}")
    if args.importtime:
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import advocacy.wsgi"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows = []
        for line in out.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "cumulative" not in line:
                _, cumulative, name = line.split("|")
                if name.strip().count(".") == 0 or name.startswith(" " * 2) is False:
                    rows.append((int(cumulative), name.strip(), len(name) - len(name.lstrip())))
        top = [r for r in rows if r[2] <= 3]
        print("Top-level imports by cumulative time (-X importtime, µs):")
        for cumulative, name, _ in sorted(top, reverse=True)[:15]:
            print(f"  {cumulative:>9,}  {name}")


if __name__ == "__main__":
    main()
