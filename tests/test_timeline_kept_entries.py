"""The case page keeps each timeline entry as written under the entry's ``shown_version``
(cases/views/cases.py, ``_entries_html``): through any sequence of changes, what it shows
from those kept entries is exactly what it would write afresh.

Every kind of change an entry can show is among the steps: an event's title, people,
authorities and organizations; a petition's title, addressee, filers, requests and status;
a deadline's title, date and status, and deadlines moved in bulk by a development; a
person's code, place of detention, and removal from the case; a development's text,
authorities and link; and names shown on every case (authorities, organizations, users).
The person is on two cases, so their entries are checked on both.
"""

import contextlib
import datetime as dt

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services
from cases.models import (
    PETITION_TRANSITIONS,
    Authority,
    Development,
    DevelopmentLink,
    Organization,
    Petition,
    Prisoner,
)
from cases.services import developments, directory
from cases.services.petitions import RequestSpec
from cases.views import cases as case_views
from tests import factories
from tests.test_timeline_compiled import every_kind  # noqa: F401  (the fixture)
from tests.test_timeline_shown import full_case  # noqa: F401  (every_kind's)

STEPS = [
    "event title",
    "event people",
    "event authorities",
    "event organizations",
    "new event",
    "petition title",
    "petition addressee",
    "petition filers",
    "petition request added",
    "petition request outcome",
    "petition status",
    "deadline title",
    "deadline date",
    "deadline status",
    "deadlines moved",
    "person code",
    "person place",
    "person removed",
    "development text",
    "development authorities",
    "development unlinked",
    "authority renamed",
    "authorities merged",
    "organization renamed",
    "user renamed",
]


def timeline_list(client, case, query: str = "") -> str:
    """The case page's timeline (its filters and entries), as the page shows it."""
    url = reverse("cases:case-detail", args=[case.pk]) + query
    html = client.get(url).content.decode()
    start = html.index('class="timeline-controls"')
    return html[start : html.index("</section>", start)]


# The timeline as it opens, and its deadlines alone (open ones too: pinned above the
# timeline as it opens, so only there on the timeline).
SHOWN = ("", "?kind=deadline")


def assert_kept_entries_are_fresh(client, cases, after: str = "") -> None:
    """Each case's timeline from the kept entries, then written afresh, is the same."""
    kept = [timeline_list(client, case, query) for case in cases for query in SHOWN]
    case_views.forget_kept_entries()
    cache.clear()
    fresh = [timeline_list(client, case, query) for case in cases for query in SHOWN]
    assert kept == fresh, f"after {after}"


@pytest.fixture
def two_cases(every_kind, coordinator):  # noqa: F811
    """A case with every kind of entry (``every_kind``: a development linked to it too), a
    missed deadline on it (on the timeline, and one a development can move), and one of its
    people on a second case with its own event about them."""
    missed = factories.make_deadline(
        case=every_kind, by=coordinator, title="Reply due", due_on=dt.date(2025, 2, 1)
    )
    services.deadline_change_status(deadline=missed, to="missed", by=coordinator, reason="Late")
    other = factories.make_case(lead_organization=every_kind.lead_organization, by=coordinator)
    person = Prisoner.objects.get(code="POW-A")
    services.case_add_prisoner(case=other, prisoner=person, by=coordinator)
    services.event_log(
        case=other,
        by=coordinator,
        kind="letter",
        title="Letter from the family",
        occurred_on=dt.date(2025, 5, 1),
        prisoners=[person],
    )
    return every_kind, other


