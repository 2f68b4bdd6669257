"""Benchmark: the case list at 10,000 and at 100,000 cases on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/advocacy_bench_list \\
        .venv/bin/python bench/search.py --cases 100000 [--reuse]

Target (issue 14): each variant of the case list (plain, sorted by title, sorted by next
deadline, a broad search word, a prisoner code, a petition reference) takes at most 4x the
server time of the one-line signed-in floor page (bench/floor_urls.py) measured in the same
run, at 10,000 and at 100,000 cases.

The database named in DATABASE_URL is DROPPED and recreated (its name must contain "bench"),
unless ``--reuse`` is given and it exists (then it is kept as it is: build it once per size,
one database per size). It is filled with bulk inserts shaped like years of use by many
organizations: cases opened over eight years, led by 40 organizations of very different
sizes (the two largest lead about a third of all cases), one case in ten shared with a
partner; each case with one to three people of concern (codes), one or two petitions (title,
reference, addressed to one of 160 authorities and copied to another), an event involving an
authority; deadlines over the years, most of them done, one case in five with an open one;
then each case's next deadline and search document, as the rebuild commands compute them.
The user is an editor of the two largest organizations: they see about 40 % of the cases
through the real access filter. Searches as typed in the list's search box: an authority
word that matches many cases ("Ministry": two of the eight kinds of authority, and the
summaries name them), a prisoner code and a petition reference.
"""

import argparse
import datetime as dt
import random
import sys
import time
from urllib.parse import urlencode

from common import (
    TRIVIAL_PAGES,
    analyze,
    count_queries,
    database_was_kept,
    explain_captured,
    fresh_database,
    jit_in,
    median_times,
    signed_in_client,
    table,
)

TARGET_RATIO = 4.0
ORGANIZATIONS = 40
PLACES = [
    "Kursk",
    "Mariupol",
    "Kherson",
    "Bakhmut",
    "Zaporizhzhia",
    "Donetsk",
    "Luhansk",
    "Melitopol",
    "Sumy",
    "Kharkiv",
    "Izium",
    "Berdiansk",
    "Enerhodar",
    "Nova Kakhovka",
    "Olenivka",
    "Taganrog",
    "Rostov",
    "Belgorod",
    "Bryansk",
    "Kupiansk",
]
WHO = [
    "volunteers",
    "medics",
    "journalists",
    "fishermen",
    "teachers",
    "soldiers",
    "civilians",
    "lorry drivers",
    "students",
    "priests",
]
WHAT = [
    "Detention of {n} {who} from {place}",
    "Disappearance of {who} near {place}",
    "{place}: {n} {who} held incommunicado",
    "Transfer of {who} captured in {place}",
    "Prosecution of {who} detained at {place}",
]
PETITION_TITLES = [
    "Request for ICRC access to the detainees of {place}",
    "Non-refoulement petition for the {who} of {place}",
    "Appeal against the transfer from {place}",
    "Request for lawyer access ({place})",
    "Request for family contact and medical care",
    "Request to include the {who} in the next exchange",
]
AUTHORITY_KINDS = [
    ("Ministry of Justice", "ministry"),
    ("Ministry of Foreign Affairs", "ministry"),
    ("Prosecutor's Office", "government_body"),
    ("Penitentiary Service", "security_service"),
    ("Military Court", "court"),
    ("Ombudsperson", "government_body"),
    ("Security Service", "security_service"),
    ("Coordination Headquarters", "government_body"),
]
# The list as people use it: (label, query string). Codes and references are of cases the
# user sees (the generator gives the first organization cases 0, 2, 4, ...).
VARIANTS = [
    ("plain list", {}),
    ("sort by title", {"sort": "title"}),
    ("sort by next deadline", {"sort": "next_deadline"}),
    ("search: authority word", {"q": "Ministry"}),
    ("search: prisoner code", {"q": "POW-04216-1"}),
    ("search: petition reference", {"q": "OUT-2025-07310"}),
]


