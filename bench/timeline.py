"""Benchmark: the case page with a timeline of 10, 50, 1,000 and 10,000 entries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_timeline \\
        .venv/bin/python bench/timeline.py [--cache redis]

Targets (issue 14), each as a ratio to the one-line signed-in floor (bench/floor_urls.py)
measured in the same rounds: the case page seen again at most 2x the floor; the first view
after a change at most 3x. The number of SQL queries does not grow with the timeline.

Three ways of seeing the page: "seen again" (nothing changed since this process rendered
it), "after a change" (one event of the case renamed through its service before each
request: the case has a new version, its other entries are still cached one by one) and
"cold" (the cache emptied before each request: a case this process has not rendered yet, as
with random cases among many). The cache is the production one, each process's own memory
(advocacy/settings.py), unless --cache redis puts it in Redis (REDIS_URL, default db 6).

The database named in DATABASE_URL is DROPPED and recreated (its name must contain "bench").
One case per size is built with bulk inserts (no history rows: the page reads only the
projection in TimelineEntry), mixing what a real case holds: events with people, authorities
and organizations, petitions with requests, status and field changes, documents, closed and
open deadlines, and changes about the case's people of concern. Pages are fetched in-process
with Django's test client, signed in as an editor of the lead organization.
"""

import argparse
import datetime as dt
import random
import time

from common import (
    TRIVIAL_PAGES,
    analyze,
    explain_captured,
    fresh_database,
    median_ms,
    median_times,
    signed_in_client,
    table,
)

SIZES = (10, 50, 1_000, 10_000)
TARGETS = {"seen again": 2.0, "after a change": 3.0, "cold": 3.0}
START = dt.date(2022, 3, 1)


