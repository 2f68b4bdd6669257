"""Benchmark: a dispatch sweep over 1,000,000 pending reminders (none due) and 1,000,000 sent
ones, against a sweep over an empty outbox.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_rem \\
    .venv/bin/python bench/reminders_sweep.py

Goal (issue 14; issue 4 had 2x and no sent rows): the sweep with a million rows planned for
later and a million already sent takes at most 1.2 times as long as the sweep over an empty
outbox. The partial index ``reminder_due_idx`` (pending rows by next_attempt_at) answers "what
is due now?" without reading the rows planned for later, and sent rows have no due time any
more (``next_attempt_at`` is cleared when a row is finished), so the planner's estimate of
"due now" stays near zero instead of half the table. The rows are loaded with SQL
(generate_series) as the product writes them, then ANALYZEd; the query plans are printed and
the run fails if one of them is parallel. The database named in DATABASE_URL is FLUSHED:
never point it at real data.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef-0123456789abcdef")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # nothing is enqueued anywhere
os.environ.setdefault("LOG_LEVEL", "WARNING")

from reminders_delivery import ensure_database  # noqa: E402

INSERT = """
INSERT INTO cases_reminder (
    created_at, updated_at, deadline_id, recipient_id, kind, point_on, days_before, about_id,
    digest, scheduled_for, next_attempt_at, status, attempts, last_error, cancelled_reason,
    claimed_at, lease_expires_at, claim_token, sent_at, message_id, claimed_by, failure_cause
)
SELECT now(), now(), d.ids[1 + (g %% d.n)::integer], %(user)s, 'reminder',
       DATE '2030-01-01' + (g / d.n)::integer, 1, NULL, g %% 10 = 0,
       now() + interval '1 day' + g * interval '1 second',
       now() + interval '1 day' + g * interval '1 second',
       'pending', 0, '', '', NULL, NULL, NULL, NULL, '<bench.' || g || '@bench.invalid>', '', ''
FROM generate_series(%(start)s, %(stop)s - 1) AS g,
     (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM cases_deadline) AS d
"""

# Reminders sent over the past years, one reminder point a day per deadline, as the dispatcher
# leaves them: status "sent", sent_at set, and the due time as the code under test leaves it
# (%(due)s: cleared since issue 14, the scheduled time before).
INSERT_SENT = """
INSERT INTO cases_reminder (
    created_at, updated_at, deadline_id, recipient_id, kind, point_on, days_before, about_id,
    digest, scheduled_for, next_attempt_at, status, attempts, last_error, cancelled_reason,
    claimed_at, lease_expires_at, claim_token, sent_at, message_id, claimed_by, failure_cause
)
SELECT s.at, s.at, d.ids[1 + (g %% d.n)::integer], %(user)s, 'reminder',
       DATE '2029-12-31' - (g / d.n)::integer, 1, NULL, g %% 10 = 0,
       s.at, CASE WHEN %(clear)s THEN NULL ELSE s.at END,
       'sent', 1, '', '', s.at, NULL, NULL, s.at, '<bench.sent.' || g || '@bench.invalid>', '', ''
FROM generate_series(%(start)s, %(stop)s - 1) AS g
     CROSS JOIN LATERAL (SELECT now() - interval '1 hour' - g * interval '30 second' AS at) AS s,
     (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM cases_deadline) AS d
"""


def setup(deadlines: int):
    import django
    from django.core.management import call_command

    django.setup()
    from cases.models import DeadlineKind, Reminder
    from cases.services import deadline_create
    from tests import factories

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    org = factories.OrganizationFactory(name="Bench organization")
    user = factories.member(org, "coordinator", username="bench-coordinator")
    case = factories.make_case(lead_organization=org, by=user, title="Bench case")
    for number in range(deadlines):
        deadline_create(
            case=case,
            by=user,
            kind=DeadlineKind.OTHER,
            title=f"Bench deadline {number}",
            due_on=dt.date(2045, 1, 1),  # far ahead, within the plausible years
            reminder_days=[],
        )
    Reminder.objects.all().delete()
    return user


def sweeps(count: int, warm_up: int = 10) -> list[float]:
    from cases.services.reminders import reminders_dispatch

    for _ in range(warm_up):  # connection, caches, plans
        reminders_dispatch()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        result = reminders_dispatch()
        timings.append((time.perf_counter() - started) * 1000)
        assert result.sent == 0 and result.recovered == 0, result
    return timings


def swap() -> None:
    """Exchange the outbox with its twin (one transaction: no sweep sees neither)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE cases_reminder RENAME TO bench_reminder_swap")
        cursor.execute("ALTER TABLE bench_reminder_empty RENAME TO cases_reminder")
        cursor.execute("ALTER TABLE bench_reminder_swap RENAME TO bench_reminder_empty")


def summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p90 = ordered[int(len(ordered) * 0.9)]
    return (
        f"{name:<28} median {statistics.median(timings):6.2f} ms   p90 {p90:6.2f} ms   "
        f"mean {statistics.mean(timings):6.2f} ms   ({len(timings)} sweeps)"
    )


def plans() -> list[str]:
    """Print the plan of each statement of a round; return the names of those run in parallel
    (what a misestimate of the due rows led to before issue 14)."""
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from cases.selectors import reminders as selectors

    now = timezone.now()
    with transaction.atomic():
        claim = (
            selectors.reminders_due(now=now)
            .filter(Q(digest=False))
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:100]
        )
        queries = {
            "claim (reminders_due)": claim,
            "digest readers due": selectors.digest_recipients_due(now=now),
            "expired leases": selectors.reminders_with_expired_lease(now=now).values_list("pk"),
            "failure reports due": selectors.failure_report_recipients_due(now=now),
            "gave up on an unreachable server": (
                selectors.reminders_given_up_unreachable().values_list("pk")
            ),
        }
        parallel = []
        for name, queryset in queries.items():
            plan = queryset.explain(analyze=True, buffers=True)
            print(f"\n-- {name}\n{plan}")
            if "Gather" in plan or "Parallel" in plan:
                parallel.append(name)
    return parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="pending, none due")
    parser.add_argument("--sent", type=int, default=1_000_000, help="sent in the past")
    parser.add_argument("--deadlines", type=int, default=100)
    parser.add_argument("--sweeps", type=int, default=300)
    args = parser.parse_args()
    ensure_database(os.environ.get("DATABASE_URL", ""))
    user = setup(args.deadlines)

    from django.db import connection

    from cases.models import Reminder

    started = time.monotonic()
    with connection.cursor() as cursor:
        for start in range(0, args.rows, 100_000):
            stop = min(start + 100_000, args.rows)
            cursor.execute(INSERT, {"user": user.pk, "start": start, "stop": stop})
        clear = Reminder._meta.get_field("next_attempt_at").null
        for start in range(0, args.sent, 100_000):
            stop = min(start + 100_000, args.sent)
            cursor.execute(
                INSERT_SENT, {"user": user.pk, "start": start, "stop": stop, "clear": clear}
            )
        cursor.execute("ANALYZE cases_reminder")
    pending = Reminder.objects.filter(status="pending").count()
    sent = Reminder.objects.filter(status="sent").count()
    print(
        f"inserted {pending:,} pending and {sent:,} sent reminders "
        f"(due time of sent rows {'cleared' if clear else 'kept'}) "
        f"in {time.monotonic() - started:.0f} s"
    )
    # The machine is shared and its load drifts: the two outboxes are swept in turns, in
    # blocks, under the same load. The empty outbox is a twin table with the same indexes and
    # constraints, swapped in by renaming (the sweep's statements name cases_reminder).
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_reminder_empty")
        cursor.execute("CREATE TABLE bench_reminder_empty (LIKE cases_reminder INCLUDING ALL)")
        cursor.execute("ANALYZE bench_reminder_empty")
    empty, full = [], []
    blocks = max(1, args.sweeps // 30)
    for _block in range(blocks):
        full += sweeps(args.sweeps // blocks, warm_up=3)
        swap()
        empty += sweeps(args.sweeps // blocks, warm_up=3)
        swap()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_reminder_empty")

    print(summary("empty outbox", empty))
    print(summary(f"{pending:,} pending + {sent:,} sent", full))
    ratio = statistics.median(full) / statistics.median(empty)
    print(f"ratio (median): {ratio:.2f}x  (goal: at most 1.2x; swept in turns, {blocks} blocks)")
    print(f"machine load average:  {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    parallel = plans()
    if parallel:
        sys.exit(f"parallel plans (a misestimate of the due rows): {', '.join(parallel)}")


if __name__ == "__main__":
    main()
