"""The web app as each persona meets it: what they see, what they may change."""

import datetime as dt

import pytest
from django.urls import reverse

from cases import services
from cases.models import CaseShare, Deadline, Event, Petition, PetitionRequest
from tests import factories


@pytest.fixture
def scenario(case, coordinator, partner_org):
    petition = factories.make_petition(case=case, by=coordinator, title="Protection petition")
    deadline = factories.make_deadline(case=case, by=coordinator, petition=petition)
    prisoner = factories.PrisonerFactory(
        code="POW-A", legal_name="Secret Legal Name", owner=case.lead_organization
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    services.case_share(
        case=case,
        organization=partner_org,
        level=CaseShare.Level.READ,
        by=coordinator,
        reason="partner follows",
    )
    return {"case": case, "petition": petition, "deadline": deadline, "prisoner": prisoner}


def as_user(client, user):
    if user is not None:
        client.force_login(user)
    return client


PERSONAS = ["coordinator", "editor", "viewer", "partner", "outsider", "anonymous"]


def persona(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("coordinator", 200),
        ("editor", 200),
        ("viewer", 200),
        ("partner", 200),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_case_page(request, client, scenario, name, expected):
    user = persona(request, name)
    response = as_user(client, user).get(reverse("cases:case-detail", args=[scenario["case"].pk]))
    assert response.status_code == expected
    if expected == 302:
        assert response.url.startswith(reverse("login"))
    if expected == 200:
        body = response.content.decode()
        assert "Protection petition" in body
        assert "POW-A" in body
        # Identities are need-to-know: the case page never shows a legal name.
        assert "Secret Legal Name" not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("coordinator", 200),
        ("editor", 200),
        ("viewer", 403),
        ("partner", 403),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_who_may_log_a_petition(request, client, scenario, name, expected):
    user = persona(request, name)
    url = reverse("cases:petition-create", args=[scenario["case"].pk])
    assert as_user(client, user).get(url).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [("coordinator", 200), ("editor", 403), ("viewer", 403), ("partner", 403), ("outsider", 404)],
)
def test_only_coordinators_change_case_status_and_sharing(
    request, client, scenario, name, expected
):
    user = persona(request, name)
    client = as_user(client, user)
    for route in ("cases:case-status", "cases:case-share"):
        assert client.get(reverse(route, args=[scenario["case"].pk])).status_code == expected


@pytest.mark.django_db
def test_partner_with_edit_share_may_add(client, scenario, coordinator, partner, partner_org):
    services.case_share(
        case=scenario["case"],
        organization=partner_org,
        level=CaseShare.Level.EDIT,
        by=coordinator,
        reason="partner visits in person",
    )
    client.force_login(partner)
    url = reverse("cases:event-create", args=[scenario["case"].pk])
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_case_page_lists_the_latest_petitions_and_links_to_all(client, case, editor):
    """The petitions card stays short on a long case; all of them are on the timeline."""
    for n in range(12):
        factories.make_petition(
            case=case, by=editor, title=f"Petition {n:02}", filed_on=dt.date(2026, 1, 1 + n)
        )
    client.force_login(editor)
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    card = page[page.index('id="petitions-heading"') :]
    assert "Petition 11" in card and "Petition 02" in card and "Petition 01" not in card
    assert 'href="?kind=petition#timeline">All 12 petitions on the timeline' in card
    filtered = client.get(reverse("cases:case-detail", args=[case.pk]), {"kind": "petition"})
    timeline = filtered.content.decode().split('id="timeline-list"')[1]
    assert "Petition 00" in timeline and "Petition 11" in timeline


@pytest.mark.django_db
def test_case_list_shows_only_visible_cases(client, scenario, outsider, editor):
    factories.make_case(title="Other organization's case")
    client.force_login(editor)
    body = client.get(reverse("cases:case-list")).content.decode()
    assert scenario["case"].reference in body
    assert "Other organization" not in body
    client.force_login(outsider)
    body = client.get(reverse("cases:case-list")).content.decode()
    assert scenario["case"].reference not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["POW-A", "Protection", "A case", "Authority"],
)
def test_case_search_finds_by_prisoner_petition_title_and_authority(
    client, scenario, editor, query
):
    client.force_login(editor)
    body = client.get(reverse("cases:case-list"), {"q": query}).content.decode()
    assert scenario["case"].reference in body


