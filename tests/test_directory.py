"""The directory: organizations and authorities, searched by all, kept up by their users,
duplicates merged by staff with every reference moved."""

import datetime as dt

import pytest
from django.urls import reverse

from cases import services
from cases.models import Authority, CaseShare, Event, Membership, Organization, Petition
from cases.services import directory
from tests import factories

pytestmark = pytest.mark.django_db


def test_search_and_abbreviations(client, viewer):
    factories.AuthorityFactory(
        name="International Committee of the Red Cross", short_name="ICRC", country=""
    )
    factories.AuthorityFactory(name="Security Service of Ukraine", short_name="SBU")
    client.force_login(viewer)
    page = client.get(reverse("cases:authority-list"), {"q": "red cross"}).content.decode()
    assert '<abbr title="International Committee of the Red Cross">ICRC</abbr>' in page
    assert "Security Service" not in page
    page = client.get(reverse("cases:authority-list"), {"q": "sbu"}).content.decode()
    assert "Security Service of Ukraine" in page and "Red Cross" not in page
    page = client.get(reverse("cases:organization-list"), {"q": "Lead"}).content.decode()
    assert "Lead Organization" in page


def test_an_editor_adds_an_authority_and_returns_to_the_form(client, editor, viewer, case):
    petition_form = reverse("cases:petition-create", args=[case.pk])
    client.force_login(editor)
    page = client.get(petition_form).content.decode()
    assert "An authority is missing? Add it" in page  # the no-JavaScript link, with next=
    response = client.post(
        reverse("cases:authority-create") + f"?next={petition_form}",
        {"name": "Coordination Headquarters", "kind": "government_body", "country": "Ukraine"},
    )
    assert response.status_code == 302 and response.url == petition_form
    authority = Authority.objects.get(name="Coordination Headquarters")
    assert authority.history.get().history_user == editor
    assert "Coordination Headquarters" in client.get(petition_form).content.decode()
    client.force_login(viewer)
    assert client.get(reverse("cases:authority-create")).status_code == 403


def test_inline_add_with_htmx_answers_a_fragment(client, editor):
    client.force_login(editor)
    url = reverse("cases:authority-create") + "?inline=id_addressed_to"
    form = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in form and 'name="new_authority-name"' in form
    refused = client.post(url, {"new_authority-name": "", "new_authority-kind": "court"})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    assert not Authority.objects.exists()
    added = client.post(
        url,
        {"new_authority-name": "Kyiv District Court", "new_authority-kind": "court"},
        headers={"HX-Request": "true"},
    ).content.decode()
    authority = Authority.objects.get()
    assert f'data-value="{authority.pk}"' in added and 'data-target="id_addressed_to"' in added
    # An id that is not an id is not echoed back: the full page is answered instead.
    page = client.get(reverse("cases:authority-create") + '?inline="><script>').content.decode()
    assert "<script>" not in page.split("<main", 1)[1].split("</main>")[0]


def test_coordinators_edit_their_own_organization_only(client, coordinator, lead_org, outsider):
    client.force_login(coordinator)
    url = reverse("cases:organization-edit", args=[lead_org.pk])
    response = client.post(url, {"name": "Lead Organization", "short_name": "LO", "kind": "ngo"})
    assert response.status_code == 302
    lead_org.refresh_from_db()
    assert lead_org.short_name == "LO"
    theirs = Membership.objects.get(user=outsider).organization
    edit_theirs = reverse("cases:organization-edit", args=[theirs.pk])
    assert client.post(edit_theirs, {"name": "Hijacked", "kind": "ngo"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.name == "Outside"
    # An affiliate cannot become its own grandparent.
    child = factories.OrganizationFactory(name="Child", parent=lead_org)
    response = client.post(url, {"name": "Lead Organization", "kind": "ngo", "parent": child.pk})
    assert response.status_code == 400
    assert Organization.objects.get(pk=lead_org.pk).parent is None


def test_staff_merge_authorities_moves_every_reference(client, staff, coordinator, case):
    keep = factories.AuthorityFactory(name="Security Service of Ukraine")
    duplicate = factories.AuthorityFactory(name="SBU (Security Service)")
    petition = factories.make_petition(
        case=case, by=coordinator, addressed_to=duplicate, copied_to=[duplicate]
    )
    event = services.event_log(
        case=case,
        by=coordinator,
        kind="meeting",
        title="Questioning",
        occurred_on=dt.date(2025, 1, 20),
        authorities=[duplicate],
    )
    prisoner = factories.PrisonerFactory(detaining_authority=duplicate)
    client.force_login(staff)
    response = client.post(
        reverse("cases:authority-merge", args=[keep.pk]),
        {"duplicate": duplicate.pk, "reason": "Same service"},
    )
    assert response.status_code == 302
    assert not Authority.objects.filter(pk=duplicate.pk).exists()
    petition = Petition.objects.get(pk=petition.pk)
    assert petition.addressed_to == keep and list(petition.copied_to.all()) == [keep]
    assert list(Event.objects.get(pk=event.pk).authorities.all()) == [keep]
    prisoner.refresh_from_db()
    assert prisoner.detaining_authority == keep
    reason = petition.history.latest().history_change_reason
    assert reason.startswith("Merged SBU (Security Service)") and reason.endswith("Same service")
    gone = Authority.history.filter(id=duplicate.pk).latest()
    assert gone.history_type == "-" and gone.history_user == staff


def test_staff_merge_organizations_keeps_one_membership_and_no_self_share(
    coordinator, staff, lead_org, case
):
    duplicate = factories.OrganizationFactory(name="Lead Org (duplicate)")
    factories.member(duplicate, "viewer", username="coordinator")  # the same person in both
    newcomer = factories.member(duplicate, "editor", username="newcomer")
    services.case_share(
        case=case, organization=duplicate, level="read", by=coordinator, reason="dup"
    )
    other_case = factories.make_case(lead_organization=duplicate, by=coordinator)
    directory.organization_merge(keep=lead_org, duplicate=duplicate, by=staff, reason="dup")
    assert Membership.objects.get(user=coordinator).role == "coordinator"
    assert Membership.objects.get(user=newcomer).organization == lead_org
    other_case.refresh_from_db()
    assert other_case.lead_organization == lead_org
    assert not CaseShare.objects.filter(case=case).exists()
    assert not Organization.objects.filter(pk=duplicate.pk).exists()


def test_merge_is_for_staff(client, coordinator, lead_org):
    other = factories.OrganizationFactory(name="Other")
    client.force_login(coordinator)
    url = reverse("cases:organization-merge", args=[lead_org.pk])
    assert client.post(url, {"duplicate": other.pk}).status_code == 403
    assert Organization.objects.filter(pk=other.pk).exists()
