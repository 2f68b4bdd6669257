"""Adding a missing authority from the petition form, in place (htmx), in a real browser."""

import pytest

from cases.models import Petition
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_missing_authority_without_leaving_the_petition_form(live_server, page, shot):
    org = factories.OrganizationFactory(name="International Human Rights Protection Committee")
    editor = factories.member(org, "editor", username="oksana")
    case = factories.make_case(lead_organization=org, by=editor, title="Two soldiers")
    factories.AuthorityFactory(name="Security Service of Ukraine")

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("oksana")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/cases/{case.pk}/petitions/new/")
    page.get_by_label("Title").fill("Protection of the two prisoners of war")
    page.get_by_role("link", name="An authority is missing? Add it").click()
    inline = page.locator(".inline-add")
    inline.get_by_label("Name").first.fill(
        "Coordination Headquarters for the Treatment of Prisoners of War"
    )
    inline.get_by_label("Short name").fill("Coordination HQ")
    inline.get_by_label("Kind").select_option("government_body")
    inline.get_by_label("Country").fill("Ukraine")
    inline.get_by_role("button", name="Add to the directory").click()
    page.get_by_text("is in the directory and chosen here").wait_for()
    shot("directory-01-inline-added")
    # Still on the form, with what was typed, and the new authority chosen.
    assert page.get_by_label("Title").input_value() == "Protection of the two prisoners of war"
    chosen = page.locator("#id_addressed_to option:checked").inner_text()
    assert chosen == "Coordination HQ"
    page.get_by_label("Filed on").fill("2026-01-03")
    page.get_by_role("button", name="Log the petition").click()
    page.get_by_text("Petition logged.").wait_for()
    petition = Petition.objects.get()
    assert petition.addressed_to.name == (
        "Coordination Headquarters for the Treatment of Prisoners of War"
    )