def step(name: str, n: int, case, other, coordinator) -> None:
    """One change through the services (``n`` varies what it changes to)."""
    authorities = list(Authority.objects.order_by("pk"))
    organizations = list(Organization.objects.order_by("pk"))
    people = list(Prisoner.objects.filter(cases=case).order_by("pk"))
    event = case.events.order_by("pk").first()
    petition = Petition.objects.filter(case=case).order_by("pk").first()
    deadline = case.deadlines.order_by("pk").first()
    development = Development.objects.order_by("pk").first()
    if name == "event title":
        services.event_update(event=event, by=coordinator, title=f"Visit, renamed {n}")
    elif name == "event people":
        services.event_update(event=event, by=coordinator, prisoners=people[: n % 3])
    elif name == "event authorities":
        services.event_update(event=event, by=coordinator, authorities=authorities[n % 2 :])
    elif name == "event organizations":
        services.event_update(event=event, by=coordinator, organizations=organizations[: n % 3])
    elif name == "new event":
        services.event_log(
            case=other if n % 2 else case,
            by=coordinator,
            kind="call",
            title=f"Call {n}",
            occurred_on=dt.date(2025, 6, 1 + n),
            prisoners=people[:1],
        )
    elif name == "petition title":
        services.petition_update(petition=petition, by=coordinator, title=f"Access {n}")
    elif name == "petition addressee":
        services.petition_update(
            petition=petition, by=coordinator, addressed_to=authorities[n % len(authorities)]
        )
    elif name == "petition filers":
        services.petition_update(
            petition=petition, by=coordinator, filed_by=organizations[: 1 + n % 2]
        )
    elif name == "petition request added":
        kept = [RequestSpec(kind=r.kind, id=r.pk) for r in petition.requests.order_by("pk")]
        services.petition_update(
            petition=petition, by=coordinator, requests=[*kept, RequestSpec(kind="non_refoulement")]
        )
    elif name == "petition request outcome":
        first, *rest = petition.requests.order_by("pk")
        outcome = ["granted", "rejected", "pending"][n % 3]
        services.petition_update(
            petition=petition,
            by=coordinator,
            requests=[
                RequestSpec(kind=first.kind, id=first.pk, outcome=outcome),
                *(RequestSpec(kind=r.kind, id=r.pk, outcome=r.outcome) for r in rest),
            ],
        )
    elif name == "petition status":
        allowed = services.allowed_next(petition, PETITION_TRANSITIONS)
        if allowed:
            services.petition_change_status(
                petition=petition, to=allowed[n % len(allowed)][0], by=coordinator, reason="Ok"
            )
    elif name == "deadline title":
        services.deadline_update(deadline=deadline, by=coordinator, title=f"Visit {n}")
    elif name == "deadline date":
        services.deadline_update(
            deadline=deadline, by=coordinator, due_on=dt.date(2026, 3, 1 + n), confirmed=True
        )
    elif name == "deadline status":
        open_ = case.deadlines.filter(status="open").order_by("pk").first()
        if open_ is not None:
            services.deadline_change_status(
                deadline=open_, to="done", by=coordinator, reason="Done"
            )
    elif name == "deadlines moved":
        ids = list(
            case.deadlines.filter(status__in=["open", "missed"]).values_list("pk", flat=True)
        )
        if ids:
            developments.deadline_move_apply(
                development=development,
                by=coordinator,
                new_on=dt.date(2027, 5, 1 + n),
                new_precision="day",
                reason="The law moved them",
                deadline_ids=ids,
                confirmed=True,
            )
    elif name == "person code":
        services.prisoner_update(prisoner=people[n % len(people)], by=coordinator, code=f"P-{n}")
    elif name == "person place":
        services.prisoner_update(
            prisoner=people[0],
            by=coordinator,
            place_of_detention=f"Camp {n}",
            place_of_detention_sensitive=bool(n % 2),
        )
    elif name == "person removed":
        if len(people) > 1:
            services.case_remove_prisoner(
                case=case, prisoner=people[-1], by=coordinator, reason="Moved"
            )
    elif name == "development text":
        developments.development_update(
            development=development, by=coordinator, title=f"Amnesty, amended {n}"
        )
    elif name == "development authorities":
        developments.development_update(
            development=development, by=coordinator, authorities=authorities[: 1 + n % 2]
        )
    elif name == "development unlinked":
        link = DevelopmentLink.objects.filter(case=case).first()
        if link is not None:
            developments.development_unlink_case(link=link, by=coordinator)
    elif name == "authority renamed":
        authority = authorities[n % len(authorities)]
        directory.authority_update(
            authority=authority, by=coordinator, name=f"Court {n}", short_name=f"C{n}"
        )
    elif name == "authorities merged":
        if len(authorities) > 1:
            directory.authority_merge(
                keep=authorities[0], duplicate=authorities[-1], by=coordinator
            )
    elif name == "organization renamed":
        directory.organization_update(
            organization=organizations[n % len(organizations)], by=coordinator, short_name=f"O{n}"
        )
    elif name == "user renamed":
        coordinator.username = f"coordinator-{n}"
        coordinator.save()


@pytest.mark.django_db
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(STEPS), st.integers(min_value=0, max_value=9)),
        min_size=1,
        max_size=6,
    )
)
def test_kept_entries_show_what_fresh_ones_show_after_any_sequence_of_changes(
    steps, two_cases, coordinator, client
):
    case, other = two_cases
    client.force_login(coordinator)
    assert_kept_entries_are_fresh(client, [case, other])
    # The cases carry over from one example to the next (the fixture is the test's), so a
    # step may find its change refused by now (no open deadline left to move): it then
    # changes nothing, and the page must still show what it shows afresh.
    for name, n in steps:
        with contextlib.suppress(ValidationError):
            step(name, n, case, other, coordinator)
        assert_kept_entries_are_fresh(client, [case, other], after=name)


@pytest.mark.django_db
def test_every_kind_of_change_in_turn_is_shown_by_kept_entries(two_cases, coordinator, client):
    """Each step once, in order, the page seen before it (so its entries are kept)."""
    case, other = two_cases
    client.force_login(coordinator)
    assert_kept_entries_are_fresh(client, [case, other])
    for name in STEPS:
        step(name, 3, case, other, coordinator)
        assert_kept_entries_are_fresh(client, [case, other], after=name)


@pytest.mark.django_db
def test_a_change_writes_only_the_entries_that_show_it(two_cases, coordinator, client, monkeypatch):
    case, _other = two_cases
    client.force_login(coordinator)
    timeline_list(client, case)
    written = []
    real = case_views.entry_html

    def counting(entry, **kwargs):
        written.append(entry.pk)
        return real(entry, **kwargs)

    monkeypatch.setattr(case_views, "entry_html", counting)
    event = case.events.order_by("pk").first()
    services.event_update(event=event, by=coordinator, title="Visit, renamed")
    assert "Visit, renamed" in timeline_list(client, case)
    assert len(written) == 1
