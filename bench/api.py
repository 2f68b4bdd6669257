"""Benchmark: the API's timeline and case search, with a personal access token.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_api \\
        .venv/bin/python bench/api.py

Targets (API issue): ``GET /api/v1/cases/<id>/timeline/`` of a case with 10,000 entries runs
a constant number of queries and takes at most 2x the web case page's cached time; the list
of 10,000 cases with a search takes at most 3x the trivial API call.

The database named in DATABASE_URL is DROPPED and recreated (its name must contain "bench").
It holds the search benchmark's 10,000 cases (bench/search.py) and the timeline benchmark's
cases of 10 to 10,000 entries (bench/timeline.py), built the same way. API requests carry a
token of an editor of every lead organization (each request also counts against the token's
rate limit: one UPDATE, as in production); web pages use the same user's session. The trivial
API call is ``GET /api/v1/authorities/?page_size=1`` (authentication, rate limit, one small
query and a JSON answer); the one-line signed-in web page (the floor every benchmark divides
by, bench/floor_urls.py) is measured beside it. Requests are interleaved round by round so
that all see the same load; figures are medians.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from urllib.parse import urlencode

from common import TRIVIAL_PAGES, analyze, fresh_database, table

os.environ["API_RATE_PER_MINUTE"] = "100000000"  # the benchmark measures, it does not limit
SIZES = (10, 100, 1_000, 10_000)


def medians(calls: dict, *, repeats: int, warmup: int) -> dict[str, float]:
    """``calls``: label -> (client, url, headers, expected status). Interleaved rounds."""
    for _ in range(warmup):
        for client, url, headers, _status in calls.values():
            client.get(url, **headers)
    samples = {label: [] for label in calls}
    for _ in range(repeats):
        for label, (client, url, headers, status) in calls.items():
            started = time.perf_counter()
            response = client.get(url, **headers)
            samples[label].append((time.perf_counter() - started) * 1000)
            if response.status_code != status:
                sys.exit(f"GET {url} answered {response.status_code}, not {status}")
    return {label: statistics.median(values) for label, values in samples.items()}


def queries(client, url: str, **headers) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}")
    return len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    name = fresh_database("advocacy_bench_api")
    import search
    import timeline
    from django.test import Client, override_settings
    from django.urls import reverse

    from cases.models import Case
    from cases.services.tokens import api_token_create

    started = time.perf_counter()
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        user = search.build()
        builder = timeline.Builder(year=2030)  # "bench-editor" again: an editor of its lead too
        assert builder.user == user
        cases = {n: builder.case(n) for n in SIZES}
    analyze()
    print(
        f"database {name}: {Case.objects.count():,} cases built in "
        f"{time.perf_counter() - started:.0f} s"
    )
    _token, raw = api_token_create(
        user=user, name="bench", scope="read", expires_on=dt.date.today() + dt.timedelta(days=9)
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    web = Client()
    web.force_login(user)
    trivial = reverse("api:authority-list") + "?page_size=1"
    trivial_queries = queries(api, trivial)

    # --- The timeline -----------------------------------------------------------------------
    rows = []
    counts = {}
    ratios = {}
    for n, case in cases.items():
        api_url = reverse("api:case-timeline", args=[case.pk])
        web_url = reverse("cases:case-detail", args=[case.pk])
        web.get(web_url)  # the case page's parts cached, as for a case seen again
        counts[n] = queries(api, api_url)
        etag = api.get(api_url)["ETag"]
        times = medians(
            {
                "api": (api, api_url, {}, 200),
                "api 304": (api, api_url, {"HTTP_IF_NONE_MATCH": etag}, 304),
                "web cached": (web, web_url, {}, 200),
                "trivial": (api, trivial, {}, 200),
                "floor": (web, TRIVIAL_PAGES["floor"], {}, 200),
            },
            repeats=args.repeats,
            warmup=args.warmup,
        )
        ratios[n] = times["api"] / times["web cached"]
        rows.append(
            [
                f"{n:,}",
                str(counts[n]),
                f"{times['api']:.1f}",
                f"{times['api 304']:.1f}",
                f"{times['web cached']:.1f}",
                f"{times['trivial']:.1f}",
                f"{ratios[n]:.2f}x",
                f"{times['api'] / times['trivial']:.2f}x",
                f"{times['floor']:.1f}",
                f"{times['api'] / times['floor']:.2f}x",
            ]
        )
    print(f"\nTimeline, first page of 50; trivial API call: {trivial_queries} queries.")
    print(f"Median of {args.repeats} rounds after {args.warmup} warm-up rounds.\n")
    print(
        table(
            rows,
            [
                "entries",
                "API queries",
                "API timeline ms",
                "API 304 ms",
                "web case page cached ms",
                "trivial API ms",
                "API vs web cached",
                "API vs trivial API",
                "floor ms",
                "API vs floor",
            ],
        )
    )
    constant = len(set(counts.values())) == 1
    print(f"\nqueries constant: {'yes' if constant else 'NO'} {sorted(counts.items())}")
    print(f"at 10,000 entries: {ratios[10_000]:.2f}x the web page cached (target 2x)")

    # --- The case list with a search --------------------------------------------------------
    rows = []
    list_url = reverse("api:case-list")
    searches = {"no search": list_url}
    searches.update(
        {
            f"search: {label}": f"{list_url}?{urlencode({'q': text})}"
            for label, text in search.SEARCHES.items()
        }
    )
    for label, url in searches.items():
        count = api.get(url).json()["count"]
        n_queries = queries(api, url)
        times = medians(
            {
                "list": (api, url, {}, 200),
                "trivial": (api, trivial, {}, 200),
                "floor": (web, TRIVIAL_PAGES["floor"], {}, 200),
            },
            repeats=args.repeats,
            warmup=args.warmup,
        )
        rows.append(
            [
                label,
                f"{count:,}",
                str(n_queries),
                f"{times['list']:.1f}",
                f"{times['trivial']:.1f}",
                f"{times['list'] / times['trivial']:.2f}x",
                f"{times['floor']:.1f}",
                f"{times['list'] / times['floor']:.2f}x",
            ]
        )
    print(f"\nCase list over {Case.objects.count():,} cases (50 a page), same token.\n")
    print(
        table(
            rows,
            [
                "request",
                "cases found",
                "queries",
                "API ms",
                "trivial API ms",
                "vs trivial",
                "floor ms",
                "vs floor",
            ],
        )
    )


if __name__ == "__main__":
    main()
