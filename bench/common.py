"""Shared by bench/timeline.py and bench/search.py: a fresh database, timing, query plans.

Both benchmarks compare a page against trivial signed-in pages served in the same run, so
that the figures they report are ratios (and query counts), which stay meaningful on a noisy
shared machine where absolute milliseconds do not.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Production-like settings: DEBUG would keep every query in memory and change the template
# engine's behaviour; the key is a throwaway one.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef-0123456789abcdef")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("LOG_LEVEL", "WARNING")

# Trivial signed-in pages, measured beside the page under test: the floor (a one-line page
# behind the sign-in, bench/floor_urls.py, not a product URL), the settings page (a small
# form) and Django's password change form (the smallest product page behind the sign-in).
TRIVIAL_PAGES = {
    "floor": "/bench/floor/",
    "settings": "/settings/",
    "password change": "/accounts/password_change/",
}


def fresh_database(default_name: str, *, reuse: bool = False) -> str:
    """Drop and recreate the PostgreSQL database named in DATABASE_URL, then migrate it.

    With ``reuse``, a database that already exists is kept (and migrated) instead; see
    ``database_was_kept``. Only a database whose name contains "bench" is accepted, so a
    mistyped DATABASE_URL cannot wipe real data.
    """
    global _kept
    import psycopg

    url = os.environ.get("DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{default_name}"
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"} or "bench" not in name:
        sys.exit(
            "DATABASE_URL must point at a PostgreSQL database made for the benchmark "
            f"(its name containing 'bench'), e.g. postgres://postgres@127.0.0.1:5432/{default_name}"
        )
    os.environ["DATABASE_URL"] = url
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        _kept = bool(reuse and exists)
        if not _kept:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.ROOT_URLCONF = "bench.floor_urls"  # the product's URLs and the floor
    django.setup()
    call_command("migrate", verbosity=0)
    return name


_kept = False


def database_was_kept() -> bool:
    """Whether ``fresh_database(..., reuse=True)`` kept an existing database."""
    return _kept


def analyze() -> None:
    """Fresh statistics after bulk loading, as autovacuum would gather them in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def signed_in_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def count_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}")
    return len(ctx.captured_queries)


def median_times(
    client,
    urls: dict[str, str],
    *,
    repeats: int,
    warmup: int,
    prepare: dict[str, Callable[[], object]] | None = None,
) -> dict[str, float]:
    """Median server time (ms) of each page, requests interleaved so noise hits all alike.

    ``prepare[label]``, if given, runs (untimed) before every request of that page.
    """
    prepare = prepare or {}
    for _ in range(warmup):
        for label, url in urls.items():
            if label in prepare:
                prepare[label]()
            client.get(url)
    samples: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(repeats):
        for label, url in urls.items():
            if label in prepare:
                prepare[label]()
            started = time.perf_counter()
            response = client.get(url)
            samples[label].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"GET {url} answered {response.status_code}")
    return {label: statistics.median(values) for label, values in samples.items()}


def median_ms(run: Callable[[], object], *, repeats: int) -> float:
    """Median time (ms) of ``run()`` over ``repeats`` calls, after one warm-up call."""
    run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def explain_captured(run: Callable[[], object], pick: Callable[[str], bool]) -> list[str]:
    """Run ``run``, then EXPLAIN ANALYZE each captured query whose SQL ``pick`` accepts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        run()
    plans = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if not pick(sql):
            continue
        if "%s" in sql:
            # A statement prepared on the server (cases/selectors/compiled.py) is logged
            # with its placeholders, not its values: nothing to EXPLAIN as it stands.
            plans.append(f"(a prepared statement, logged without its values)\n{sql[:300]}")
            continue
        with connection.cursor() as cursor:
            # The SQL is Django's own, already captured with its parameters inlined.
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def jit_in(plan: str) -> bool:
    """Whether PostgreSQL compiled the query with JIT (EXPLAIN ANALYZE then shows "JIT:")."""
    return any(line.strip().startswith("JIT:") for line in plan.splitlines())


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(row) for row in rows]
    )
