"""One side of bench/peer_helpdesk.py: seeds its database, signs in, then times requests.

    python bench/peer/serve.py ours|helpdesk --cases N --entries 10,100,1000

Run by bench/peer_helpdesk.py, once with this project's venv ("ours") and once with the peer
venv ("helpdesk"). It prints one JSON line {"urls": {...}} when ready, then answers each line
it reads on stdin ({"url": ..., "clear_cache": bool}) with one line {"ms", "queries",
"status", "bytes"}: the server time of one in-process request (Django's test client), so that
the parent can interleave the two systems request by request.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def seed_ours(cases: int, entries: list[int]) -> tuple[object, dict[str, str]]:
    sys.path.insert(0, str(HERE.parent))  # bench/: common, search, timeline
    import search
    from common import analyze, fresh_database
    from django.test import override_settings

    search.CASES = cases
    fresh_database("advocacy_bench_peer")
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        user = search.build()
        from timeline import Builder

        builder = Builder(year=2019)
        pages = {n: builder.case(n) for n in entries}
    analyze()
    urls = {"floor": "/bench/floor/", "list": "/cases/"}
    urls.update({f"page {n}": f"/cases/{case.pk}/" for n, case in pages.items()})
    return user, urls


def seed_helpdesk(cases: int, entries: list[int]) -> tuple[object, dict[str, str]]:
    import django

    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk_site.settings"
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from helpdesk.models import FollowUp, Queue, Ticket

    call_command("flush", "--no-input", verbosity=0)
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench-staff", password="x" * 20, is_staff=True)
    queue = Queue.objects.create(title="Detentions", slug="detentions")
    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        (
            Ticket(
                title=f"Detained at checkpoint {n}",
                queue=queue,
                status=Ticket.OPEN_STATUS,
                priority=3,
                submitter_email=f"relative{n}@example.org",
                description="Reported by relatives; last contact through a released detainee.",
            )
            for n in range(cases)
        ),
        batch_size=2000,
    )
    pages = {}
    for k, n in enumerate(entries):
        ticket = tickets[k]
        # The first follow-up opens the ticket, as the helpdesk's own create does.
        FollowUp.objects.bulk_create(
            (
                FollowUp(
                    ticket=ticket,
                    date=now - dt.timedelta(minutes=n - i),
                    title="Ticket Opened" if i == 0 else "Comment",
                    comment=f"Visit {i}: met the person with a lawyer.",
                    public=True,
                    user=user,
                )
                for i in range(n)
            ),
            batch_size=2000,
        )
        pages[n] = ticket
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    from helpdesk.query import query_to_base64

    query = query_to_base64(
        {
            "filtering": {"status__in": [1, 2]},
            "sorting": "created",
            "search_string": "",
            "sortreverse": False,
        }
    )
    urls = {
        "floor": "/bench/floor/",
        "list": "/tickets/",
        "list rows": f"/datatables_ticket_list/{query}?draw=1&start=0&length=50",
    }
    urls.update({f"page {n}": f"/tickets/{ticket.pk}/" for n, ticket in pages.items()})
    return user, urls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=["ours", "helpdesk"])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--entries", default="10,100,1000")
    args = parser.parse_args()
    entries = [int(n) for n in args.entries.split(",")]
    seed = seed_ours if args.side == "ours" else seed_helpdesk
    user, urls = seed(args.cases, entries)

    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    print(json.dumps({"urls": urls, "versions": versions()}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        if ask.get("calls"):
            # Python function calls of one request: a measure of work that load cannot skew.
            calls = [0]

            def count(frame, event, arg, calls=calls):
                if event in ("call", "c_call"):
                    calls[0] += 1

            sys.setprofile(count)
            client.get(ask["url"])
            sys.setprofile(None)
            print(json.dumps({"calls": calls[0], "status": 200}), flush=True)
            continue
        if ask.get("clear_cache"):
            cache.clear()
        # The previous request's queries are forgotten only when this one starts: forget them
        # first, or the count is off by them.
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(ask["url"])
            ms = (time.perf_counter() - started) * 1000
        answer = {
            "ms": ms,
            "queries": len(ctx.captured_queries),
            "status": response.status_code,
            "bytes": len(response.content),
        }
        print(json.dumps(answer), flush=True)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in ("django", "django-helpdesk"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


if __name__ == "__main__":
    main()
