"""People of concern belong to the organization that registered them (issue: the take-over).

Reading a person follows the cases they are on; editing, revealing the identity and linking
them into a case come from the owner only; ending a share ends what came through it. Each step
of the take-over found from outside is tried here and refused.
"""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases import access, services
from cases.models import AccessLog, Case, CaseShare, PersonLinkRequest, Prisoner
from cases.security import two_factor_required
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(case, coordinator):
    prisoner = services.prisoner_register(
        case=case,
        by=coordinator,
        code="POW-A",
        legal_name="Kim Example",
        notes="Family in Hamhung",
        health_notes="Wounded arm",
        risk_level="high",
    )
    return prisoner


@pytest.fixture
def read_partner(case, coordinator, partner_org, partner):
    """``partner`` (an editor of partner_org) with a read share on the lead's case, and a
    coordinator of the same partner organization."""
    services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.READ, by=coordinator, reason="r"
    )
    return factories.member(partner_org, "coordinator", username="partner_coordinator")


def test_the_registering_organization_owns_the_person(person, lead_org):
    assert person.owner == lead_org


def test_a_read_partner_is_not_offered_the_lead_s_person_for_a_new_case(
    client, person, read_partner, partner, partner_org
):
    client.force_login(partner)
    page = client.get(reverse("cases:case-create")).content.decode()
    assert "POW-A" not in page
    response = client.post(
        reverse("cases:case-create"),
        {
            "title": "Our own case",
            "priority": "normal",
            "lead_organization": partner_org.pk,
            "prisoners": [person.pk],
            "opened_on": "2026-01-05",
        },
    )
    assert response.status_code == 200
    assert not Case.objects.filter(title="Our own case").exists()


def test_the_service_refuses_a_case_with_someone_else_s_person(person, read_partner, partner_org):
    with pytest.raises(ValidationError) as refused:
        services.case_create(
            by=read_partner, title="Our own case", lead_organization=partner_org, prisoners=[person]
        )
    assert "prisoners" in refused.value.message_dict
    assert not Case.objects.filter(title="Our own case").exists()


def test_a_partner_may_neither_reveal_nor_edit_the_person(client, person, read_partner, partner):
    for user in (read_partner, partner):
        client.force_login(user)
        assert client.get(reverse("cases:prisoner-detail", args=[person.pk])).status_code == 200
        assert client.post(reverse("cases:prisoner-reveal", args=[person.pk])).status_code == 403
        response = client.post(
            reverse("cases:prisoner-edit", args=[person.pk]),
            {"code": "POW-A", "risk_level": "low", "notes": "rewritten"},
        )
        assert response.status_code == 403
        assert client.get(reverse("cases:prisoner-link", args=[person.pk])).status_code == 403
    person.refresh_from_db()
    assert (person.notes, person.risk_level) == ("Family in Hamhung", "high")
    assert not access.may_see_identity(read_partner, person)


def test_the_person_page_shows_no_identity_to_readers(client, person, viewer, read_partner):
    for user in (viewer, read_partner):
        client.force_login(user)
        page = client.get(reverse("cases:prisoner-detail", args=[person.pk])).content.decode()
        for secret in ("Kim Example", "Family in Hamhung", "Wounded arm"):
            assert secret not in page


def test_after_the_share_ends_the_former_partner_gets_404_everywhere(
    client, case, coordinator, person, read_partner, partner
):
    share = case.shares.get()
    services.case_unshare(share=share, by=coordinator, reason="ended")
    urls = [
        reverse("cases:case-detail", args=[case.pk]),
        reverse("cases:prisoner-detail", args=[person.pk]),
        reverse("cases:prisoner-edit", args=[person.pk]),
        reverse("cases:prisoner-link", args=[person.pk]),
        reverse("cases:prisoner-access-log", args=[person.pk]),
    ]
    for user in (read_partner, partner):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("cases:prisoner-reveal", args=[person.pk])).status_code == 404


def test_an_edit_partner_may_not_bring_a_third_organization_s_person_into_the_case(
    client, case, coordinator, partner_org, partner
):
    services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="e"
    )
    third = factories.OrganizationFactory(name="Third")
    third_coordinator = factories.member(third, "coordinator")
    their_case = factories.make_case(lead_organization=third, by=third_coordinator)
    theirs = services.prisoner_register(
        case=their_case, by=third_coordinator, code="T-1", health_notes="their health notes"
    )
    services.case_share(
        case=their_case, organization=partner_org, level="read", by=third_coordinator, reason="r"
    )
    with pytest.raises(ValidationError):
        services.case_update(case=case, by=partner, prisoners=[theirs])
    client.force_login(partner)
    response = client.post(
        reverse("cases:case-edit", args=[case.pk]),
        {
            "title": case.title,
            "priority": case.priority,
            "opened_on": "2026-01-05",
            "prisoners": [theirs.pk],
        },
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert not case.prisoners.filter(pk=theirs.pk).exists()


def test_an_edit_partner_may_not_empty_the_lead_s_list_of_people(
    client, case, coordinator, person, partner_org, partner
):
    services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="e"
    )
    client.force_login(partner)
    response = client.post(
        reverse("cases:case-edit", args=[case.pk]),
        {"title": case.title, "priority": case.priority, "opened_on": "2026-01-05"},
    )
    assert response.status_code == 200
    assert "may not take POW-A off this case" in response.content.decode()
    assert list(case.prisoners.all()) == [person]
    assert (
        client.get(reverse("cases:prisoner-unlink", args=[case.pk, person.pk])).status_code == 403
    )


