import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cases.models import Authority, Case, DatePrecision, Event, Organization, Prisoner
from cases.models.dates import period_start

from . import plausibility
from .search import cases_refresh_search
from .transitions import save_tracked


@transaction.atomic
def event_log(
    *,
    case: Case,
    by: AbstractBaseUser,
    kind: str,
    title: str,
    occurred_on: dt.date,
    occurred_on_precision: str = DatePrecision.DAY,
    organizations: Iterable[Organization] = (),
    authorities: Iterable[Authority] = (),
    prisoners: Iterable[Prisoner] = (),
    reason: str = "Logged",
    confirmed: bool | None = None,
    **fields,
) -> Event:
    """Log something that happened. "March 2025" is any day in March with precision "month".

    A date in the future is logged only when ``confirmed`` (see plausibility)."""
    event = Event(
        case=case,
        kind=kind,
        title=title,
        occurred_on=period_start(occurred_on, occurred_on_precision),
        occurred_on_precision=occurred_on_precision,
        created_by=by,
        **fields,
    )
    if event.occurred_on_precision != DatePrecision.DAY:
        event.occurred_at_time = None
    plausibility.check(
        [plausibility.happened("occurred_on", event.occurred_on, event.occurred_on_precision)],
        confirmed=confirmed,
    )
    event.full_clean()
    save_tracked(event, by=by, reason=reason)
    event.organizations.set(list(organizations))
    event.authorities.set(list(authorities))
    event.prisoners.set(list(prisoners))
    cases_refresh_search(case_ids=[event.case_id])
    return event


@transaction.atomic
def event_update(
    *,
    event: Event,
    by: AbstractBaseUser,
    reason: str = "Edited",
    organizations: Iterable[Organization] | None = None,
    authorities: Iterable[Authority] | None = None,
    prisoners: Iterable[Prisoner] | None = None,
    confirmed: bool | None = None,
    **fields,
) -> Event:
    for name, value in fields.items():
        setattr(event, name, value)
    event.occurred_on = period_start(event.occurred_on, event.occurred_on_precision)
    if event.occurred_on_precision != DatePrecision.DAY:
        event.occurred_at_time = None
    plausibility.check(
        [plausibility.happened("occurred_on", event.occurred_on, event.occurred_on_precision)],
        confirmed=confirmed,
    )
    event.full_clean()
    save_tracked(event, by=by, reason=reason)
    event._change_reason = reason
    for relation, values in (
        (event.organizations, organizations),
        (event.authorities, authorities),
        (event.prisoners, prisoners),
    ):
        if values is not None:
            relation.set(list(values))
    cases_refresh_search(case_ids=[event.case_id])
    return event
