"""A coordinator runs the team in a real browser: invite, accept from the email, change the
role, deactivate; the deactivated colleague cannot sign in and their deadline has moved."""

import re
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import services
from cases.models import Deadline, Invitation, Membership
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def eager_worker():
    """The invitation email is sent by the Celery task after the commit: run it in place."""
    from advocacy.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def team_world(db):
    org = factories.OrganizationFactory(
        name="Emergency Committee for the Free Repatriation of North Korean Soldiers"
    )
    mina = factories.member(org, "coordinator", username="mina")
    device = TOTPDevice.objects.create(user=mina, name="Phone", confirmed=True)
    taras = factories.member(org, "editor", username="taras")
    case = factories.make_case(lead_organization=org, by=mina, title="Two soldiers")
    return {"org": org, "mina": mina, "device": device, "taras": taras, "case": case}


def _sign_in(page, base, username, password):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_invite_accept_promote_deactivate(
    live_server, browser, page, shot, smtp_server, eager_worker, team_world
):
    base = live_server.url
    org, mina = team_world["org"], team_world["mina"]

    # The coordinator signs in (password and code) and opens the team page.
    _sign_in(page, base, "mina", factories.PASSWORD)
    page.get_by_label("Code").fill(f"{totp(team_world['device'].bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="My work").wait_for()
    page.get_by_role("link", name="Team").first.click()
    page.get_by_role("heading", name=f"Team of {org.name}").wait_for()
    page.get_by_label("Email").fill("olena@example.org")
    page.get_by_label("Role").last.select_option("viewer")
    page.get_by_role("button", name="Send the invitation").click()
    page.get_by_text("Invitation sent to olena@example.org.").wait_for()
    shot("team-01-invited")

    # The worker sent the email to the SMTP server; the colleague opens its link.
    assert len(smtp_server.messages) == 1
    email = smtp_server.messages[0]
    assert email["To"] == "olena@example.org"
    body = email.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/invitations/\d+/\w+/", body)[0]
    link = base + urlsplit(link).path  # SITE_URL is the test server's name
    colleague = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    other = colleague.new_page()
    other.set_default_timeout(15000)
    other.goto(link)
    other.get_by_role("heading", name=f"Join {org.name}").wait_for()
    other.get_by_label("Your name").fill("Olena K")
    other.get_by_label("User name").fill("olena")
    other.locator("#id_password1").fill(NEW_PASSWORD)
    other.get_by_label("Password again").fill(NEW_PASSWORD)
    other.get_by_role("button", name="Create my account").click()
    other.get_by_text("Your account is ready.").wait_for()
    # The link worked once.
    other.goto(link)
    other.get_by_role("heading", name="This link does not work").wait_for()
    _sign_in(other, base, "olena", NEW_PASSWORD)
    other.get_by_role("heading", name="My work").wait_for()

    # The coordinator makes her an editor; a deadline is hers.
    olena = Membership.objects.get(organization=org, user__username="olena")
    page.reload()
    row = page.locator(f"#member-{olena.pk}")
    row.get_by_label("Role of olena").select_option("editor")
    row.get_by_role("button", name="Change role").click()
    page.get_by_text("olena is now Editor.").wait_for()
    deadline = factories.make_deadline(
        case=team_world["case"], by=mina, title="Visit the headquarters", assignees=[olena.user]
    )

    # Deactivated: her deadline goes to taras, with the reason.
    page.locator(f"#member-{olena.pk}").get_by_role("link", name="Deactivate").click()
    page.get_by_text("Visit the headquarters").wait_for()
    page.get_by_label("Give their open deadlines to").select_option(label="taras")
    page.get_by_label("Reason").fill("Left the committee in March")
    shot("team-02-deactivate")
    page.get_by_role("button", name="Deactivate").click()
    page.get_by_text("olena is no longer on the team").wait_for()
    shot("team-03-after")

    # Her open session has ended, and she cannot sign in again.
    other.reload()
    assert "/accounts/login/" in other.url
    _sign_in(other, base, "olena", NEW_PASSWORD)
    other.get_by_text("Please enter a correct username and password").wait_for()
    colleague.close()

    deadline = Deadline.objects.get(pk=deadline.pk)
    assert [u.username for u in deadline.assignees.all()] == ["taras"]
    reasons = list(deadline.history.values_list("history_change_reason", flat=True))
    assert any("moved to taras: Left the committee in March" in r for r in reasons)
    history = list(
        Membership.history.filter(user__username="olena")
        .order_by("history_date")
        .values_list("history_type", "role", "history_change_reason", "history_user__username")
    )
    assert history[0][:2] == ("+", "viewer")
    assert history[1][:2] == ("~", "editor")
    assert history[-1] == (
        "-",
        "editor",
        "Deactivated: Left the committee in March (account deactivated: no other organization)",
        "mina",
    )
    invitation = Invitation.objects.get(email="olena@example.org")
    assert invitation.accepted_by.username == "olena"
    assert "Invitation accepted" in invitation.history.values_list(
        "history_change_reason", flat=True
    )
    # And the team page says so.
    assert "Deactivated: Left the committee in March" in page.content()
    services.profile_get(mina)  # the coordinator's settings still load