def test_the_lead_may_take_a_person_off_its_case_with_a_reason(client, case, editor, person):
    client.force_login(editor)
    url = reverse("cases:prisoner-unlink", args=[case.pk, person.pk])
    assert client.post(url, {"reason": ""}).status_code == 200  # a reason is needed
    assert client.post(url, {"reason": "Not about him"}).status_code == 302
    assert not case.prisoners.exists()
    assert case.history.first().history_change_reason == "Not about him"


def test_the_owner_s_coordinator_links_the_person_into_a_partner_s_case_on_record(
    client, case, coordinator, editor, person, lead_org, partner_org, partner
):
    their_case = factories.make_case(lead_organization=partner_org, by=partner)
    services.case_share(
        case=their_case, organization=lead_org, level="edit", by=partner, reason="together"
    )
    # An editor of the owner may link only into the owner's own cases.
    assert not access.may_link_prisoner(editor, person, their_case)
    client.force_login(editor)
    form = client.get(reverse("cases:prisoner-link", args=[person.pk])).content.decode()
    assert their_case.reference not in form
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:prisoner-link", args=[person.pk]), {"case": their_case.pk}
    )
    assert response.status_code == 302
    assert their_case.prisoners.filter(pk=person.pk).exists()
    record = their_case.history.first()
    assert record.history_user == coordinator
    assert "POW-A added" in record.history_change_reason
    # The partner reads the person by code, and still may not reveal or edit.
    assert access.get_prisoner_for(partner, person.pk) == person
    assert not access.may_see_identity(partner, person)
    assert not access.may_edit_prisoner(partner, person)
    # When the partner ends our share, our person comes off their case.
    services.case_unshare(share=their_case.shares.get(), by=partner, reason="done")
    assert not their_case.prisoners.exists()


def test_ending_a_share_ends_what_came_through_it(case, coordinator, partner_org, partner):
    share = services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="e"
    )
    theirs = services.prisoner_register(case=case, by=partner, code="P-1")
    assert theirs.owner == partner_org  # registered through the partner's share: theirs
    deadline = factories.make_deadline(
        case=case,
        by=coordinator,
        assignees=[coordinator, partner],
        due_on=timezone.localdate() + dt.timedelta(days=20),
    )
    assert deadline.reminders.filter(recipient=partner, status="pending").exists()
    services.case_unshare(share=share, by=coordinator, reason="ended")
    assert not case.prisoners.filter(pk=theirs.pk).exists()
    assert list(deadline.assignees.all()) == [coordinator]
    assert not deadline.reminders.filter(recipient=partner, status="pending").exists()
    with pytest.raises(Exception):  # noqa: B017 - 404 for the lead now
        access.get_prisoner_for(coordinator, theirs.pk)
    # The partner keeps its own person.
    assert access.get_prisoner_for(partner, theirs.pk) == theirs


def test_reveals_are_on_the_owner_s_record(client, case, coordinator, person):
    client.force_login(coordinator)
    page = client.post(reverse("cases:prisoner-reveal", args=[person.pk])).content.decode()
    assert "Kim Example" in page and "Family in Hamhung" in page and "Wounded arm" in page
    row = AccessLog.objects.get(action=AccessLog.Action.REVEAL_IDENTITY)
    assert (row.prisoner, row.user) == (person, coordinator)
    log = client.get(reverse("cases:prisoner-access-log", args=[person.pk])).content.decode()
    assert "Revealed an identity" in log


def test_history_leaves_identity_fields_out_for_readers(client, coordinator, viewer, person):
    services.prisoner_update(prisoner=person, by=coordinator, notes="Moved to a hospital ward")
    client.force_login(viewer)
    page = client.get(reverse("cases:prisoner-detail", args=[person.pk])).content.decode()
    assert "hospital ward" not in page and "Family in Hamhung" not in page


def test_a_sensitive_place_is_need_to_know(client, case, coordinator, viewer, person):
    services.prisoner_update(
        prisoner=person,
        by=coordinator,
        place_of_detention="Camp 7, building 3",
        place_of_detention_sensitive=True,
    )
    client.force_login(viewer)
    for url in (
        reverse("cases:prisoner-detail", args=[person.pk]),
        reverse("cases:case-detail", args=[case.pk]),
        reverse("cases:case-timeline", args=[case.pk]),
    ):
        assert "Camp 7" not in client.get(url).content.decode(), url
    client.force_login(coordinator)
    page = client.post(reverse("cases:prisoner-reveal", args=[person.pk])).content.decode()
    assert "Camp 7, building 3" in page