def build(cases_wanted: int, seed: int = 1):
    from cases.models import (
        Authority,
        Case,
        CaseShare,
        CaseStatus,
        Deadline,
        DeadlineKind,
        DeadlineStatus,
        Event,
        Organization,
        Petition,
        PetitionStatus,
        Priority,
        Prisoner,
    )
    from cases.services.deadlines import cases_rebuild_next_deadlines
    from cases.services.search import cases_rebuild_search
    from tests import factories

    rng = random.Random(seed)  # noqa: S311 - reproducible bench data, not secrets
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Organization {k + 1:02d}", short_name=f"ORG{k + 1:02d}")
        for k in range(ORGANIZATIONS)
    )
    # Sizes of organizations fall off like 1/rank; cases 0, 2, 4, ... go to the largest.
    weights = [1 / (k + 1) for k in range(ORGANIZATIONS)]
    user = factories.UserFactory(username="bench-editor")
    for org in orgs[:2]:
        factories.member(org, "editor", username=user.username)
    authorities = Authority.objects.bulk_create(
        Authority(
            name=f"{place} {label}",
            short_name=f"{place[:3].upper()}-{label.split()[0][:4].upper()}-{k}",
            kind=kind,
            country="Russia"
            if place in {"Taganrog", "Rostov", "Belgorod", "Bryansk"}
            else "Ukraine",
        )
        for place in PLACES
        for k, (label, kind) in enumerate(AUTHORITY_KINDS)
    )
    statuses = [CaseStatus.OPEN, CaseStatus.ACTIVE_ADVOCACY, CaseStatus.MONITORING]
    start = dt.date(2018, 3, 1)
    days = (dt.date(2026, 3, 1) - start).days

    def lead(n: int):
        return orgs[0] if n % 2 == 0 and n % 6 else rng.choices(orgs, weights)[0]

    cases = Case.objects.bulk_create(
        (
            Case(
                reference=f"CASE-{n:06d}",
                title=rng.choice(WHAT).format(
                    n=rng.randint(2, 9), who=rng.choice(WHO), place=rng.choice(PLACES)
                ),
                summary=(
                    f"Reported by relatives in {rng.choice(PLACES)}. Last contact through a "
                    f"released detainee; held by the {rng.choice(AUTHORITY_KINDS)[0]}."
                ),
                status=rng.choice(statuses),
                priority=rng.choice(list(Priority.values)),
                lead_organization=lead(n),
                opened_on=start + dt.timedelta(days=n * days // cases_wanted),
            )
            for n in range(cases_wanted)
        ),
        batch_size=5000,
    )
    prisoners = Prisoner.objects.bulk_create(
        (
            Prisoner(
                owner_id=c.lead_organization_id,
                code=f"POW-{n:05d}-{j}",
                detaining_authority=rng.choice(authorities),
            )
            for n, c in enumerate(cases)
            for j in range(1, 1 + (1 if n % 3 else 3))
        ),
        batch_size=5000,
    )
    by_case: dict[int, list] = {}
    for p in prisoners:
        by_case.setdefault(int(p.code[4:-2]), []).append(p)
    through = Case.prisoners.through
    through.objects.bulk_create(
        (through(case_id=c.pk, prisoner_id=p.pk) for n, c in enumerate(cases) for p in by_case[n]),
        batch_size=5000,
    )
    petitions = Petition.objects.bulk_create(
        (
            Petition(
                case=c,
                reference=f"OUT-{2025 - k}-{n:05d}",
                title=rng.choice(PETITION_TITLES).format(
                    who=rng.choice(WHO), place=rng.choice(PLACES)
                ),
                addressed_to=rng.choice(authorities),
                filed_on=c.opened_on + dt.timedelta(days=20 + k),
                status=PetitionStatus.FILED,
            )
            for n, c in enumerate(cases)
            for k in range(1 if n % 4 else 2)
        ),
        batch_size=5000,
    )
    through = Petition.copied_to.through
    through.objects.bulk_create(
        (through(petition_id=p.pk, authority_id=rng.choice(authorities).pk) for p in petitions),
        batch_size=5000,
    )
    through = Petition.filed_by.through
    through.objects.bulk_create(
        (through(petition_id=p.pk, organization_id=p.case.lead_organization_id) for p in petitions),
        batch_size=5000,
    )
    events = Event.objects.bulk_create(
        (
            Event(case=c, kind="visit", occurred_on=c.opened_on, title="Visit by the monitors")
            for c in cases
        ),
        batch_size=5000,
    )
    through = Event.authorities.through
    through.objects.bulk_create(
        (through(event_id=e.pk, authority_id=rng.choice(authorities).pk) for e in events),
        batch_size=5000,
    )
    CaseShare.objects.bulk_create(
        (
            CaseShare(case=c, organization=partner, level="read")
            for c in cases[3::10]
            for partner in [rng.choice(orgs)]
            if partner.pk != c.lead_organization_id
        ),
        batch_size=5000,
    )
    today = dt.date.today()
    # Years of deadlines: two done ones per case (after it opened), an open one on one case
    # in five (some overdue).
    Deadline.objects.bulk_create(
        (
            Deadline(
                case=c,
                kind=DeadlineKind.REPLY_DUE,
                title="Reply due",
                due_on=c.opened_on + dt.timedelta(days=30 * (k + 1)),
                status=DeadlineStatus.DONE,
                completed_at=dt.datetime.combine(
                    c.opened_on + dt.timedelta(days=30 * (k + 1) - 2), dt.time(12), dt.UTC
                ),
            )
            for c in cases
            for k in range(2)
        ),
        batch_size=5000,
    )
    Deadline.objects.bulk_create(
        (
            Deadline(
                case=c,
                kind=DeadlineKind.REPLY_DUE,
                title="Reply due",
                due_on=today + dt.timedelta(days=rng.randint(-20, 60)),
            )
            for c in cases[::5]
        ),
        batch_size=5000,
    )
    looked_at, changed = cases_rebuild_next_deadlines()
    print(f"next deadlines: {looked_at:,} cases, {changed:,} set")
    looked_at, changed = cases_rebuild_search()
    print(f"search documents: {looked_at:,} cases, {changed:,} set")
    return user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases to generate")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--plans", action="store_true", help="print the slowest plan of each")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database if it exists (built before)"
    )
    args = parser.parse_args()

    name = fresh_database(f"advocacy_bench_list_{args.cases}", reuse=args.reuse)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import override_settings
    from django.urls import reverse
    from django.utils import timezone

    from cases.forms import CaseSearchForm
    from cases.models import Case
    from cases.selectors.cases import case_list_page

    started = time.perf_counter()
    if database_was_kept():
        user = get_user_model().objects.get(username="bench-editor")
        how = "kept"
    else:
        with override_settings(SIMPLE_HISTORY_ENABLED=False):
            user = build(args.cases)
        analyze()
        how = f"built in {time.perf_counter() - started:.0f} s"
    total = Case.objects.count()
    if total != args.cases:
        sys.exit(f"database {name} holds {total:,} cases, not {args.cases:,}: run without --reuse")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit_setting = cursor.fetchone()[0]
    print(f"database {name}: {total:,} cases, {how}; jit = {jit_setting} for this connection")

    client = signed_in_client(user)
    list_url = reverse("cases:case-list")
    pages = {
        label: f"{list_url}?{urlencode(params)}" if params else list_url
        for label, params in VARIANTS
    }
    everything = {**pages, **TRIVIAL_PAGES}
    queries = {label: count_queries(client, url) for label, url in everything.items()}
    found = {}
    for label, params in VARIANTS:
        filters = CaseSearchForm(params).filters()
        page = case_list_page(user, filters, 1, per_page=50, today=timezone.localdate())
        found[label] = page.count

    times = median_times(
        client, {**pages, "floor": TRIVIAL_PAGES["floor"]}, repeats=args.repeats, warmup=args.warmup
    )
    jit = {}
    slowest_plan = {}
    for label, url in pages.items():
        plans = explain_captured(
            lambda url=url: client.get(url), lambda sql: 'FROM "cases_case"' in sql
        )
        jit[label] = any(jit_in(plan) for plan in plans)
        slowest_plan[label] = max(plans, key=_plan_ms, default="")

    floor = times["floor"]
    rows = [
        [
            label,
            _found(found[label]),
            str(queries[label]),
            f"{times[label]:.1f}",
            f"{floor:.1f}",
            f"{times[label] / floor:.2f}x",
            "yes" if jit[label] else "no",
        ]
        for label in pages
    ]
    header = ["page", "cases found", "queries", "page ms", "floor ms", "vs floor", "JIT"]
    print()
    print(
        f"{total:,} cases; median of {args.repeats} requests per page after {args.warmup} "
        "warm-up rounds, all pages and the floor interleaved in the same rounds."
    )
    print(f"Queries of the floor page: {queries['floor']}")
    print()
    print(table(rows, header))
    print()
    worst = max(pages, key=lambda label: times[label])
    print(
        f"slowest: {worst}, {times[worst] / floor:.2f}x the floor "
        f"(target: at most {TARGET_RATIO:.0f}x)"
    )
    if args.plans:
        for label in pages:
            print(f"\nThe slowest case-list query of {label!r}, EXPLAIN ANALYZE:\n")
            print(slowest_plan[label])


def _found(page_count: int) -> str:
    return f"more than {page_count - 1:,}" if page_count > 1000 else f"{page_count:,}"


def _plan_ms(plan: str) -> float:
    for line in plan.splitlines():
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return 0.0


if __name__ == "__main__":
    main()
