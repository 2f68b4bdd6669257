"""Urgent alerts: raised by the person services, emailed once through their outbox, worked
through a checklist on the case page, closed with a reason."""

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import (
    Alert,
    AlertCheck,
    AlertEmail,
    AlertEmailStatus,
    AlertKind,
    CustodyStatus,
    RiskLevel,
)
from cases.services import alerts
from cases.services.reminders.recovery import LEASE
from tests import factories

pytestmark = pytest.mark.django_db

LEGAL_NAME = "Kim Secretname"


@pytest.fixture
def world(lead_org, coordinator, editor, viewer, partner_org):
    """A case of the lead organization with one of its people; an editor assigned to a
    deadline who is also a coordinator elsewhere; a second coordinator of the lead."""
    case = factories.make_case(lead_organization=lead_org, by=coordinator, title="Case XYZ")
    person = factories.PrisonerFactory(
        owner=lead_org, code="POW-A", legal_name=LEGAL_NAME, risk_level=RiskLevel.HIGH
    )
    services.case_add_prisoner(case=case, prisoner=person, by=coordinator)
    second = factories.member(lead_org, "coordinator", username="second", email="second@x.org")
    # The coordinator is assigned too: coordinator and assignee, one email all the same.
    factories.make_deadline(case=case, by=coordinator, assignees=[editor, coordinator])
    return {"case": case, "person": person, "second": second}


def _raise_risk(world, by, level=RiskLevel.IMMINENT):
    return services.prisoner_update(prisoner=world["person"], by=by, risk_level=level)


def _recipients(alert):
    return sorted(alert.emails.values_list("recipient__username", flat=True))


def test_raising_risk_to_imminent_creates_one_alert_and_one_row_per_person(
    world, coordinator, editor, viewer
):
    _raise_risk(world, editor)
    alert = Alert.objects.get()
    assert (alert.kind, alert.case, alert.prisoner) == (
        AlertKind.IMMINENT_RISK,
        world["case"],
        world["person"],
    )
    assert alert.raised_by == editor and alert.raised_at is not None and alert.is_open
    # Owner's (= the case's) coordinators and the assignees, each once; not the viewer.
    assert _recipients(alert) == ["coordinator", "editor", "second"]
    assert [c.item for c in alert.checks.all()] == [
        "contact_icrc",
        "contact_unhcr",
        "notify_lawmaker",
        "urgent_petition",
    ]


def test_the_email_links_the_case_and_never_names_the_person(world, editor, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _raise_risk(world, editor)
    result = alerts.alert_emails_send()
    assert result.sent == 3 and len(mail.outbox) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        AlertEmail.objects.values_list("recipient__email", flat=True)
    )
    case = world["case"]
    url = settings.SITE_URL + reverse("cases:case-detail", args=[case.pk])
    for message in mail.outbox:
        html = message.alternatives[0][0]
        everything = f"{message.subject}\n{message.body}\n{html}"
        assert url in message.body and url in html
        assert case.reference in message.subject
        for secret in ("POW-A", LEGAL_NAME, "Case XYZ"):
            assert secret not in everything
        assert message.extra_headers["Message-ID"].startswith("<alert.")
    assert set(AlertEmail.objects.values_list("status", flat=True)) == {AlertEmailStatus.SENT}
    # A second round sends nothing again.
    assert alerts.alert_emails_send().sent == 0 and len(mail.outbox) == 3


def test_saving_again_with_the_same_risk_does_not_alert_again(world, editor):
    _raise_risk(world, editor)
    services.prisoner_update(prisoner=world["person"], by=editor, nationality="DPRK")
    _raise_risk(world, editor)
    assert Alert.objects.count() == 1
    assert AlertEmail.objects.count() == 3


def test_dropping_and_raising_again_alerts_again(world, editor):
    _raise_risk(world, editor)
    _raise_risk(world, editor, level=RiskLevel.HIGH)
    assert Alert.objects.count() == 1
    _raise_risk(world, editor)
    assert Alert.objects.count() == 2
    assert AlertEmail.objects.count() == 6


def test_a_custody_change_into_the_exchange_pool_alerts(world, coordinator):
    services.prisoner_change_custody(
        prisoner=world["person"],
        to=CustodyStatus.IN_EXCHANGE_POOL,
        by=coordinator,
        reason="Listed for the next exchange",
    )
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.EXCHANGE_POOL
    assert alert.reason == "Listed for the next exchange"
    assert alert.checks.first().item == "confirm_wish_icrc"
    assert _recipients(alert) == ["coordinator", "editor", "second"]
    # Out of the pool and back in: a new alert; another custody change: none.
    services.prisoner_change_custody(
        prisoner=world["person"], to=CustodyStatus.DETAINED, by=coordinator, reason="back"
    )
    services.prisoner_change_custody(
        prisoner=world["person"], to=CustodyStatus.IN_EXCHANGE_POOL, by=coordinator, reason="x"
    )
    assert Alert.objects.count() == 2