def test_an_editor_without_identity_rights_does_not_overwrite_hidden_fields(client, editor, person):
    client.force_login(editor)
    form = client.get(reverse("cases:prisoner-edit", args=[person.pk])).content.decode()
    assert "Kim Example" not in form and "Family in Hamhung" not in form
    response = client.post(
        reverse("cases:prisoner-edit", args=[person.pk]),
        {
            "code": "POW-A",
            "custody_status": person.custody_status,
            "captured_on_precision": "day",
            "wish_status": "unknown",
            "wish_expressed_on_precision": "day",
            "icrc_registration": "not_requested",
            "unhcr_registration": "not_requested",
            "risk_level": "imminent",
            "legal_name": "Overwritten",
            "notes": "",
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.risk_level == "imminent"
    assert (person.legal_name, person.notes) == ("Kim Example", "Family in Hamhung")


def test_codes_are_unique_per_organization_and_the_error_says_nothing_of_others(
    case, coordinator, person, partner_org, partner
):
    other_case = factories.make_case(lead_organization=partner_org, by=partner)
    same_code = services.prisoner_register(case=other_case, by=partner, code="POW-A")
    assert same_code.owner == partner_org
    with pytest.raises(ValidationError) as refused:
        services.prisoner_register(case=case, by=coordinator, code="POW-A")
    message = " ".join(refused.value.message_dict["code"])
    assert message == "Your organization already has a person with this code or pseudonym."
    assert Prisoner.objects.filter(code="POW-A").count() == 2


def test_a_person_on_no_shared_case_is_invisible_to_others(person, outsider):
    assert not access.prisoners_visible_to(outsider).exists()
    with pytest.raises(PermissionDenied):
        services.case_add_prisoner(
            case=factories.make_case(
                lead_organization=outsider.memberships.get().organization, by=outsider
            ),
            prisoner=person,
            by=outsider,
        )


def test_a_superuser_without_staff_status_must_use_two_factor_sign_in(db):
    superuser = factories.UserFactory(is_superuser=True, is_staff=False)
    assert two_factor_required(superuser)


@pytest.fixture
def worker_runs_tasks():
    from advocacy.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_partner_asks_and_the_owner_s_coordinator_accepts(
    client,
    case,
    coordinator,
    person,
    read_partner,
    partner_org,
    worker_runs_tasks,
    django_capture_on_commit_callbacks,
):
    from django.core import mail

    coordinator.email = "coord@example.org"
    coordinator.save()
    their_case = factories.make_case(lead_organization=partner_org, by=read_partner)
    client.force_login(read_partner)
    page = client.get(reverse("cases:prisoner-detail", args=[person.pk])).content.decode()
    assert "Ask to put on one of your cases" in page
    url = reverse("cases:prisoner-link-request", args=[person.pk])
    assert client.post(url, {"case": their_case.pk, "reason": ""}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"case": their_case.pk, "reason": "We visit him weekly"})
    assert response.status_code == 302
    assert not their_case.prisoners.exists()  # nothing until the owner decides
    [email] = mail.outbox
    assert email.to == ["coord@example.org"]
    assert "POW-A" in email.body and their_case.reference in email.body
    assert "Kim Example" not in email.body + email.alternatives[0][0]
    # The requester cannot decide their own request.
    link_request = PersonLinkRequest.objects.get()
    decide = reverse("cases:link-request-decide", args=[link_request.pk])
    assert client.post(decide, {"decision": "accept"}).status_code == 403
    client.force_login(coordinator)
    page = client.get(reverse("cases:prisoner-detail", args=[person.pk])).content.decode()
    assert "We visit him weekly" in page
    assert client.post(decide, {"decision": "accept"}).status_code == 302
    assert list(their_case.prisoners.all()) == [person]
    record = their_case.history.first()
    assert record.history_user == coordinator
    assert "at the request of partner_coordinator" in record.history_change_reason
    link_request.refresh_from_db()
    assert (link_request.status, link_request.decided_by) == ("accepted", coordinator)
    # Decided once: a second click changes nothing.
    client.post(decide, {"decision": "decline"})
    link_request.refresh_from_db()
    assert link_request.status == "accepted"


def test_a_declined_request_links_nothing(case, coordinator, person, read_partner, partner_org):
    their_case = factories.make_case(lead_organization=partner_org, by=read_partner)
    link_request = services.person_link_request(
        prisoner=person, case=their_case, by=read_partner, reason="please"
    )
    # Asking again while it is open is the same request.
    assert (
        services.person_link_request(
            prisoner=person, case=their_case, by=read_partner, reason="again"
        )
        == link_request
    )
    services.person_link_decide(link_request=link_request, by=coordinator, accept=False)
    assert not their_case.prisoners.exists()


def test_a_request_whose_asker_lost_the_case_cannot_be_accepted(
    case, coordinator, person, read_partner, partner_org, partner
):
    their_case = factories.make_case(lead_organization=partner_org, by=read_partner)
    link_request = services.person_link_request(
        prisoner=person, case=their_case, by=read_partner, reason="please"
    )
    read_partner.memberships.update(role="viewer")
    with pytest.raises(ValidationError):
        services.person_link_decide(link_request=link_request, by=coordinator, accept=True)
    assert not their_case.prisoners.exists()
