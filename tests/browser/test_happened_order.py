"""The reference case, entered in the order a coordinator learns it, reads in the order it
happened: in English, Korean and Ukrainian, newest or oldest first."""

import datetime as dt

import pytest
from django.utils import translation

from cases import services
from cases.models import Petition
from cases.models.dates import format_fuzzy_date
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VISIT = "Lawmaker meets both men in Ukraine"
PETITION = "Protection of the two prisoners of war"
ACKNOWLEDGED = "Acknowledgement received from the Coordination Headquarters"


@pytest.fixture
def world(db):
    committee = factories.OrganizationFactory(
        name="Emergency Committee for the Free Repatriation of North Korean Soldiers"
    )
    factories.OrganizationFactory(name="International Human Rights Protection Committee")
    factories.AuthorityFactory(
        name="Coordination Headquarters for the Treatment of Prisoners of War"
    )
    editor = factories.member(committee, "editor", username="dana")
    case = factories.make_case(
        lead_organization=committee,
        by=editor,
        title="Two North Korean soldiers held in Ukraine",
        opened_on=dt.date(2025, 1, 11),
    )
    return {"editor": editor, "case": case}


def kinds_in_order(page) -> list[str]:
    """The timeline's entries as (kind, text), top to bottom."""
    items = page.locator("#timeline-list > li")
    return items.evaluate_all("els => els.map(e => [e.className, e.innerText])")


def position(entries, kind: str, text: str) -> int:
    return next(i for i, (cls, body) in enumerate(entries) if cls == kind and text in body)


def test_the_story_reads_in_the_order_it_happened(live_server, page, shot, world):
    base = live_server.url
    case = world["case"]
    page.goto(base + "/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My work").wait_for()
    case_url = f"{base}/cases/{case.pk}/"

    # 1. What the coordinator hears of first: the petition filed on Saturday 3 January.
    page.goto(case_url)
    page.get_by_role("link", name="Log a petition").click()
    page.get_by_label("Title").fill(PETITION)
    page.get_by_label("Addressed to").select_option(
        label="Coordination Headquarters for the Treatment of Prisoners of War"
    )
    page.get_by_label("Filed on").fill("2026-01-03")
    page.get_by_role("button", name="Log the petition").click()
    page.get_by_text("Petition logged.").wait_for()
    petition = Petition.objects.get()

    # 2. Then, from the lawmaker's office, the visit of March 2025.
    page.goto(case_url)
    quick = page.locator("form.quick-add")
    quick.get_by_label("Kind").select_option("visit")
    quick.get_by_label("Happened on").fill("2025-03-01")
    quick.get_by_label("Precision").select_option("month")
    quick.get_by_label("Title").fill(VISIT)
    quick.get_by_role("button", name="Add to timeline").click()
    page.locator("#timeline-list").get_by_text(VISIT).wait_for()

    # 3. Last, the acknowledgement that arrived on Thursday 8 January.
    page.goto(f"{base}/petitions/{petition.pk}/status/")
    page.get_by_label("New status").select_option("acknowledged")
    page.get_by_label("Response received on").fill("2026-01-08")
    page.get_by_label("Reason").fill(ACKNOWLEDGED)
    shot("happened-01-status-form")
    page.get_by_role("button", name="Change status").click()
    page.get_by_text("Petition status changed.").wait_for()
    petition.refresh_from_db()
    assert petition.status_changed_on == dt.date(2026, 1, 8)

    profile = services.profile_get(world["editor"])
    for language in ("en", "ko", "uk"):
        profile.language = language
        profile.save()
        page.goto(case_url + "?order=oldest#timeline")
        oldest = kinds_in_order(page)
        visit = position(oldest, "kind-event", VISIT)
        filed = position(oldest, "kind-petition", PETITION)
        answer = position(oldest, "kind-status", ACKNOWLEDGED)
        assert visit < filed < answer, (language, oldest)
        with translation.override(language):
            march = format_fuzzy_date(dt.date(2025, 3, 1), "month")
            jan8 = format_fuzzy_date(dt.date(2026, 1, 8), "day")
        assert march in oldest[visit][1], (language, oldest[visit])
        assert jan8 in oldest[answer][1], (language, oldest[answer])
        shot(f"happened-02-timeline-oldest-{language}")
        page.goto(case_url + "#timeline")
        newest = kinds_in_order(page)
        assert (
            position(newest, "kind-status", ACKNOWLEDGED)
            < position(newest, "kind-petition", PETITION)
            < position(newest, "kind-event", VISIT)
        ), (language, newest)
        # The same story on the timeline page, with its filters.
        page.goto(f"{base}/cases/{case.pk}/timeline/?order=oldest")
        alone = kinds_in_order(page)
        assert (
            position(alone, "kind-event", VISIT)
            < position(alone, "kind-petition", PETITION)
            < position(alone, "kind-status", ACKNOWLEDGED)
        ), (language, alone)
