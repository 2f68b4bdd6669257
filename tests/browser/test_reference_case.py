"""A new user logs the reference case end to end in a real browser and reads its timeline."""

from base64 import b32decode

import pytest
from django_otp.oath import totp

from cases.models import Deadline, Petition
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup_world(db):
    committee = factories.OrganizationFactory(
        name="Emergency Committee for the Free Repatriation of North Korean Soldiers"
    )
    factories.OrganizationFactory(name="International Human Rights Protection Committee")
    factories.AuthorityFactory(
        name="Coordination Headquarters for the Treatment of Prisoners of War"
    )
    user = factories.member(committee, "coordinator", username="mina")
    return user


def save_deadline(page) -> None:
    """Save the deadline form. The scenario's deadlines (January and April 2026) may lie in
    the past of the real clock: then the form first says by how much and asks, and the
    deadline is set only once "Save anyway" is ticked."""
    page.get_by_role("button", name="Save").click()
    confirm = page.get_by_label("Save anyway: the dates are right")
    done = page.get_by_text("Deadline set.")
    done.or_(confirm).first.wait_for()
    if confirm.count():
        assert "overdue already. Save anyway?" in page.locator(".has-error").inner_text()
        confirm.check()
        page.get_by_role("button", name="Save").click()
    done.wait_for()


def test_reference_case_end_to_end(live_server, page, shot, setup_world):
    base = live_server.url
    page.goto(base + "/")
    assert "/accounts/login/" in page.url
    shot("01-sign-in")
    page.get_by_label("Username").fill("mina")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # A coordinator sets up two-factor sign-in first: the app's key as text and as a QR code.
    page.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    assert page.locator("figure svg").is_visible()
    shot("01b-two-factor-setup")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_role("textbox", name="Code").fill(f"{totp(key):06d}")  # what the app shows now
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator("#recovery-codes li").count() == 10
    shot("01c-recovery-codes")
    page.get_by_role("link", name="I have kept them safe: continue").click()
    page.get_by_role("heading", name="My work").wait_for()
    shot("02-my-work-empty")

    # Open the reference case.
    page.get_by_role("link", name="New case").first.click()
    page.get_by_label("Title").fill("Two North Korean soldiers held in Ukraine")
    page.get_by_label("Summary").fill(
        "Captured in Kursk region, January 2025; at risk of forced repatriation."
    )
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_label("Lead organization").select_option(
        label="Emergency Committee for the Free Repatriation of North Korean Soldiers"
    )
    page.get_by_label("Opened on").fill("2025-01-11")
    page.get_by_role("button", name="Open the case").click()
    page.get_by_text("Case opened.").wait_for()

    # The two men, by code.
    for code in ("POW-A", "POW-B"):
        page.get_by_role("link", name="Add a person").click()
        page.get_by_label("Code or pseudonym").fill(code)
        page.get_by_label("Nationality").fill("DPRK")
        page.get_by_label("Captured on").fill("2025-01-01")
        page.get_by_label("Precision of capture date").select_option("month")
        page.get_by_label("Custody status").select_option("detained")
        page.get_by_label("Risk level").select_option("high")
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Person added to the case.").wait_for()

    # The lawmaker's visit, known only to the month, with the quick add.
    quick = page.locator("form.quick-add")
    quick.get_by_label("Kind").select_option("visit")
    quick.get_by_label("Happened on").fill("2025-03-01")
    quick.get_by_label("Precision").select_option("month")
    quick.get_by_label("Title").fill("Lawmaker meets both men in Ukraine")
    quick.get_by_role("button", name="Add to timeline").click()
    page.locator("#timeline-list").get_by_text("Lawmaker meets both men in Ukraine").wait_for()

    # The petition with its requests.
    page.get_by_role("link", name="Log a petition").click()
    page.get_by_label("Title").fill("Protection of the two prisoners of war")
    page.get_by_label("Addressed to").select_option(
        label="Coordination Headquarters for the Treatment of Prisoners of War"
    )
    page.get_by_label("Filed on").fill("2026-01-03")
    page.get_by_label("Channel").select_option("through_partner")
    page.get_by_label("International Human Rights Protection Committee").check()
    page.get_by_label("Non-refoulement").first.check()
    page.get_by_label("Third Geneva Convention: lawyer access").check()
    requests = [
        ("registration", "Register both men for protection."),
        ("exchange_exclusion", "Keep them out of any prisoner exchange."),
        ("non_refoulement", "Apply non-refoulement."),
        ("lawyer_access", "Guarantee lawyer visits."),
        ("icrc", "Involve the ICRC."),
        ("unhcr", "Involve UNHCR."),
    ]
    for index, (kind, text) in enumerate(requests):
        if index > 0:
            page.get_by_role("button", name="Add another request").click()
        page.locator(f"#id_requests-{index}-kind").select_option(kind)
        page.locator(f"#id_requests-{index}-text").fill(text)
    shot("03-petition-form")
    page.get_by_role("button", name="Log the petition").click()
    page.get_by_text("Petition logged.").wait_for()
    petition = Petition.objects.get()
    assert petition.requests.count() == 6
    shot("04-petition-page")

    # The Thursday follow-up visit and the "by April" exchange window.
    case_link = page.get_by_role("link", name="CASE-")
    case_link.first.click()
    page.get_by_role("link", name="Add a deadline").first.click()
    page.get_by_label("Kind").select_option("follow_up_visit")
    page.get_by_label("Title").fill("Partner visits the Coordination Headquarters")
    page.get_by_label("Petition").select_option(label=petition.title)
    page.get_by_label("Due on").fill("2026-01-08")
    save_deadline(page)
    page.get_by_role("link", name="Add a deadline").first.click()
    page.get_by_label("Kind").select_option("exchange_window")
    page.get_by_label("Title").fill("Prisoner-exchange window")
    page.get_by_label("Due on").fill("2026-04-01")
    page.get_by_label("Precision").select_option("month")
    save_deadline(page)
    window = Deadline.objects.get(kind="exchange_window")
    assert window.due_display == "by end of April 2026"
    page.get_by_text("by end of April 2026").first.wait_for()

    # The petition's status changes, with a reason.
    page.get_by_role("link", name=petition.title).first.click()
    page.get_by_role("link", name="Change status").click()
    page.get_by_label("New status").select_option("acknowledged")
    page.get_by_label("Reason").fill("Receipt confirmed during the Thursday visit")
    page.get_by_role("button", name="Change status").click()
    page.get_by_text("Petition status changed.").wait_for()
    shot("05-petition-history")

    # Everything is on the timeline, in order.
    page.get_by_role("link", name="CASE-").first.click()
    page.get_by_label("Order").select_option("oldest")
    page.get_by_role("button", name="Apply").click()
    timeline = page.locator("#timeline-list")
    text = timeline.inner_text()
    positions = [
        text.index("Lawmaker meets both men in Ukraine"),
        text.index("Petition filed"),
        text.index("Receipt confirmed during the Thursday visit"),
    ]
    assert positions == sorted(positions)
    assert "March 2025" in text
    pinned = page.locator("section.pinned").inner_text()
    assert "Partner visits the Coordination Headquarters" in pinned
    assert "by end of April 2026" in pinned
    shot("06-case-timeline")

    page.get_by_role("link", name="Cases", exact=True).click()
    shot("07-case-list")
    page.get_by_role("link", name="My work").click()
    shot("08-my-work")
