"""History as people read it: real changes only, values and names as the pages show them,
in the reader's language (cases/selectors/history.py)."""

import datetime as dt

import pytest
from django.utils import translation

from cases import services
from cases.selectors.history import readable_history
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_new_petition_reads_as_one_creation(case, coordinator, partner_org):
    petition = factories.make_petition(
        case=case, by=coordinator, filed_by=[case.lead_organization, partner_org]
    )
    with translation.override("en"):
        items = readable_history(petition, user=coordinator)
    assert [item.kind for item in items] == ["Created"]
    assert [(c.label, c.new) for c in items[0].changes] == [
        ("Filed by", "Lead Organization, Partner Organization")
    ]


def test_changes_read_as_the_page_shows_them(case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator)
    services.petition_change_status(
        petition=petition,
        to="acknowledged",
        by=coordinator,
        reason="Letter arrived",
        response_received_on=dt.date(2026, 1, 8),
    )
    with translation.override("en"):
        latest = readable_history(petition, user=coordinator)[0]
    shown = {c.label: (c.old, c.new) for c in latest.changes}
    assert shown["Response received on"] == ("—", "Jan. 8, 2026")
    assert shown["Status"] == ("Filed", "Acknowledged")
    assert shown["Status changed on"] == ("—", "Jan. 8, 2026")
    assert latest.reason == "Letter arrived"


def test_an_edit_that_changes_nothing_visible_is_not_shown(case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator)
    services.petition_update(petition=petition, by=coordinator)  # saved as it was
    assert [item.kind for item in readable_history(petition, user=coordinator)] == ["Created"]


def test_month_dates_keep_their_precision_in_history(case, coordinator):
    prisoner = factories.PrisonerFactory(
        captured_on=dt.date(2025, 1, 1), captured_on_precision="month"
    )
    services.prisoner_update(prisoner=prisoner, by=coordinator, captured_on_precision="year")
    with translation.override("en"):
        latest = readable_history(prisoner, user=coordinator)[0]
    assert [(c.label, c.old, c.new) for c in latest.changes] == [
        ("Captured on", "January 2025", "2025")
    ]


@pytest.mark.parametrize("language", ["ko", "uk"])
def test_system_reasons_and_names_are_in_the_readers_language(case, coordinator, language):
    petition = factories.make_petition(case=case, by=coordinator)
    with translation.override(language):
        (item,) = readable_history(petition, user=coordinator)
        assert item.reason == translation.gettext("Filed") != "Filed"
        assert item.kind == translation.gettext("Created") != "Created"
        assert item.changes[0].label != "Filed by"
