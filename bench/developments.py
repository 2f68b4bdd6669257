"""Benchmark: one development applied to 500 deadlines on 200 cases (issue 17).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_developments \\
    .venv/bin/python bench/developments.py [--skip-plain] [--profile]

Goal: the move (deadline_move_apply: 500 deadlines, a history row each naming the development,
reminders re-planned, the summary emails queued) finishes in under 5 s, and each assignee gets
one email (deadline_move_notify, as the worker runs it). Beside it, in the same run: the undo,
and moving the same 500 deadlines one by one with the ordinary service (deadline_update), the
plainest way to do it, for the ratio. The database named in DATABASE_URL is DROPPED and
recreated (its name must contain "bench").
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # nothing is enqueued anywhere

from common import fresh_database

CASES = 200
DEADLINES = 500
ASSIGNEES = 8


def setup():
    from cases.models import DeadlineKind
    from cases.services import developments
    from tests import factories

    org = factories.OrganizationFactory(name="Bench coalition")
    coordinator = factories.member(org, "coordinator", username="bench-coordinator")
    people = [
        factories.member(org, "editor", username=f"bench-editor-{n}") for n in range(ASSIGNEES)
    ]
    today = dt.date.today()
    old_month = (today + dt.timedelta(days=150)).replace(day=1)
    development = developments.development_create(
        by=coordinator,
        owner=org,
        title="Prisoner exchange announced",
        kind="exchange_announced",
        happened_on=today,
    )
    cases = []
    for n in range(CASES):
        case = factories.make_case(lead_organization=org, by=coordinator, title=f"Case {n}")
        developments.development_link_case(development=development, case=case, by=coordinator)
        cases.append(case)
    for n in range(DEADLINES):
        factories.make_deadline(
            case=cases[n % CASES],
            by=coordinator,
            kind=DeadlineKind.EXCHANGE_WINDOW,
            title=f"Exchange window {n}",
            due_on=old_month,
            due_precision="month",
            assignees=[people[n % ASSIGNEES], people[(n + 3) % ASSIGNEES]],
        )
    return coordinator, development, old_month, people


def timed(label, call):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():
            result = call()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    captured = queries.captured_queries
    in_db = sum(float(q["time"]) for q in captured)
    print(
        f"{label:<52} {elapsed:6.2f} s wall {cpu:6.2f} s CPU (Python) "
        f"{in_db:6.2f} s in queries {len(captured):5d} queries"
    )
    if len(captured) < 100:
        for query in sorted(captured, key=lambda q: -float(q["time"]))[:4]:
            print(f"    {float(query['time']):6.2f} s  {query['sql'][:70]}")
    return result, elapsed


def main() -> None:
    fresh_database("advocacy_bench_developments")
    from django.conf import settings
    from django.core import mail

    from cases.models import Deadline, DeadlineKind
    from cases.services import deadline_update, developments

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    print(f"Load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"Setting up {CASES} cases, {DEADLINES} exchange windows, {ASSIGNEES} assignees ...")
    coordinator, development, old_month, people = setup()
    new_on = old_month - dt.timedelta(days=20)

    if "--profile" in sys.argv:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    move, apply_s = timed(
        f"deadline_move_apply ({DEADLINES} deadlines, {CASES} cases)",
        lambda: developments.deadline_move_apply(
            development=development,
            by=coordinator,
            kind=DeadlineKind.EXCHANGE_WINDOW,
            new_on=new_on,
            new_precision="day",
            reason="The exchange date was announced.",
        ),
    )
    if "--profile" in sys.argv:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    assert move.items.count() == DEADLINES
    assert Deadline.history.filter(history_change_reason__contains=development.title).count() == (
        DEADLINES
    )
    sent, _ = timed(
        "deadline_move_notify (the worker's summary emails)",
        lambda: developments.deadline_move_notify(move_id=move.pk),
    )
    recipients = sorted(m.to[0] for m in mail.outbox)
    print(f"  emails sent: {sent}; recipients: {len(set(recipients))}; assignees: {len(people)}")
    assert sent == len(people) == len(set(recipients)) == len(recipients)

    _undo, undo_s = timed(
        "deadline_move_undo",
        lambda: developments.deadline_move_undo(move=move, by=coordinator),
    )

    if "--skip-plain" in sys.argv:
        return
    deadlines = list(Deadline.objects.select_related("case").order_by("pk"))
    _none, rows_s = timed(
        f"the plainest way: deadline_update x {DEADLINES}",
        lambda: [
            deadline_update(deadline=d, by=coordinator, due_on=new_on, due_precision="day")
            for d in deadlines
        ],
    )
    print(f"Load average after: {os.getloadavg()[0]:.1f}")
    print(
        f"\nApply: {apply_s:.2f} s (goal: under 5 s) · undo {undo_s:.2f} s · "
        f"one by one {rows_s:.2f} s ({rows_s / apply_s:.1f}x the apply)"
    )


if __name__ == "__main__":
    main()