def test_muted_cases_still_get_urgent_alerts(world, editor):
    services.case_mute(user=editor, case=world["case"])
    _raise_risk(world, editor)
    assert "editor" in _recipients(Alert.objects.get())


def test_owner_coordinators_who_cannot_see_the_case_get_the_persons_page(
    lead_org, coordinator, partner_org, partner, settings
):
    """A person of the lead organization on a partner's case the lead cannot see."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    partner_case = factories.make_case(lead_organization=partner_org, by=partner)
    person = factories.PrisonerFactory(owner=lead_org, code="POW-Z")
    # Linked with the consent of both sides (here: the system, as a merge would).
    services.case_add_prisoner(
        case=partner_case, prisoner=person, by=services.system_actor("system:test")
    )
    services.prisoner_update(prisoner=person, by=coordinator, risk_level=RiskLevel.IMMINENT)
    assert alerts.alert_emails_send().sent == 1
    (message,) = [m for m in mail.outbox if m.to == [coordinator.email]]
    assert reverse("cases:prisoner-detail", args=[person.pk]) in message.body
    assert partner_case.reference not in message.body + message.subject
    assert "POW-Z" not in message.body + message.subject


def test_a_worker_that_died_mid_send_is_recovered_with_the_same_message_id(world, editor, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _raise_risk(world, editor)
    # A sender claimed every row and died before sending.
    now = timezone.now()
    AlertEmail.objects.update(
        status=AlertEmailStatus.SENDING,
        claim_token=uuid.uuid4(),
        claimed_by="celery@dead",
        claimed_at=now,
        lease_expires_at=now + LEASE,
        attempts=1,
    )
    ids = set(AlertEmail.objects.values_list("message_id", flat=True))
    assert alerts.alert_emails_send().sent == 0  # the lease still holds
    # The same worker starting again takes them back at once.
    assert (
        alerts.alert_emails_recover_worker(
            worker="celery@dead", started_at=now + dt.timedelta(seconds=1)
        )
        == 3
    )
    assert alerts.alert_emails_send().sent == 3
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == ids


def test_an_expired_lease_is_taken_back_by_the_sweep(world, editor, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _raise_risk(world, editor)
    past = timezone.now() - LEASE - dt.timedelta(seconds=1)
    AlertEmail.objects.update(
        status=AlertEmailStatus.SENDING,
        claim_token=uuid.uuid4(),
        claimed_by="celery@gone",
        claimed_at=past,
        lease_expires_at=past + dt.timedelta(seconds=30),
        attempts=1,
    )
    result = alerts.alert_emails_send()
    assert (result.recovered, result.sent) == (3, 3)


def test_a_refusing_mail_server_is_retried_then_a_refusal_fails(world, editor, smtp_server):
    _raise_risk(world, editor)
    smtp_server.handler.refuse_all = "451 4.3.0 Try again later"
    result = alerts.alert_emails_send()
    assert result.retrying == 3 and result.sent == 0
    assert set(AlertEmail.objects.values_list("status", flat=True)) == {AlertEmailStatus.PENDING}
    smtp_server.handler.refuse_all = None
    AlertEmail.objects.update(next_attempt_at=timezone.now())
    assert alerts.alert_emails_send().sent == 3
    assert len(smtp_server.messages) == 3
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 3


def test_the_checklist_is_ticked_and_unticked_on_record(world, editor, coordinator):
    _raise_risk(world, editor)
    check = AlertCheck.objects.get(item="contact_unhcr")
    alerts.alert_check_set(check=check, done=True, by=editor)
    check.refresh_from_db()
    assert check.done and check.done_by == editor and check.done_at is not None
    alerts.alert_check_set(check=check, done=False, by=coordinator)
    check.refresh_from_db()
    assert not check.done and check.done_by is None and check.done_at is None
    records = list(check.history.order_by("history_id"))
    assert [(r.done, r.history_user) for r in records] == [
        (False, editor),
        (True, editor),
        (False, coordinator),
    ]


def test_close_needs_a_reason_and_stops_unsent_email(world, editor):
    _raise_risk(world, editor)
    alert = Alert.objects.get()
    with pytest.raises(Exception, match="Say why"):
        alerts.alert_close(alert=alert, by=editor, reason=" ")
    alerts.alert_close(alert=alert, by=editor, reason="False alarm: list was wrong")
    alert.refresh_from_db()
    assert not alert.is_open and alert.closed_by == editor
    assert alert.history.first().history_change_reason == "False alarm: list was wrong"
    result = alerts.alert_emails_send()
    assert result.cancelled == 3 and result.sent == 0


def test_the_case_page_shows_the_banner_and_checklist(client, world, editor, viewer, coordinator):
    _raise_risk(world, editor)
    alert = Alert.objects.get()
    url = reverse("cases:case-detail", args=[world["case"].pk])

    client.force_login(viewer)  # may read the case, not tick
    body = client.get(url).content.decode()
    assert "Urgent alert" in body and "Contact UNHCR" in body and "POW-A" in body
    assert reverse("cases:alert-check", args=[alert.pk, "contact_unhcr"]) not in body

    # The person by code, for everyone: an identity is read on the person's page (a logged
    # reveal), never on the case page, not even by the owner's coordinator who may see it.
    for user in (viewer, coordinator):
        client.force_login(user)
        body = client.get(url).content.decode()
        assert "POW-A" in body and LEGAL_NAME not in body

    client.force_login(editor)
    tick = reverse("cases:alert-check", args=[alert.pk, "contact_unhcr"])
    assert tick in client.get(url).content.decode()
    response = client.post(tick, {"done": "1"})
    assert response.status_code == 302
    assert AlertCheck.objects.get(item="contact_unhcr").done_by == editor
    body = client.get(url).content.decode()
    assert "done by editor" in body
    assert "Every item is done." not in body
    for item in ("contact_icrc", "notify_lawmaker", "urgent_petition"):
        client.post(reverse("cases:alert-check", args=[alert.pk, item]), {"done": "1"})
    assert "Every item is done." in client.get(url).content.decode()

    close = reverse("cases:alert-close", args=[alert.pk])
    assert client.post(close, {"reason": ""}).status_code == 200  # re-rendered with an error
    assert Alert.objects.get().is_open
    assert client.post(close, {"reason": "All done"}).status_code == 302
    assert not Alert.objects.get().is_open
    assert "Urgent alert" not in client.get(url).content.decode()


def test_the_viewer_and_outsider_may_not_tick(client, world, editor, viewer, outsider):
    _raise_risk(world, editor)
    alert = Alert.objects.get()
    tick = reverse("cases:alert-check", args=[alert.pk, "contact_icrc"])
    client.force_login(viewer)
    assert client.post(tick, {"done": "1"}).status_code == 403
    client.force_login(outsider)
    assert client.post(tick, {"done": "1"}).status_code == 404
    assert not AlertCheck.objects.get(item="contact_icrc").done


def test_the_api_lists_open_alerts_by_code_with_their_checklist(
    client, world, editor, viewer, outsider
):
    from cases.services.tokens import api_token_create

    def token(user):
        return api_token_create(
            user=user, name="t", scope="read", expires_on=dt.date.today() + dt.timedelta(days=9)
        )[1]

    url = reverse("api:case-alerts", args=[world["case"].pk])
    _raise_risk(world, editor)
    check = AlertCheck.objects.get(item="contact_icrc")
    alerts.alert_check_set(check=check, done=True, by=editor)
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token(viewer)}")
    assert response.status_code == 200
    [alert] = response.json()
    assert alert["kind"] == AlertKind.IMMINENT_RISK and alert["raised_by"] == "editor"
    assert alert["person"]["code"] == "POW-A"
    assert LEGAL_NAME not in response.content.decode()
    first = alert["checks"][0]
    assert (first["item"], first["done"], first["done_by"]) == ("contact_icrc", True, "editor")
    assert [c["done"] for c in alert["checks"][1:]] == [False] * (len(alert["checks"]) - 1)
    # Closed alerts are gone; the outsider gets nothing.
    alerts.alert_close(alert=Alert.objects.get(), by=editor, reason="Handled")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token(viewer)}").json() == []
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token(outsider)}").status_code == 404


def test_refused_for_good_fails_without_retry(world, editor, smtp_server):
    _raise_risk(world, editor)
    smtp_server.handler.refuse_rcpt = {editor.email: "550 5.1.1 No such user"}
    result = alerts.alert_emails_send()
    assert (result.sent, result.failed) == (2, 1)
    failed = AlertEmail.objects.get(status=AlertEmailStatus.FAILED)
    assert failed.recipient == editor and "550" in failed.last_error


def test_staff_read_the_alerts_and_their_outbox_in_the_admin(admin_client, world, editor):
    _raise_risk(world, editor)
    for name in ("alert", "alertemail"):
        page = admin_client.get(reverse(f"admin:cases_{name}_changelist"))
        assert page.status_code == 200
        assert admin_client.get(reverse(f"admin:cases_{name}_add")).status_code == 403
    email = AlertEmail.objects.first()
    page = admin_client.get(reverse("admin:cases_alertemail_change", args=[email.pk]))
    assert page.status_code == 200 and email.message_id.strip("<>") in page.content.decode()
