"""The load run's request, in-process: a random case page among the load database's cases,
each the first view of that case in the session and in the process, beside the floor.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_load \\
        .venv/bin/python bench/cold_page.py [--requests 200]

Uses the database bench/load.py seeded (run it with --seed-only first) and its editor. Every
case page is interleaved with a floor request (bench/floor_urls.py), so that noise from a
shared machine hits both alike; prints the medians, their ratio and the page's p95 (the
queries are bench/timeline.py's "cold" column). Unlike bench/load.py (gunicorn, wrk), the
ratio moves less with what else the machine does.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import signed_in_client  # noqa: E402  (sets the environment first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/advocacy_bench_load"
    )
    import django
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.floor_urls"
    django.setup()
    from django.contrib.auth import get_user_model

    from cases.models import Case

    user = get_user_model().objects.get(username="bench-editor")
    ids = list(Case.objects.values_list("pk", flat=True))
    rng = random.Random(os.getpid())  # noqa: S311 (bench sampling)
    rng.shuffle(ids)
    client = signed_in_client(user)
    for _ in range(5):
        client.get("/bench/floor/")
        client.get(f"/cases/{ids.pop()}/")
    page, floor = [], []
    for _ in range(args.requests):
        started = time.perf_counter()
        client.get("/bench/floor/")
        floor.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        response = client.get(f"/cases/{ids.pop()}/")
        page.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"case page answered {response.status_code}")
    p, f = statistics.median(page), statistics.median(floor)
    print(
        f"{args.requests} cold case pages: median {p:.1f} ms, floor {f:.2f} ms, "
        f"ratio {p / f:.1f}x; p95 {sorted(page)[int(len(page) * 0.95)]:.1f} ms"
    )


if __name__ == "__main__":
    main()
