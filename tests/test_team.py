"""Teams: invitations, roles and deactivation, run by an organization's coordinators."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases import tasks
from cases.models import Deadline, Invitation, Membership
from cases.services import team
from tests import factories

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a long enough passphrase 42"


def _invite(client, org, email="new@example.org", role="viewer", capture=None):
    return client.post(reverse("cases:team", args=[org.pk]), {"email": email, "role": role})


def _signs_in(client, username, password) -> bool:
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def _link_path(message) -> str:
    return re.search(r"http://testserver(/invitations/\d+/\w+/)", message.body)[1]


def test_invitation_email_goes_out_after_commit_once(
    client, coordinator, lead_org, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _invite(client, lead_org)
    assert response.status_code == 302
    assert mail.outbox == []  # not inside the request
    assert len(callbacks) == 1
    invitation = Invitation.objects.get()
    assert tasks.send_invitation(invitation.pk) is True
    assert tasks.send_invitation(invitation.pk) is False  # run twice: sent once
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.org"]
    assert "Lead Organization" in mail.outbox[0].subject
    assert _link_path(mail.outbox[0]).startswith(f"/invitations/{invitation.pk}/")


def test_accepting_creates_the_account_and_membership_once(client, coordinator, lead_org):
    invitation = team.invitation_create(
        organization=lead_org, email="Olena@Example.org", role="editor", by=coordinator
    )
    url = reverse(
        "cases:invitation-accept",
        kwargs={"pk": invitation.pk, "token": team.invitation_token(invitation)},
    )
    form = {"username": "olena", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(url, form | {"password2": "something else entirely"})
    assert response.status_code == 400
    assert not Membership.objects.filter(user__username="olena").exists()
    response = client.post(url, form | {"password1": "short", "password2": "short"})
    assert response.status_code == 400
    assert client.post(url, form).status_code == 302
    membership = Membership.objects.get(user__username="olena")
    assert membership.role == "editor"
    assert membership.user.email.lower() == "olena@example.org"
    assert _signs_in(client, "olena", NEW_PASSWORD)
    client.logout()
    assert client.get(url).status_code == 404  # single use


@pytest.mark.parametrize("how", ["expired", "revoked", "resent", "wrong"])
def test_a_dead_link_is_404(client, coordinator, lead_org, how):
    invitation = team.invitation_create(
        organization=lead_org, email="x@example.org", role="viewer", by=coordinator
    )
    token = team.invitation_token(invitation)
    if how == "revoked":
        team.invitation_revoke(invitation=invitation, by=coordinator)
    elif how == "resent":
        fresh = team.invitation_resend(invitation=invitation, by=coordinator)
        good = reverse("cases:invitation-accept", args=[fresh.pk, team.invitation_token(fresh)])
        assert client.get(good).status_code == 200
    elif how == "wrong":
        token = token[:-1] + ("0" if token[-1] != "0" else "1")
    url = reverse("cases:invitation-accept", args=[invitation.pk, token])
    if how == "expired":
        with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
            response = client.get(url)
    else:
        response = client.get(url)
    assert response.status_code == 404
    assert "does not work" in response.content.decode()


def test_inviting_someone_already_on_the_team_or_invited_is_refused(
    client, coordinator, editor, lead_org
):
    client.force_login(coordinator)
    response = _invite(client, lead_org, email=editor.email)
    assert response.status_code == 400
    assert "already on the team" in response.content.decode()
    assert _invite(client, lead_org, email="twice@example.org").status_code == 302
    response = _invite(client, lead_org, email="TWICE@example.org")
    assert "re-send that invitation" in response.content.decode()
    assert Invitation.objects.count() == 1


def test_an_existing_account_joins_by_signing_in(client, coordinator, lead_org, partner):
    invitation = team.invitation_create(
        organization=lead_org, email=partner.email, role="viewer", by=coordinator
    )
    url = reverse(
        "cases:invitation-accept", args=[invitation.pk, team.invitation_token(invitation)]
    )
    assert "Sign in with it" in client.get(url).content.decode()
    client.force_login(partner)
    client.post(url)
    assert Membership.objects.get(user=partner, organization=lead_org).role == "viewer"


def test_the_last_coordinator_stays(client, coordinator, editor, lead_org):
    client.force_login(coordinator)
    own = Membership.objects.get(user=coordinator, organization=lead_org)
    client.post(reverse("cases:team-member-role", args=[lead_org.pk, own.pk]), {"role": "editor"})
    own.refresh_from_db()
    assert own.role == "coordinator"
    # With a second coordinator, the first may step down; the second then cannot be removed.
    other = Membership.objects.get(user=editor, organization=lead_org)
    team.membership_change_role(membership=other, role="coordinator", by=coordinator)
    team.membership_change_role(membership=own, role="editor", by=coordinator)
    with pytest.raises(Exception, match="last coordinator"):
        team.member_deactivate(membership=other, by=coordinator, reason="left")
    assert Membership.objects.get(pk=other.pk).role == "coordinator"


def test_deactivating_ends_sessions_unassigns_deadlines_and_keeps_history(
    client, coordinator, editor, lead_org, case
):
    deadline = factories.make_deadline(case=case, by=coordinator, assignees=[editor])
    done = factories.make_deadline(case=case, by=coordinator, title="Old", assignees=[editor])
    from cases import services

    services.deadline_change_status(deadline=done, to="done", by=coordinator, reason="done")
    client.force_login(editor)
    assert client.get(reverse("cases:home")).status_code == 200
    membership = Membership.objects.get(user=editor, organization=lead_org)

    from django.test import Client

    boss = Client()
    boss.force_login(coordinator)
    url = reverse("cases:team-member-deactivate", args=[lead_org.pk, membership.pk])
    page = boss.get(url).content.decode()
    assert "Follow-up visit" in page and "Old" not in page
    assert boss.post(url, {"reason": ""}).status_code == 400  # a reason is required
    assert boss.post(url, {"reason": "Moved abroad"}).status_code == 302

    response = client.get(reverse("cases:home"))
    assert response.status_code == 302 and "/accounts/login/" in response.url
    editor.refresh_from_db()
    assert not editor.is_active
    assert not _signs_in(client, "editor", factories.PASSWORD)
    assert list(Deadline.objects.get(pk=deadline.pk).assignees.all()) == []
    assert list(Deadline.objects.get(pk=done.pk).assignees.all()) == [editor]  # closed: as it was
    assert "unassigned: Moved abroad" in deadline.history.latest().history_change_reason
    gone = Membership.history.filter(user_id=editor.pk).latest()
    assert (gone.history_type, gone.history_change_reason) == (
        "-",
        "Deactivated: Moved abroad (account deactivated: no other organization)",
    )
    assert gone.history_user == coordinator


def test_a_member_of_two_organizations_keeps_the_account(coordinator, lead_org, partner_org):
    both = factories.member(lead_org, "viewer", username="both")
    factories.member(partner_org, "viewer", username="both")
    result = team.member_deactivate(
        membership=Membership.objects.get(user=both, organization=lead_org),
        by=coordinator,
        reason="Only with the partner now",
    )
    both.refresh_from_db()
    assert both.is_active and not result.account_deactivated
    gone = Membership.history.filter(user_id=both.pk).latest()
    assert gone.history_change_reason == "Deactivated: Only with the partner now"


def test_another_teams_member_and_invitation_are_404_through_ones_own_team(
    client, coordinator, lead_org, outsider
):
    """A coordinator cannot reach another organization's member by pairing its id with the
    id of their own team."""
    theirs = Membership.objects.get(user=outsider)
    invitation = team.invitation_create(
        organization=theirs.organization, email="z@example.org", role="viewer", by=outsider
    )
    client.force_login(coordinator)
    for url in (
        reverse("cases:team-member-role", args=[lead_org.pk, theirs.pk]),
        reverse("cases:team-member-deactivate", args=[lead_org.pk, theirs.pk]),
        reverse("cases:team-invitation-revoke", args=[lead_org.pk, invitation.pk]),
        reverse("cases:team-invitation-resend", args=[lead_org.pk, invitation.pk]),
    ):
        assert client.post(url, {"role": "viewer", "reason": "x"}).status_code == 404, url
    assert Membership.objects.get(pk=theirs.pk).role == "coordinator"
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert client.get(reverse("cases:team", args=[theirs.organization_id])).status_code == 404
