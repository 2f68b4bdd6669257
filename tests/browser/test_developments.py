"""The reference case's exchange window ("by April 2026") moved through a development: the
exchange date is announced, recorded once, linked to the case, applied to its deadlines with
a preview, and the case then reads the new date (issue 17)."""

import datetime as dt

import pytest

from cases.models import Deadline, DeadlineMove
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HQ = "Coordination Headquarters for the Treatment of Prisoners of War"
TITLE = "Exchange date announced: 15 March 2026"


@pytest.fixture
def world(db):
    committee = factories.OrganizationFactory(
        name="Emergency Committee for the Free Repatriation of North Korean Soldiers"
    )
    factories.AuthorityFactory(name=HQ)
    editor = factories.member(committee, "editor", username="dana")
    case = factories.make_case(
        lead_organization=committee,
        by=editor,
        title="Two North Korean soldiers held in Ukraine",
        opened_on=dt.date(2025, 1, 11),
    )
    window = factories.make_deadline(
        case=case,
        by=editor,
        kind="exchange_window",
        title="Prisoner-exchange window",
        due_on=dt.date(2026, 4, 1),
        due_precision="month",
        assignees=[editor],
    )
    return {"editor": editor, "case": case, "window": window}


def both_widths(page, shot, name: str) -> None:
    """Every new page is looked at on a laptop and on a phone."""
    shot(f"dev-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(f"dev-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_exchange_window_moves_through_a_development(live_server, page, shot, world):
    base = live_server.url
    case, window = world["case"], world["window"]
    assert window.due_display == "by end of April 2026"
    page.goto(base + "/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My work").wait_for()

    # The exchange date is announced: recorded once, from the menu.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Developments").click()
    page.get_by_role("heading", name="Developments").wait_for()
    both_widths(page, shot, "list-empty")
    page.get_by_role("link", name="Record a development").first.click()
    page.get_by_label("Kind").select_option("exchange_announced")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Happened on").fill("2026-01-09")
    page.get_by_label("What happened").fill(
        "Kyiv and Moscow announced the date of the next prisoner exchange."
    )
    page.get_by_label(HQ).check()
    both_widths(page, shot, "form")
    page.get_by_role("button", name="Save").click()

    # Linked to the case, found by its reference.
    page.get_by_role("heading", name="Link to cases").wait_for()
    page.get_by_placeholder("Reference or title").fill(case.reference)
    page.get_by_role("button", name="Search").click()
    page.get_by_label(f"{case.reference} · {case.title}").check()
    both_widths(page, shot, "link")
    page.get_by_role("button", name="Link", exact=True).click()
    page.get_by_text("Linked to 1 case.").wait_for()
    both_widths(page, shot, "detail")

    # Applied to the deadlines: every open exchange window, previewed old → new.
    page.get_by_role("link", name="Apply to deadlines").click()
    assert page.get_by_label("Deadline kind").input_value() == "exchange_window"
    page.get_by_label("New date").fill("2026-03-15")
    page.get_by_label("Precision").select_option("day")
    page.get_by_role("button", name="Preview the changes").click()
    preview = page.locator("table").inner_text()
    assert "Prisoner-exchange window" in preview
    assert "by end of April 2026" in preview and "March 15, 2026" in preview
    both_widths(page, shot, "preview")
    page.get_by_label("Reason").fill("The exchange date was announced.")
    page.get_by_role("button", name="Move these deadlines").click()
    # 15 March 2026 may lie in the past of the real clock: then the form asks first.
    confirm = page.get_by_label("Save anyway: the dates are right")
    done = page.get_by_text("Deadlines moved. You can undo this for a day.")
    done.or_(confirm).first.wait_for()
    if confirm.count():
        confirm.check()
        page.get_by_role("button", name="Move these deadlines").click()
    done.wait_for()
    both_widths(page, shot, "move-record")
    assert page.get_by_role("button", name="Undo").is_visible()

    window.refresh_from_db()
    assert (window.due_on, window.due_precision) == (dt.date(2026, 3, 15), "day")
    move = DeadlineMove.objects.get()
    assert window.history.filter(history_change_reason__contains=TITLE).count() == 1
    assert move.items.get().old_display == "by end of April 2026"

    # The case reads the new date, and the development on its timeline.
    page.goto(f"{base}/cases/{case.pk}/")
    assert "March 15, 2026" in page.locator("section.pinned").inner_text()
    assert TITLE in page.locator("#timeline-list").inner_text()
    page.get_by_role("link", name="Link a development").click()
    both_widths(page, shot, "case-link")

    # Undone within the day: back to "by end of April 2026".
    page.goto(f"{base}/deadline-moves/{move.pk}/")
    page.get_by_role("button", name="Undo").click()
    page.get_by_text("1 deadline put back.").wait_for()
    assert Deadline.objects.get(pk=window.pk).due_display == "by end of April 2026"
    assert not page.get_by_role("button", name="Undo").count()
