"""The main menu on a phone: every item in sight, in the longest of our languages."""

import pytest

from cases.models import UserProfile
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 320])
def test_every_menu_item_is_within_the_screen_on_a_phone(live_server, page, shot, width):
    org = factories.OrganizationFactory(name="International Human Rights Protection Committee")
    editor = factories.member(org, "editor", username="oksana")
    UserProfile.objects.update_or_create(user=editor, defaults={"language": "uk"})

    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + "/accounts/login/")
    page.locator("input[name=username]").fill("oksana")
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("button[type=submit]").click()
    page.goto(live_server.url + "/cases/")
    links = page.locator("nav.topnav a:visible")
    assert links.count() >= 4  # My work, Cases, Developments, Directory
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
            links.nth(i).inner_text(),
            box,
        )
    # Nothing on the page scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(f"menu-uk-{width}")
