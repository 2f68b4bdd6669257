"""Benchmark: the case page with a timeline of 10, 100, 1,000 and 10,000 entries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_timeline \\
        .venv/bin/python bench/timeline.py

Targets (web-app issue): the number of SQL queries of the case page does not grow with the
timeline, and at 1,000 entries the page takes at most 2x the server time of a trivial
signed-in page measured in the same run.

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
    count_queries,
    explain_captured,
    fresh_database,
    median_ms,
    median_times,
    signed_in_client,
    table,
)

SIZES = (10, 100, 1_000, 10_000)
TARGET_RATIO = 2.0
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

        span = max(entries, 1200)  # days over which the entries are spread

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
    """Where the time of the case page goes: the timeline selector and its template alone."""
    from django.template.loader import render_to_string

    from cases.selectors.timeline import case_timeline

    context = {"timeline": case_timeline(case), "case": case, "can_edit": True, "next_query": ""}
    return {
        "selector": median_ms(lambda: case_timeline(case), repeats=repeats),
        "entries": median_ms(
            lambda: render_to_string("cases/partials/timeline_entries.html", context),
            repeats=repeats,
        ),
    }


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
    args = parser.parse_args()

    name = fresh_database("advocacy_bench_timeline")
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

    from django.core.cache import cache

    client = signed_in_client(builder.user)
    trivial_queries = {label: count_queries(client, url) for label, url in TRIVIAL_PAGES.items()}
    rows = []
    ratios = {}
    counts = {}
    rest = {}
    for n, case in cases.items():
        url = reverse("cases:case-detail", args=[case.pk])
        client.get(url)  # warm: profile, session, template loader
        cache.clear()
        rendered_queries = count_queries(client, url)  # the timeline read and rendered
        counts[n] = (rendered_queries, count_queries(client, url))  # then from the cache
        # "cached": the case viewed again, nothing changed since (the timeline's rendered
        # entries come from the cache); "rendered": the first view after any change to the
        # case (its version token changed), which reads and renders the entries.
        times = median_times(
            client,
            {"cached": url, "rendered": url, **TRIVIAL_PAGES},
            repeats=args.repeats,
            warmup=args.warmup,
            prepare={"rendered": cache.clear},
        )
        ratios[n] = {
            (page, label): times[page] / times[label]
            for page in ("cached", "rendered")
            for label in TRIVIAL_PAGES
        }
        split = parts(case, repeats=args.repeats)
        # What is left of the rendered page without the timeline (medians measured apart: a
        # rough figure, but it shows what the page costs whatever the timeline does).
        rest[n] = (times["rendered"] - split["selector"] - split["entries"]) / times["settings"]
        rows.append(
            [
                f"{n:,}",
                f"{counts[n][0]} / {counts[n][1]}",
                f"{times['cached']:.1f}",
                f"{times['rendered']:.1f}",
                *(f"{times[label]:.1f}" for label in TRIVIAL_PAGES),
                f"{ratios[n]['cached', 'settings']:.2f}x",
                f"{ratios[n]['rendered', 'settings']:.2f}x",
                f"{ratios[n]['cached', 'password change']:.2f}x",
                f"{ratios[n]['rendered', 'password change']:.2f}x",
                f"{split['selector']:.1f}",
                f"{split['entries']:.1f}",
                f"{min(case.petitions.count(), 10)} of {case.petitions.count()}",
            ]
        )
    header = [
        "entries",
        "queries rendered / cached",
        "case page cached ms",
        "case page rendered ms",
        *(f"{label} ms" for label in TRIVIAL_PAGES),
        "cached vs settings",
        "rendered vs settings",
        "cached vs password change",
        "rendered vs password change",
        "timeline selector alone ms",
        "entries template alone ms",
        "petitions listed",
    ]
    print()
    print(f"Median of {args.repeats} requests per page after {args.warmup} warm-up rounds;")
    print("trivial pages measured in the same rounds as each case page. 'cached': the case")
    print("page seen again with nothing changed; 'rendered': the cache emptied before each")
    print("request, as on the first view after a change. The selector (case_timeline) and the")
    print("entries' template (timeline_entries.html) are timed alone, right after.")
    print(
        "Queries of the trivial pages: " + ", ".join(f"{k} {v}" for k, v in trivial_queries.items())
    )
    print()
    print(table(rows, header))
    print()
    for which, index in (("rendered", 0), ("cached", 1)):
        per_size = sorted((n, pair[index]) for n, pair in counts.items())
        constant = len({count for _, count in per_size}) == 1
        print(f"queries per case page ({which}) constant: {'yes' if constant else 'NO'} {per_size}")
    for n in (1_000, 10_000):
        for page in ("cached", "rendered"):
            verdict = ", ".join(f"{ratios[n][page, label]:.2f}x {label}" for label in TRIVIAL_PAGES)
            print(
                f"ratio at {n:,} entries, {page}: {verdict} (target at 1,000: {TARGET_RATIO:.0f}x)"
            )
        print(
            f"  the rendered page less its timeline (selector and entries template) at {n:,}: "
            f"{rest[n]:.2f}x settings"
        )

    print("\nEXPLAIN ANALYZE of the case page's queries on the timeline at 10,000 entries:")
    url = reverse("cases:case-detail", args=[cases[10_000].pk])
    cache.clear()
    plans = explain_captured(
        lambda: client.get(url), lambda sql: 'FROM "cases_timelineentry"' in sql
    )
    for plan in plans:
        print()
        print(plan)


if __name__ == "__main__":
    main()
