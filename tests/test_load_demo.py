"""The reference scenario loads completely, once, and can be moved to today."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from cases.models import (
    Authority,
    Case,
    Deadline,
    Event,
    Organization,
    Petition,
    Prisoner,
)

HISTORY_MODELS = [Organization, Authority, Prisoner, Case, Petition, Event, Deadline]


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def history_rows() -> int:
    return sum(model.history.count() for model in HISTORY_MODELS)


@pytest.mark.django_db
def test_demo_holds_the_reference_case():
    load()
    case = Case.objects.get()
    assert case.reference.startswith("CASE-")
    assert case.status == "active_advocacy"
    assert set(case.prisoners.values_list("code", flat=True)) == {"POW-A", "POW-B"}
    assert Prisoner.objects.exclude(legal_name="").count() == 0  # names are not public
    assert Organization.objects.count() == 3
    assert Authority.objects.count() == 5
    assert set(
        Authority.objects.filter(kind="international").values_list("short_name", flat=True)
    ) == {"ICRC", "UNHCR"}
    assert case.shares.count() == 2

    petition = Petition.objects.get()
    assert petition.filed_on == dt.date(2026, 1, 3)
    assert petition.addressed_to.short_name == "Coordination HQ"
    assert petition.filed_by.count() == 2
    assert set(petition.requests.values_list("kind", flat=True)) == {
        "registration",
        "exchange_exclusion",
        "non_refoulement",
        "lawyer_access",
        "icrc",
        "unhcr",
    }
    assert "non_refoulement" in petition.legal_bases

    visit = Deadline.objects.get(kind="follow_up_visit")
    assert visit.due_on == dt.date(2026, 1, 8)
    assert visit.due_on.weekday() == 3  # Thursday
    assert visit.petition == petition
    window = Deadline.objects.get(kind="exchange_window")
    with translation.override("en"):
        assert window.due_display == "by end of April 2026"

    lawmaker = Event.objects.get(kind="visit")
    assert lawmaker.occurred_on_precision == "month"
    with translation.override("en"):
        assert lawmaker.occurred_on_display == "March 2025"
    assert Event.objects.filter(case=case).count() == 7

    # Every row written by the loader is on record under its named actor.
    assert (
        case.history.filter(history_user__username="system:load_demo").count()
        == case.history.count()
    )


@pytest.mark.django_db
def test_running_it_twice_changes_nothing():
    load()
    rows = history_rows()
    counts = [m.objects.count() for m in HISTORY_MODELS]
    second = load()
    assert "already loaded" in second
    assert history_rows() == rows
    assert [m.objects.count() for m in HISTORY_MODELS] == counts


@pytest.mark.django_db
def test_shift_to_today_makes_the_deadlines_live():
    load("--shift-to-today", "--today", "2026-11-27")
    petition = Petition.objects.get()
    assert petition.filed_on == dt.date(2026, 11, 25)  # two days ago
    visit = Deadline.objects.get(kind="follow_up_visit")
    assert visit.due_on == dt.date(2026, 11, 30)  # in three days
    window = Deadline.objects.get(kind="exchange_window")
    assert window.due_precision == "month"
    assert 80 <= (window.due_on - dt.date(2026, 11, 27)).days <= 130  # a few months ahead
    assert window.due_on.month != (window.due_on + dt.timedelta(days=1)).month  # month's end


@pytest.mark.django_db
def test_today_needs_shift():
    with pytest.raises(CommandError):
        load("--today", "2026-11-27")


@pytest.mark.django_db
def test_passwords_are_printed_only_in_debug(settings):
    settings.DEBUG = False
    quiet = load()
    assert "demo-" not in quiet
    settings.DEBUG = True
    loud = load()
    assert "coordinator" in loud and "demo-" in loud
