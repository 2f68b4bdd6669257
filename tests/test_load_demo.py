"""The reference scenario loads completely, once, and can be moved to today."""

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

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
    load("--shift-to-today", "--today", "2026-11-25")  # a Wednesday
    petition = Petition.objects.get()
    assert petition.filed_on == dt.date(2026, 11, 21)  # the latest Saturday, as in the story
    announced = Event.objects.get(title__startswith="Coalition announces")
    assert announced.occurred_on == dt.date(2026, 11, 23)  # Monday, in the past
    visit = Deadline.objects.get(kind="follow_up_visit")
    assert visit.due_on == dt.date(2026, 11, 26)  # Thursday, tomorrow
    window = Deadline.objects.get(kind="exchange_window")
    assert window.due_precision == "month"
    assert 80 <= (window.due_on - dt.date(2026, 11, 25)).days <= 130  # a few months ahead
    assert window.due_on.month != (window.due_on + dt.timedelta(days=1)).month  # month's end


@pytest.mark.django_db
@pytest.mark.parametrize("today", [f"2026-11-{day}" for day in range(23, 30)])
def test_the_shifted_story_keeps_its_weekdays_months_and_words(today):
    """Whatever the day: the story's Saturday, Monday and Thursday stay so, month dates move
    by whole months, and the text names the months the dates show."""
    load("--shift-to-today", "--today", today)
    today = dt.date.fromisoformat(today)
    petition = Petition.objects.get()
    assert petition.filed_on.weekday() == 5  # "filed on the Saturday"
    assert (
        Event.objects.get(
            kind="statement", occurred_on_precision="day", title__contains=("photographs")
        ).occurred_on.weekday()
        == 5
    )  # Saturday 11 January 2025
    announced = Event.objects.get(title__startswith="Coalition announces")
    assert announced.occurred_on.weekday() == 0 and announced.occurred_on <= today
    visit = Deadline.objects.get(kind="follow_up_visit")
    assert visit.due_on.weekday() == 3  # the Thursday visit
    assert abs((visit.due_on - today).days) <= 3
    lawmaker = Event.objects.get(kind="visit")
    assert lawmaker.occurred_on.day == 1 and lawmaker.occurred_on_precision == "month"
    months = (petition.filed_on.year - 2026) * 12 + petition.filed_on.month - 1
    shifted_march = (2025 * 12 + 2 + months) // 12, (2025 * 12 + 2 + months) % 12 + 1
    assert (lawmaker.occurred_on.year, lawmaker.occurred_on.month) == shifted_march
    window = Deadline.objects.get(kind="exchange_window")
    assert window.due_on.strftime("%B") in window.notes  # "by April" names the window's month
    pow_b = Prisoner.objects.get(code="POW-B")
    assert lawmaker.occurred_on.strftime("%B %Y") in pow_b.wish_source
    assert pow_b.wish_expressed_on.strftime("%B %Y") in pow_b.wish_source
    assert all(event.occurred_on <= today for event in Event.objects.all())


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


@pytest.mark.django_db
def test_it_names_the_address_the_demo_is_served_at(settings):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8101"
    assert "Sign in at http://127.0.0.1:8101/" in load()


def test_make_demo_on_another_port_serves_prints_and_links_that_address():
    """`PORT=8101 make demo`: the server, the printed address and SITE_URL (emails' and
    calendars' links) all say 8101. `make -n` prints the commands without running them."""
    root = Path(__file__).resolve().parents[1]
    env = {key: value for key, value in os.environ.items() if key != "SITE_URL"}
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [shutil.which("make") or "make", "-n", "demo", "PORT=8101"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = result.stdout
    assert "load_demo" in commands and "SITE_URL=http://127.0.0.1:8101 " in commands
    assert "Open http://127.0.0.1:8101/" in commands
    assert "DEMO_ADDR=127.0.0.1:8101 SITE_URL=http://127.0.0.1:8101 " in commands
    assert ":8000" not in commands