@pytest.mark.django_db
def test_case_search_with_no_match_says_so(client, scenario, editor):
    client.force_login(editor)
    body = client.get(reverse("cases:case-list"), {"q": "zzzz-nothing"}).content.decode()
    assert scenario["case"].reference not in body
    assert "No case matches" in body


@pytest.mark.django_db
def test_overdue_filter(client, scenario, editor):
    client.force_login(editor)
    # The deadline in the scenario (8 January 2026) is in the past and still open.
    body = client.get(reverse("cases:case-list"), {"overdue": "on"}).content.decode()
    assert scenario["case"].reference in body
    services.deadline_change_status(
        deadline=scenario["deadline"], to="done", by=editor, reason="visited"
    )
    body = client.get(reverse("cases:case-list"), {"overdue": "on"}).content.decode()
    assert scenario["case"].reference not in body


def petition_post(case, **overrides):
    data = {
        "title": "Petition for protection",
        "reference": "EC-2026-01",
        "addressed_to": factories.AuthorityFactory(name="Coordination HQ").pk,
        "filed_by": [case.lead_organization_id],
        "status": "filed",
        "filed_on": "2026-01-03",
        "channel": "in_person",
        "legal_bases": ["non_refoulement", "gc3_lawyer_access"],
        "legal_basis_other": "",
        "summary": "Asks for protection.",
        "requests-TOTAL_FORMS": "2",
        "requests-INITIAL_FORMS": "0",
        "requests-MIN_NUM_FORMS": "0",
        "requests-MAX_NUM_FORMS": "1000",
        "requests-0-kind": "non_refoulement",
        "requests-0-text": "Apply non-refoulement.",
        "requests-0-outcome": "pending",
        "requests-1-kind": "lawyer_access",
        "requests-1-text": "Guarantee lawyer visits.",
        "requests-1-outcome": "pending",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_filing_a_petition_with_requests(client, case, editor):
    client.force_login(editor)
    response = client.post(reverse("cases:petition-create", args=[case.pk]), petition_post(case))
    petition = Petition.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("cases:petition-detail", args=[petition.pk])
    assert list(petition.requests.values_list("kind", flat=True)) == [
        "non_refoulement",
        "lawyer_access",
    ]
    assert petition.history.first().history_user == editor
    page = client.get(response.url).content.decode()
    assert "Petition logged." in page


@pytest.mark.django_db
def test_invalid_petition_saves_nothing_not_even_its_requests(client, case, editor):
    client.force_login(editor)
    data = petition_post(case, filed_on="", **{"requests-1-kind": "not-a-kind"})
    response = client.post(reverse("cases:petition-create", args=[case.pk]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Give the day the petition was filed." in body
    assert "Petition for protection" in body  # the user's input is kept
    assert Petition.objects.count() == 0
    assert PetitionRequest.objects.count() == 0


@pytest.mark.django_db
def test_petition_with_a_refused_document_saves_nothing(client, case, editor, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(editor)
    data = petition_post(case, documents=[SimpleUploadedFile("virus.exe", b"MZ")])
    response = client.post(reverse("cases:petition-create", args=[case.pk]), data)
    assert response.status_code == 200
    assert "Files of this type cannot be stored" in response.content.decode()
    assert Petition.objects.count() == 0
    assert not any(tmp_path.rglob("*.*"))


@pytest.mark.django_db
def test_changing_petition_status_offers_only_allowed_and_needs_a_reason(client, scenario, editor):
    client.force_login(editor)
    petition = scenario["petition"]
    url = reverse("cases:petition-status", args=[petition.pk])
    form = client.get(url).context["form"]
    assert "draft" not in dict(form.fields["to"].choices)
    assert "acknowledged" in dict(form.fields["to"].choices)
    response = client.post(url, {"to": "acknowledged", "reason": ""})
    assert response.status_code == 200
    petition.refresh_from_db()
    assert petition.status == "filed"
    response = client.post(
        url,
        {
            "to": "acknowledged",
            "reason": "Receipt confirmed at the visit",
            "expect_reply_by": "2026-02-15",
            # The scenario's dates lie in the past of the real clock: a reply due then is
            # asked about first (tests/test_plausibility.py), here it is confirmed.
            "confirmed": "on",
        },
    )
    assert response.status_code == 302
    petition.refresh_from_db()
    assert petition.status == "acknowledged"
    reply_due = Deadline.objects.get(kind="reply_due")
    assert reply_due.due_on == dt.date(2026, 2, 15)
    assert reply_due.petition == petition
    timeline = client.get(reverse("cases:case-detail", args=[scenario["case"].pk])).content.decode()
    assert "Receipt confirmed at the visit" in timeline


@pytest.mark.django_db
def test_a_refused_transition_is_shown_not_raised(client, scenario, editor):
    client.force_login(editor)
    url = reverse("cases:petition-status", args=[scenario["petition"].pk])
    response = client.post(url, {"to": "draft", "reason": "back to draft"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_quick_add_event_with_htmx_returns_the_timeline(client, scenario, editor):
    client.force_login(editor)
    url = reverse("cases:event-create", args=[scenario["case"].pk])
    response = client.post(
        url,
        {
            "quick": "1",
            "kind": "visit",
            "occurred_on": "2025-03-10",
            "occurred_on_precision": "month",
            "title": "Lawmaker's visit",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lawmaker&#x27;s visit" in body
    assert "March 2025" in body
    assert "<html" not in body  # a fragment, not a page
    event = Event.objects.get(title="Lawmaker's visit")
    assert event.occurred_on == dt.date(2025, 3, 1)


@pytest.mark.django_db
def test_quick_add_without_javascript_redirects(client, scenario, editor):
    client.force_login(editor)
    url = reverse("cases:event-create", args=[scenario["case"].pk])
    response = client.post(
        url,
        {
            "quick": "1",
            "kind": "letter",
            "occurred_on": "2025-12-01",
            "occurred_on_precision": "month",
            "title": "Letters released",
        },
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_month_deadline_shows_honestly_on_the_case_page(client, scenario, editor, time_machine):
    time_machine.move_to(dt.datetime(2026, 1, 26, 12, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(editor)
    response = client.post(
        reverse("cases:deadline-create", args=[scenario["case"].pk]),
        {
            "kind": "exchange_window",
            "title": "Exchange window",
            "due_on": "2026-04-01",
            "due_precision": "month",
            "reminder_days": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deadline = Deadline.objects.get(kind="exchange_window")
    assert deadline.due_on == dt.date(2026, 4, 30)
    assert deadline.reminder_days == [30, 14, 7, 1]
    page = client.get(reverse("cases:case-detail", args=[scenario["case"].pk])).content.decode()
    assert "by end of April 2026 — 94 days left" in page


@pytest.mark.django_db
def test_custody_change_asks_for_a_reason(client, scenario, coordinator):
    client.force_login(coordinator)
    prisoner = scenario["prisoner"]
    url = reverse("cases:prisoner-edit", args=[prisoner.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"custody_status": "transferred", "change_reason": ""})
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Say why the custody status changes." in response.content.decode()
    data.update({"change_reason": "Moved to another camp", "place_of_detention": "Camp 2"})
    response = client.post(url, data)
    assert response.status_code == 302
    prisoner.refresh_from_db()
    assert prisoner.custody_status == "transferred"
    assert prisoner.place_of_detention == "Camp 2"
    assert prisoner.history.first().history_change_reason == "Moved to another camp"


@pytest.mark.django_db
def test_unknown_ids_give_404_and_wrong_methods_405(client, scenario, editor):
    client.force_login(editor)
    assert client.get(reverse("cases:case-detail", args=[999999])).status_code == 404
    assert client.get(reverse("cases:petition-detail", args=[999999])).status_code == 404
    assert client.get("/cases/not-a-number/").status_code == 404
    assert client.put(reverse("cases:case-create")).status_code == 405
    assert client.get(reverse("cases:set-language")).status_code == 405


@pytest.mark.django_db
def test_home_lists_my_deadlines_first_and_waiting_petitions(
    client, scenario, coordinator, editor, time_machine
):
    time_machine.move_to(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), tick=False)
    case = scenario["case"]
    theirs = factories.make_deadline(
        case=case, by=coordinator, title="Theirs", due_on=dt.date(2026, 1, 6)
    )
    mine = factories.make_deadline(
        case=case, by=coordinator, title="Mine", due_on=dt.date(2026, 1, 20), assignees=[editor]
    )
    client.force_login(editor)
    response = client.get(reverse("cases:home"))
    deadlines = response.context["deadlines"]
    assert deadlines[0] == mine
    assert theirs in deadlines
    body = response.content.decode()
    assert "Protection petition" in body
    assert "waiting 2 days" in body


@pytest.mark.django_db
def test_language_switch_and_user_time_zone(client, scenario, editor):
    client.force_login(editor)
    response = client.post(reverse("cases:set-language"), {"language": "uk", "next": "/cases/"})
    assert response.status_code == 302
    assert response.url == "/cases/"
    body = client.get(reverse("cases:case-list")).content.decode()
    assert 'lang="uk"' in body
    # An outside address is not followed.
    response = client.post(
        reverse("cases:set-language"), {"language": "ko", "next": "https://evil.example/"}
    )
    assert response.url == "/"


@pytest.mark.django_db
def test_document_upload_shows_the_hash_and_download_is_checked(
    client, scenario, editor, outsider, settings, tmp_path
):
    import hashlib

    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(editor)
    content = b"%PDF-1.4 petition"
    response = client.post(
        reverse("cases:document-upload", args=[scenario["case"].pk]),
        {"file": SimpleUploadedFile("petition.pdf", content), "title": "Signed petition"},
        follow=True,
    )
    assert hashlib.sha256(content).hexdigest() in response.content.decode()
    document = response.context["document"]
    download = client.get(reverse("cases:document-download", args=[document.pk]))
    assert b"".join(download.streaming_content) == content
    client.force_login(outsider)
    assert client.get(reverse("cases:document-download", args=[document.pk])).status_code == 404
    client.force_login(editor)
    response = client.post(
        reverse("cases:document-upload", args=[scenario["case"].pk]),
        {"file": SimpleUploadedFile("page.html", b"<html>"), "title": "x"},
    )
    assert response.status_code == 200
    assert "Files of this type cannot be stored" in response.content.decode()


@pytest.mark.django_db
def test_sign_in_page_and_sign_out(client, editor):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    response = client.post(reverse("login"), {"username": "editor", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("cases:home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("cases:home")).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("coordinator", 200),
        ("editor", 403),
        ("viewer", 403),
        ("partner", 403),
        ("outsider", 404),
        ("anonymous", 302),
    ],
)
def test_revealing_an_identity_is_for_coordinators_and_is_logged(
    request, client, scenario, name, expected
):
    from cases.models import AccessLog

    user = persona(request, name)
    prisoner = scenario["prisoner"]
    client = as_user(client, user)
    detail = client.get(reverse("cases:prisoner-detail", args=[prisoner.pk]))
    if detail.status_code == 200:
        body = detail.content.decode()
        assert "Secret Legal Name" not in body
        assert ("Reveal the identity" in body) == (name == "coordinator")
    response = client.post(reverse("cases:prisoner-reveal", args=[prisoner.pk]))
    assert response.status_code == expected
    reveals = AccessLog.objects.filter(action="reveal_identity")
    if expected == 200:
        assert "Secret Legal Name" in response.content.decode()
        assert reveals.get().user == user
        # On the owner's record: the person's own access log.
        assert reveals.get().prisoner == prisoner
        log = client.get(reverse("cases:prisoner-access-log", args=[prisoner.pk]))
        assert "Revealed an identity" in log.content.decode()
    else:
        assert not reveals.exists()


@pytest.mark.django_db
def test_member_granted_identity_access_may_reveal(client, scenario, editor, lead_org):
    from cases.models import Membership

    membership = Membership.objects.get(user=editor, organization=lead_org)
    membership.identity_access = True
    membership.save()
    client.force_login(editor)
    response = client.post(reverse("cases:prisoner-reveal", args=[scenario["prisoner"].pk]))
    assert response.status_code == 200
    assert "Secret Legal Name" in response.content.decode()


@pytest.mark.django_db
def test_viewing_a_case_is_logged_and_the_log_is_for_coordinators(
    client, scenario, editor, coordinator
):
    from cases.models import AccessLog

    client.force_login(editor)
    client.get(reverse("cases:case-detail", args=[scenario["case"].pk]))
    assert AccessLog.objects.filter(action="view_case", user=editor).count() == 1
    assert (
        client.get(reverse("cases:case-access-log", args=[scenario["case"].pk])).status_code == 403
    )
    client.force_login(coordinator)
    body = client.get(reverse("cases:case-access-log", args=[scenario["case"].pk])).content.decode()
    assert "editor" in body and "Viewed the case" in body


@pytest.mark.django_db
def test_the_access_log_cannot_be_changed(scenario, editor):
    from cases.models import AccessLog
    from cases.services import access_log_record

    row = access_log_record(user=editor, action="view_case", case=scenario["case"])
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.update(target="x")


@pytest.mark.django_db
def test_unsharing_ends_the_partners_access_and_is_on_record(
    client, scenario, coordinator, partner
):
    from cases.models import CaseShare

    share = CaseShare.objects.get(case=scenario["case"])
    client.force_login(partner)
    assert client.get(reverse("cases:case-detail", args=[scenario["case"].pk])).status_code == 200
    client.force_login(coordinator)
    response = client.post(
        reverse("cases:case-unshare", args=[scenario["case"].pk, share.pk]),
        {"reason": "Partner left the coalition"},
    )
    assert response.status_code == 302
    deleted = CaseShare.history.filter(history_type="-").get()
    assert deleted.history_user == coordinator
    assert deleted.history_change_reason == "Partner left the coalition"
    client.force_login(partner)
    assert client.get(reverse("cases:case-detail", args=[scenario["case"].pk])).status_code == 404


@pytest.mark.django_db
def test_failed_reminders_show_on_the_case_page_and_coordinators_send_them_again(
    client, scenario, coordinator, editor, viewer
):
    from cases.models import Reminder, ReminderStatus

    reminder = scenario["deadline"].reminders.order_by("pk").first()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.FAILED, attempts=8, last_error="550 mailbox unavailable"
    )
    url = reverse("cases:case-detail", args=[scenario["case"].pk])
    retry = reverse("cases:reminder-retry", args=[reminder.pk])

    client.force_login(viewer)
    assert "Reminders that could not be sent" not in client.get(url).content.decode()
    client.force_login(editor)
    page = client.get(url).content.decode()
    assert "not sent after 8 attempts" in page and "550 mailbox unavailable" in page
    assert retry not in page  # editors see it; the coordinators act on it
    assert client.post(retry).status_code == 403

    client.force_login(coordinator)
    page = client.get(url).content.decode()
    assert retry in page
    response = client.post(retry, follow=True)
    assert "will be sent again" in response.content.decode()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 0)
    assert "Reminders that could not be sent" not in response.content.decode()
    again = client.post(retry, follow=True).content.decode()
    assert "no longer waiting to be sent again" in again


@pytest.mark.django_db
def test_the_case_page_shows_every_change_at_once(
    client, scenario, coordinator, lead_org, time_machine
):
    """Parts of the case page are cached (case_detail.html); none may lag behind a change."""
    time_machine.move_to(dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC), tick=False)
    case = scenario["case"]
    url = reverse("cases:case-detail", args=[case.pk])
    client.force_login(coordinator)

    def page() -> str:
        client.get(url)  # whatever is cached now is served on the second request
        return client.get(url).content.decode()

    page()
    services.case_update(case=case, by=coordinator, title="Renamed case")
    assert "Renamed case" in page()
    services.prisoner_change_custody(
        prisoner=scenario["prisoner"], to="hospitalized", by=coordinator, reason="Wounds"
    )
    assert "Hospitalized" in page()
    factories.make_deadline(
        case=case, by=coordinator, title="Visit on Thursday", due_on=dt.date(2026, 3, 5)
    )
    assert "Visit on Thursday" in page() and "in 3 days" in page()
    # The next morning, well within the cache's own time limit: the key follows the day.
    time_machine.move_to(dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(coordinator)  # the session ended after 30 idle minutes
    assert "in 2 days" in page()  # the countdown follows the calendar
    factories.make_petition(case=case, by=coordinator, title="Newest petition")
    lists = page().split('id="petitions-heading"')[1]
    assert "Newest petition" in lists
    lead_org.name = "Renamed organization"
    lead_org.save()  # as the admin does
    assert "Renamed organization" in page()
    other = factories.OrganizationFactory(name="New partner")
    services.case_share(case=case, organization=other, level="read", by=coordinator, reason="r")
    assert "New partner" in page()
    services.case_change_status(case=case, to="closed", by=coordinator, reason="Released")
    assert "status-closed" in page()


@pytest.mark.django_db
def test_the_case_list_shows_every_change_at_once(client, scenario, coordinator, lead_org):
    """The list's rows are cached per case version (cases/views/cases.py)."""
    case = scenario["case"]
    client.force_login(coordinator)

    def rows() -> str:
        client.get(reverse("cases:case-list"))  # whatever is cached now is served next
        page = client.get(reverse("cases:case-list")).content.decode()
        return page[page.index("<tbody>") :]

    assert "POW-A" in rows()
    services.case_update(case=case, by=coordinator, title="Renamed in the list")
    assert "Renamed in the list" in rows()
    services.case_add_prisoner(
        case=case,
        prisoner=factories.PrisonerFactory(code="POW-LATE", owner=case.lead_organization),
        by=coordinator,
    )
    assert "POW-LATE" in rows()
    services.prisoner_update(prisoner=scenario["prisoner"], by=coordinator, code="POW-RECODED")
    assert "POW-RECODED" in rows()
    services.case_change_status(case=case, to="monitoring", by=coordinator, reason="Quiet")
    assert "status-monitoring" in rows()
    lead_org.name, lead_org.short_name = "Renamed lead", ""
    lead_org.save()
    assert "Renamed lead" in rows()
    services.deadline_change_status(
        deadline=scenario["deadline"], to="done", by=coordinator, reason="Visited"
    )
    factories.make_deadline(case=case, by=coordinator, due_on=dt.date(2031, 7, 9))
    assert "July 9, 2031" in rows()


@pytest.mark.django_db
def test_the_case_list_filters_follow_the_directory_and_the_request(client, scenario, editor):
    """The search form is cached per version of the directory and per query."""
    court = factories.AuthorityFactory(name="Old court name")
    client.force_login(editor)
    url = reverse("cases:case-list")
    client.get(url)
    assert "Old court name" in client.get(url).content.decode()
    court.name = "New court name"
    court.save()  # as the admin does
    page = client.get(url).content.decode()
    assert "New court name" in page and "Old court name" not in page
    searched = client.get(url, {"q": "Protection", "authority": court.pk}).content.decode()
    assert 'value="Protection"' in searched
    assert f'<option value="{court.pk}" selected>New court name</option>' in searched
    bad = client.get(url, {"authority": "999999"}).content.decode()
    assert "Select a valid choice" in bad
    assert 'value="Protection"' not in client.get(url).content.decode()
