"""The small things of issue 12: defaults on the case form, the no-JavaScript petition form,
the sign-in and sign-out pages, the favicon, abbreviations."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_new_case_form_defaults(client, editor, lead_org):
    client.force_login(editor)
    with time_machine.travel(dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)):
        form = client.get(reverse("cases:case-create")).context["form"]
    assert form["opened_on"].value() == dt.date(2026, 3, 4)
    assert form["lead_organization"].value() == lead_org.pk
    # With two organizations to choose from, none is chosen for the user.
    factories.member(factories.OrganizationFactory(name="Second"), "editor", username="editor")
    client.force_login(editor)  # a new session: the one above began in March
    form = client.get(reverse("cases:case-create")).context["form"]
    assert form["lead_organization"].value() is None


def test_petition_form_without_javascript_has_three_request_rows(client, editor, case):
    client.force_login(editor)
    page = client.get(reverse("cases:petition-create", args=[case.pk])).content.decode()
    assert 'name="requests-TOTAL_FORMS" value="3"' in page
    assert 'id="id_requests-2-kind"' in page
    assert 'data-formset-add="requests" hidden' in page  # shown by JavaScript only


def test_sign_in_error_marks_no_field(client, editor):
    response = client.post(reverse("login"), {"username": "editor", "password": "wrong one!"})
    page = response.content.decode()
    assert "Please enter a correct username and password" in page
    assert "has-error" not in page and "aria-invalid" not in page


def test_signing_out_shows_a_confirmation(client, editor):
    client.post(reverse("login"), {"username": "editor", "password": factories.PASSWORD})
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("cases:signed-out")
    assert "You are signed out" in response.content.decode()


def test_no_menu_before_the_second_step(client, coordinator):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=coordinator, name="Phone", confirmed=True)
    client.post(reverse("login"), {"username": "coordinator", "password": factories.PASSWORD})
    page = client.get(reverse("cases:two-factor-verify")).content.decode()
    assert "Type your code" in page
    assert "My work" not in page and 'href="/settings/"' not in page
    assert "Sign out" in page  # one can still leave


def test_favicon_and_abbreviations(client, viewer, lead_org, coordinator):
    lead_org.short_name = "LO"
    lead_org.save()
    case = factories.make_case(lead_organization=lead_org, by=coordinator)
    authority = factories.AuthorityFactory(name="Security Service of Ukraine", short_name="SBU")
    factories.make_petition(case=case, by=coordinator, addressed_to=authority)
    client.force_login(viewer)
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert '<abbr title="Security Service of Ukraine">SBU</abbr>' in page
    assert '<abbr title="Lead Organization">LO</abbr>' in page  # filed by
    page = client.get(reverse("cases:case-list")).content.decode()
    assert 'rel="icon"' in page
    assert '<abbr title="Lead Organization">LO</abbr>' in page
    assert client.get("/static/favicon.svg").status_code == 200