class Builder:
    """Bulk-creates cases with a realistic timeline of a given length."""

    def __init__(self, seed: int = 1, *, year: int = 2022):
        from cases.models import Authority, Organization
        from tests import factories

        self.rng = random.Random(seed)  # noqa: S311 - reproducible bench data, not secrets
        self.lead = Organization.objects.create(name="Lead NGO", short_name="LEAD")
        self.partners = Organization.objects.bulk_create(
            Organization(name=f"Partner NGO {n}", short_name=f"P{n}") for n in range(5)
        )
        self.authorities = Authority.objects.bulk_create(
            Authority(
                name=f"Authority {n}",
                short_name=f"AUTH{n}",
                kind=Authority.Kind.GOVERNMENT_BODY,
                country="Ukraine",
            )
            for n in range(30)
        )
        # An editor sees every control the page draws for writers (quick add, edit links).
        # Not a coordinator: coordinators must pass two-factor sign-in first.
        self.user = factories.member(self.lead, "editor", username="bench-editor")
        self.number = 0
        self.year = year  # of the references: another year beside other benchmarks' cases

    def case(self, entries: int):
        """A case whose timeline (as the page shows it) holds exactly ``entries`` entries."""
        from django.utils import timezone

        from cases.models import (
            Case,
            CaseShare,
            CaseStatus,
            CustodyStatus,
            Deadline,
            DeadlineKind,
            DeadlineStatus,
            Document,
            Event,
            Petition,
            PetitionRequest,
            PetitionStatus,
            Prisoner,
            RiskLevel,
            TimelineEntry,
        )

        rng = self.rng
        Kind, Subject = TimelineEntry.Kind, TimelineEntry.Subject
        self.number += 1
        tag = f"{entries}-{self.number}"
        case = Case.objects.create(
            reference=f"CASE-{self.year}-{self.number:04d}",
            title=f"Detention of three volunteers ({tag})",
            summary="Captured near the front line; families ask for news and an exchange.",
            priority="high",
            status=CaseStatus.ACTIVE_ADVOCACY,
            lead_organization=self.lead,
            opened_on=START,
        )
        CaseShare.objects.create(case=case, organization=self.partners[0], level="read")
        prisoners = Prisoner.objects.bulk_create(
            Prisoner(
                owner=self.lead,
                code=f"POW-{tag}-{j}",
                nationality="Ukrainian",
                custody_status=CustodyStatus.DETAINED,
                detaining_authority=self.authorities[j],
                place_of_detention="Detention centre No. 2",
                risk_level=RiskLevel.HIGH,
            )
            for j in range(3)
        )
        case.prisoners.set(prisoners)

        # Days over which the entries are spread: several a day on the longest timelines, so
        # that their dates stay plausible (services refuse dates after 2046).
        span = min(max(entries, 1200), 3000)

        def day(i: int) -> dt.date:
            return START + dt.timedelta(days=1 + i * span // max(entries, 1))

        def moment(d: dt.date) -> dt.datetime:
            return timezone.make_aware(dt.datetime.combine(d, dt.time(9 + rng.randrange(9))))

        # How the entries divide between kinds (the rest are events).
        n_petitions = max(1, entries * 4 // 100)
        n_documents = max(1, entries * 5 // 100)
        n_deadlines = max(1, entries * 5 // 100)
        n_status = max(1, entries * 10 // 100)
        n_changes = entries * 5 // 100
        n_events = entries - 1 - n_petitions - n_documents - n_deadlines - n_status - n_changes
        kinds = (
            ["petition"] * n_petitions
            + ["document"] * n_documents
            + ["deadline"] * n_deadlines
            + ["status"] * n_status
            + ["change"] * n_changes
            + ["event"] * n_events
        )
        rng.shuffle(kinds)
        slots = {kind: [] for kind in set(kinds)}
        for i, kind in enumerate(kinds, start=1):
            slots[kind].append(day(i))

        events = Event.objects.bulk_create(
            Event(
                case=case,
                kind=rng.choice(["visit", "letter", "call", "statement", "report", "meeting"]),
                occurred_on=d,
                occurred_at_time=dt.time(10, 30) if i % 4 == 0 else None,
                title=f"Contact about the detainees #{i}",
                description="Family received a letter; health reportedly stable." if i % 3 else "",
                source="https://example.org/report" if i % 5 == 0 else "",
                created_by=self.user,
            )
            for i, d in enumerate(slots.get("event", []))
        )
        through = Event.prisoners.through
        through.objects.bulk_create(
            through(event_id=e.pk, prisoner_id=p.pk)
            for e in events
            for p in rng.sample(prisoners, rng.randint(1, 2))
        )
        through = Event.authorities.through
        through.objects.bulk_create(
            through(event_id=e.pk, authority_id=a.pk)
            for e in events
            for a in rng.sample(self.authorities, rng.randint(0, 2))
        )
        through = Event.organizations.through
        through.objects.bulk_create(
            through(event_id=e.pk, organization_id=o.pk)
            for e in events
            for o in rng.sample([self.lead, *self.partners], rng.randint(0, 1))
        )

        petitions = Petition.objects.bulk_create(
            Petition(
                case=case,
                reference=f"OUT-{tag}-{i}",
                title=f"Request for ICRC access #{i}",
                addressed_to=rng.choice(self.authorities),
                filed_on=d,
                status=PetitionStatus.FILED,
                legal_bases=["gc3_icrc_access"],
            )
            for i, d in enumerate(slots.get("petition", []))
        )
        PetitionRequest.objects.bulk_create(
            PetitionRequest(petition=p, position=k, kind=kind)
            for p in petitions
            for k, kind in enumerate(
                ["icrc", "lawyer_access", "family_contact"][: rng.randint(1, 3)]
            )
        )
        through = Petition.filed_by.through
        through.objects.bulk_create(
            through(petition_id=p.pk, organization_id=self.lead.pk) for p in petitions
        )
        through = Petition.copied_to.through
        through.objects.bulk_create(
            through(petition_id=p.pk, authority_id=rng.choice(self.authorities).pk)
            for p in petitions
        )

        documents = Document.objects.bulk_create(
            Document(
                case=case,
                file=f"2024/01/bench-{tag}-{i}.pdf",
                original_name=f"letter-{i}.pdf",
                title=f"Scanned letter #{i}",
                sha256=f"{i:064x}",
                size=120_000 + i,
                content_type="application/pdf",
                uploaded_by=self.user,
            )
            for i in range(len(slots.get("document", [])))
        )

        closed = [DeadlineStatus.DONE, DeadlineStatus.MISSED, DeadlineStatus.CANCELLED]
        deadlines = Deadline.objects.bulk_create(
            [
                Deadline(
                    case=case,
                    kind=DeadlineKind.FOLLOW_UP_VISIT,
                    title=f"Follow-up visit #{i}",
                    due_on=d,
                    status=(status := closed[i % 3]),
                    completed_at=moment(d) if status == DeadlineStatus.DONE else None,
                    reminder_days=[3, 1, 0],
                )
                for i, d in enumerate(slots.get("deadline", []))
            ]
            + [
                Deadline(
                    case=case,
                    kind=DeadlineKind.REPLY_DUE,
                    title=f"Reply due #{i}",
                    due_on=day(entries) + dt.timedelta(days=30 * (i + 1)),
                    reminder_days=[7, 1],
                )
                for i in range(3)  # open: pinned above the timeline, not in it
            ]
        )
        deadlines[-1].assignees.add(self.user)

        rows = [
            TimelineEntry(
                kind=Kind.CASE_OPENED,
                case=case,
                happened_on=START,
                precision="day",
                happened_at=moment(START),
                recorded_at=moment(START),
                actor=self.user,
            )
        ]
        for e in events:
            rows.append(
                TimelineEntry(
                    kind=Kind.EVENT,
                    case=case,
                    event=e,
                    happened_on=e.occurred_on,
                    precision="day",
                    happened_at=(
                        timezone.make_aware(dt.datetime.combine(e.occurred_on, e.occurred_at_time))
                        if e.occurred_at_time
                        else None
                    ),
                    recorded_at=moment(e.occurred_on),
                )
            )
        for p in petitions:
            rows.append(
                TimelineEntry(
                    kind=Kind.PETITION,
                    case=case,
                    petition=p,
                    happened_on=p.filed_on,
                    precision="day",
                    recorded_at=moment(p.filed_on),
                )
            )
        for doc, d in zip(documents, slots.get("document", []), strict=True):
            rows.append(
                TimelineEntry(
                    kind=Kind.DOCUMENT,
                    case=case,
                    document=doc,
                    happened_on=d,
                    precision="day",
                    happened_at=moment(d),
                    recorded_at=moment(d),
                    actor=self.user,
                )
            )
        for dl in deadlines:
            rows.append(
                TimelineEntry(
                    kind=Kind.DEADLINE,
                    case=case,
                    deadline=dl,
                    happened_on=dl.due_on,
                    precision="day",
                    recorded_at=moment(dl.due_on),
                )
            )
        # Status changes of the case, its petitions, its deadlines and its people.
        for i, d in enumerate(slots.get("status", [])):
            at = moment(d)
            common = {
                "kind": Kind.STATUS,
                "happened_on": d,
                "precision": "day",
                "happened_at": at,
                "recorded_at": at,
                "actor": self.user,
                "reason": "Confirmed by the family and a released detainee." if i % 2 else "",
            }
            which = i % 4
            if which == 0:
                rows.append(
                    TimelineEntry(
                        case=case,
                        subject=Subject.CASE,
                        field="status",
                        old_value="open",
                        new_value="active_advocacy",
                        **common,
                    )
                )
            elif which == 1 and petitions:
                rows.append(
                    TimelineEntry(
                        case=case,
                        petition=rng.choice(petitions),
                        subject=Subject.PETITION,
                        field="status",
                        old_value="filed",
                        new_value="acknowledged",
                        **common,
                    )
                )
            elif which == 2:
                rows.append(
                    TimelineEntry(
                        prisoner=rng.choice(prisoners),
                        subject=Subject.PRISONER,
                        field="custody_status",
                        old_value="captured",
                        new_value="detained",
                        **common,
                    )
                )
            else:
                rows.append(
                    TimelineEntry(
                        case=case,
                        deadline=rng.choice(deadlines),
                        subject=Subject.DEADLINE,
                        field="status",
                        old_value="open",
                        new_value="done",
                        **common,
                    )
                )
        changes = [
            ("place_of_detention", "Detention centre No. 2", "Pre-trial centre, Taganrog"),
            ("risk_level", "high", "imminent"),
            ("wish_status", "unknown", "clearly_stated"),
            ("icrc_registration", "not_requested", "requested"),
        ]
        for i, d in enumerate(slots.get("change", [])):
            field, old, new = changes[i % len(changes)]
            at = moment(d)
            rows.append(
                TimelineEntry(
                    kind=Kind.CHANGE,
                    prisoner=rng.choice(prisoners),
                    subject=Subject.PRISONER,
                    field=field,
                    old_value=old,
                    new_value=new,
                    happened_on=d,
                    precision="day",
                    happened_at=at,
                    recorded_at=at,
                    actor=self.user,
                )
            )
        TimelineEntry.objects.bulk_create(rows, batch_size=2000)
        return case


def parts(case, *, repeats: int) -> dict[str, float]:
    """Where the time of a cold case page goes: the timeline selector and rendering its
    entries (none from the cache), each timed alone."""
    from cases.selectors.timeline import case_timeline_shown
    from cases.views.timeline_entry import entry_html

    entries = case_timeline_shown(case).entries
    return {
        "selector": median_ms(lambda: case_timeline_shown(case), repeats=repeats),
        "entries": median_ms(
            lambda: [entry_html(e, can_edit=True) for e in entries], repeats=repeats
        ),
    }


def counted(client, url: str, prepare=None) -> tuple[int, int]:
    """(SQL queries, model instances created) of one request, after ``prepare()``."""
    from django.db import connection
    from django.db.models.signals import post_init
    from django.test.utils import CaptureQueriesContext

    if prepare:
        prepare()
    made = [0]

    def count(sender, **kwargs):
        made[0] += 1

    post_init.connect(count)
    try:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
    finally:
        post_init.disconnect(count)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return len(ctx.captured_queries), made[0]


def renamer(case, user):
    """Renames the case's latest event through its service (untimed, before a request)."""
    from cases import services

    event = case.events.order_by("-occurred_on", "-id").first()
    turn = [0]

    def rename():
        turn[0] += 1
        services.event_update(event=event, by=user, title=f"Contact, renamed #{turn[0]}")

    return rename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--background",
        type=int,
        default=100,
        help="other cases of 100 entries each, so the tables are not just the measured cases",
    )
    parser.add_argument(
        "--cache",
        choices=["locmem", "redis"],
        default="locmem",
        help="locmem: each process's memory, as in production; redis: REDIS_URL (db 6)",
    )
    args = parser.parse_args()

    if args.cache == "redis":
        import os

        from django.conf import settings

        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"),
            }
        }
    name = fresh_database("advocacy_bench_timeline")
    from django.conf import settings
    from django.test import override_settings
    from django.urls import reverse

    from cases.selectors.timeline import case_timeline_queryset

    started = time.perf_counter()
    # Bulk rows carry no history; with history off, the plain saves (a case, its share and
    # people) write none either, so the timeline holds exactly the rows built here.
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        builder = Builder()
        cases = {n: builder.case(n) for n in SIZES}
        for _ in range(args.background):
            builder.case(100)
    analyze()
    for n, case in cases.items():
        shown = case_timeline_queryset(case).count()
        if shown != n:
            raise SystemExit(f"built {shown} entries for the case of {n}")
    elapsed = time.perf_counter() - started
    print(f"database {name}: {len(cases) + args.background} cases built in {elapsed:.0f} s")
    print(f"cache: {settings.CACHES['default']['BACKEND']}")

    from django.core.cache import cache

    from cases.views.cases import forget_kept_entries

    def forget_everything():
        """Nothing kept: the cache, and the timeline entries each process keeps as written."""
        cache.clear()
        forget_kept_entries()

    client = signed_in_client(builder.user)
    for url in TRIVIAL_PAGES.values():
        client.get(url)  # the first request of a session pays for its set-up
    trivial = {label: counted(client, url) for label, url in TRIVIAL_PAGES.items()}
    scenarios = list(TARGETS)
    rows = []
    ratios = {}
    for n, case in cases.items():
        url = reverse("cases:case-detail", args=[case.pk])
        client.get(url)  # warm: profile, session, template loader
        rename = renamer(case, builder.user)
        prepare = {"after a change": rename, "cold": forget_everything}
        counts = {"cold": counted(client, url, forget_everything)}
        counts["seen again"] = counted(client, url)
        counts["after a change"] = counted(client, url, rename)
        times = median_times(
            client,
            {**{s: url for s in scenarios}, **TRIVIAL_PAGES},
            repeats=args.repeats,
            warmup=args.warmup,
            prepare=prepare,
        )
        ratios[n] = {s: times[s] / times["floor"] for s in scenarios}
        split = parts(case, repeats=args.repeats)
        rows.append(
            [
                f"{n:,}",
                *(f"{counts[s][0]} / {counts[s][1]}" for s in scenarios),
                f"{times['floor']:.1f}",
                *(f"{times[s]:.1f}" for s in scenarios),
                *(f"**{ratios[n][s]:.2f}x**" for s in scenarios),
                f"{times['settings'] / times['floor']:.2f}x",
                f"{split['selector']:.1f}",
                f"{split['entries']:.1f}",
            ]
        )
    header = [
        "entries",
        *(f"queries / models: {s}" for s in scenarios),
        "floor ms",
        *(f"{s} ms" for s in scenarios),
        *(f"{s} / floor" for s in scenarios),
        "settings / floor",
        "selector alone ms",
        "50 entries rendered alone ms",
    ]
    print()
    print(f"Median of {args.repeats} requests per page after {args.warmup} warm-up rounds,")
    print("interleaved with the trivial pages. 'seen again': nothing changed; 'after a change':")
    print("the case's latest event renamed through its service before each request (untimed);")
    print("'cold': the cache and the kept entries emptied before each request. Queries / model")
    print("instances created,")
    print("of one request of each. The selector (case_timeline_shown) and rendering the 50")
    print("entries (none cached) are timed alone, right after.")
    print(
        "Queries / models of the trivial pages: "
        + ", ".join(f"{k} {q} / {m}" for k, (q, m) in trivial.items())
    )
    print()
    print(table(rows, header))
    print()
    for s in scenarios:
        worst = max(ratios[n][s] for n in cases)
        met = "met" if worst <= TARGETS[s] else "NOT met"
        print(f"{s}: at most {worst:.2f}x the floor (target {TARGETS[s]:.0f}x): {met}")

    print("\nEXPLAIN ANALYZE of the cold case page's queries on the timeline at 10,000 entries:")
    url = reverse("cases:case-detail", args=[cases[10_000].pk])
    forget_everything()
    plans = explain_captured(
        lambda: client.get(url), lambda sql: 'FROM "cases_timelineentry"' in sql
    )
    for plan in plans:
        print()
        print(plan)


if __name__ == "__main__":
    main()
