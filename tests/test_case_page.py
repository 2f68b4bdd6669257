"""The case page's per-request reads: few, and each reader gets only what is theirs.

- Seen again, the page makes a fixed, small number of queries: the session, the user, the
  case with the reader's level (one query), and the page's versions with the reader's flags
  (one query), which on PostgreSQL also counts the view on record (SQLite: one more). No
  second read of the memberships, no profile, no query for the menu's "Team" link.
- Views commit without waiting for the disk flush, and only their own transaction does.
- The level read in one query is the one the access rules give (``access.case_level``) for
  every persona, and a case out of reach is a 404 as before.
- The reader's own flags (muted, failed reminders, open alerts) are read for them on every
  view, never taken from another reader's copy.
"""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import access, services
from cases.access import Level
from cases.models import AccessLog, CaseViewSession, Membership, Reminder, ReminderStatus
from tests import factories

pytestmark = pytest.mark.django_db


# session, user, the case with the reader's level, the versions and flags with the view
# counted on record in the same statement (SQLite: the count is a statement of its own). A
# regression (a lazy read, a second access check, a query per flag) fails here.
def _seen_again_queries() -> int:
    return 4 if connection.vendor == "postgresql" else 5


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def shared_case(case, coordinator, partner_org):
    services.case_share(
        case=case, organization=partner_org, level="edit", by=coordinator, reason="Partner"
    )
    return case


@pytest.mark.parametrize("reader", ["editor", "viewer", "partner"])
def test_the_case_page_seen_again_makes_four_queries(shared_case, reader, request, client):
    user = request.getfixturevalue(reader)
    client.force_login(user)
    url = reverse("cases:case-detail", args=[shared_case.pk])
    client.get(url)
    client.get(url)
    queries = _queries(client, url)
    assert len(queries) == _seen_again_queries(), "\n".join(queries)
    joined = "\n".join(queries)
    if connection.vendor == "postgresql":  # the view is counted by the state query itself
        (state,) = [q for q in queries if "cases_timelineversion" in q]
        assert 'UPDATE "cases_caseviewsession"' in state
    assert joined.count("cases_membership") == 1  # the reader's memberships, read once
    assert "cases_userprofile_muted_cases" in joined  # the mute flag, in the state query
    assert 'FROM "cases_userprofile"' not in joined  # no profile loaded for it
    assert "'coordinator'" not in joined  # the menu's "Team" link is kept in the session
    assert "search_case_words" not in joined  # nor the case's search document


def test_every_view_is_still_on_record(shared_case, editor, client):
    client.force_login(editor)
    url = reverse("cases:case-detail", args=[shared_case.pk])
    for _ in range(3):
        client.get(url)
    first = AccessLog.objects.get(case=shared_case, action=AccessLog.Action.VIEW_CASE)
    assert first.user == editor
    assert CaseViewSession.objects.get(first=first).count == 3


def test_a_reader_who_lost_access_is_not_counted(shared_case, coordinator, partner, client):
    client.force_login(partner)
    url = reverse("cases:case-detail", args=[shared_case.pk])
    client.get(url)
    client.get(url)
    services.case_unshare(share=shared_case.shares.get(), by=coordinator, reason="Ended")
    assert client.get(url).status_code == 404
    assert CaseViewSession.objects.get(user=partner).count == 2


@pytest.mark.django_db(transaction=True)
def test_views_commit_without_waiting_for_the_disk_and_nothing_else_does(
    shared_case, editor, client
):
    """The first view (the chained row and its counter) and the repeat views commit with
    synchronous_commit off, set for their own transaction only: the next one flushes again."""
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    client.force_login(editor)
    url = reverse("cases:case-detail", args=[shared_case.pk])
    relax = "SELECT set_config('synchronous_commit', 'off', true)"
    for view in ("first", "repeat"):
        queries = _queries(client, url)
        (state,) = [q for q in queries if "cases_timelineversion" in q]
        if view == "first":  # the chained row's transaction, before its first write
            assert relax in queries, "\n".join(queries)
        else:  # set by the counter's UPDATE itself, for the row it counted
            assert relax not in queries
            assert "RETURNING set_config('synchronous_commit', 'off', true)" in state
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    assert CaseViewSession.objects.get(user=editor).count == 2
    assert AccessLog.objects.filter(user=editor, action=AccessLog.Action.VIEW_CASE).count() == 1


def test_a_view_inside_a_callers_transaction_leaves_its_commit_alone(shared_case, editor):
    """Within a transaction (another service, a test), neither path relaxes the commit of the
    caller's writes."""
    from cases.services.audit import repeat_view_cte

    sid = "s" * 32
    cte, _params = repeat_view_cte(user=editor, case=shared_case, session_sid=sid) or ("", [])
    assert "synchronous_commit" not in cte
    with CaptureQueriesContext(connection) as ctx:
        services.case_view_record(user=editor, case=shared_case, session_sid=sid)
    assert not [q for q in ctx.captured_queries if "synchronous_commit" in q["sql"]]
    assert CaseViewSession.objects.get(user=editor, session_sid=sid).count == 1


def test_two_first_views_at_once_are_both_on_the_log_and_counted_once(shared_case, editor):
    """Two requests of one session open the case at the same moment: each found no counter
    (repeat_checked), so each writes a chained row; the counter the first wrote counts the
    second, and no error reaches the reader."""
    sid = "t" * 32
    for _ in range(2):
        services.case_view_record(
            user=editor, case=shared_case, session_sid=sid, repeat_checked=True
        )
    views = AccessLog.objects.filter(user=editor, action=AccessLog.Action.VIEW_CASE)
    assert views.count() == 2
    counter = CaseViewSession.objects.get(user=editor, session_sid=sid)
    assert counter.count == 2
    assert counter.first == views.order_by("pk").first()
    assert counter.last_at == views.order_by("pk").last().at


@pytest.fixture
def personas(case, lead_org, partner_org, coordinator, editor, viewer, partner, outsider, staff):
    """Every kind of reader, with a partner organization's viewer and editor beside the
    shares at each level."""
    partner_viewer = factories.member(partner_org, "viewer", username="partner-viewer")
    # A member of the lead as a viewer, and of the partner as an editor.
    both = factories.member(lead_org, "viewer", username="both")
    Membership.objects.create(user=both, organization=partner_org, role="editor")
    return {
        "coordinator": coordinator,
        "editor": editor,
        "viewer": viewer,
        "partner": partner,
        "partner_viewer": partner_viewer,
        "both": both,
        "outsider": outsider,
        "staff": staff,
    }


def _one_query_level(user, case):
    try:
        return access.get_case_and_level(user, case.pk)[1]
    except Http404:
        return None


def _rules_level(user, case):
    try:
        case = access.get_case_for(user, case.pk)
    except Http404:
        return None
    return access.case_level(user, case)


def test_the_level_read_in_one_query_is_the_rules_level(case, coordinator, partner_org, personas):
    from django.contrib.auth.models import AnonymousUser

    expected_unshared = {
        "coordinator": Level.MANAGE,
        "editor": Level.EDIT,
        "viewer": Level.READ,
        "partner": None,
        "partner_viewer": None,
        "both": Level.READ,
        "outsider": None,
        "staff": Level.MANAGE,
    }
    for name, user in personas.items():
        assert _one_query_level(user, case) == expected_unshared[name], name
        assert _rules_level(user, case) == expected_unshared[name], name
    for share_level in ("read", "edit"):
        services.case_share(
            case=case, organization=partner_org, level=share_level, by=coordinator, reason="x"
        )
        for name, user in personas.items():
            assert _one_query_level(user, case) == _rules_level(user, case), (share_level, name)
        assert _one_query_level(personas["partner_viewer"], case) == Level.READ
        assert _one_query_level(personas["partner"], case) == (
            Level.EDIT if share_level == "edit" else Level.READ
        )
        # A viewer of the lead who edits for a partner with an edit share may edit.
        assert _one_query_level(personas["both"], case) == (
            Level.EDIT if share_level == "edit" else Level.READ
        )
    # The share ended: the partner's members no longer reach the case.
    services.case_unshare(share=case.shares.get(), by=coordinator, reason="Ended")
    for name in ("partner", "partner_viewer"):
        assert _one_query_level(personas[name], case) is None, name
    assert _one_query_level(AnonymousUser(), case) is None
    deactivated = personas["editor"]
    deactivated.is_active = False
    assert _one_query_level(deactivated, case) is None
    with pytest.raises(Http404):
        access.get_case_and_level(coordinator, case.pk + 1000)


def test_a_case_out_of_reach_is_not_found(case, outsider, client):
    client.force_login(outsider)
    assert client.get(reverse("cases:case-detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("cases:case-timeline", args=[case.pk])).status_code == 404


def test_each_reader_sees_their_own_mute_and_failed_reminders(case, coordinator, editor, client):
    """Two readers of the same case, one after the other (the parts of the page shared from
    the cache): the mute form and the failed reminders are each reader's own."""
    deadline = factories.make_deadline(case=case, by=coordinator, title="Visit")
    url = reverse("cases:case-detail", args=[case.pk])
    services.case_mute(user=editor, case=case, muted=True)

    client.force_login(editor)
    page = client.get(url).content.decode()
    assert "Unmute" in page and "Mute reminder emails" not in page
    assert "Reminders that could not be sent" not in page

    client.force_login(coordinator)
    page = client.get(url).content.decode()
    assert "Mute reminder emails" in page and "Unmute" not in page

    reminder = deadline.reminders.order_by("pk").first()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.FAILED, attempts=8, last_error="550 mailbox unavailable"
    )
    page = client.get(url).content.decode()
    assert "Reminders that could not be sent" in page and "550 mailbox unavailable" in page

    client.force_login(editor)
    page = client.get(url).content.decode()
    assert "Unmute" in page
    assert "550 mailbox unavailable" in page  # editors see them too, without "Send again"
    services.case_mute(user=editor, case=case, muted=False)
    assert "Mute reminder emails" in client.get(url).content.decode()


def test_the_team_link_follows_a_role_change_at_once(client, coordinator, lead_org):
    """The menu's "Team" link is kept in the session, and dropped when a membership changes
    through the application."""
    client.force_login(coordinator)
    team = reverse("cases:team-index")
    settings_url = reverse("cases:settings")
    assert f'href="{team}"' in client.get(settings_url).content.decode()
    assert not any("'coordinator'" in q for q in _queries(client, settings_url))
    membership = Membership.objects.get(user=coordinator, organization=lead_org)
    membership.role = "editor"
    membership.save()  # as in the admin, or by another coordinator
    assert f'href="{team}"' not in client.get(settings_url).content.decode()


def _token_in(page: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` on the page."""
    import re

    form = page[page.index(f'action="{action}"') :]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]


def test_the_kept_timeline_block_carries_each_readers_own_csrf_token(case, editor, lead_org):
    """The timeline block (with the quick-add form) is rendered once and kept; the second
    editor's copy must carry their own CSRF token, which Django accepts, and no placeholder."""
    from django.test import Client

    from cases.rendering import csrf_placeholder as _csrf_placeholder

    other = factories.member(lead_org, "editor", username="other-editor")
    url = reverse("cases:case-detail", args=[case.pk])
    add = reverse("cases:event-create", args=[case.pk])
    first = Client(enforce_csrf_checks=True)
    first.force_login(editor)
    first_page = first.get(url).content.decode()
    second = Client(enforce_csrf_checks=True)
    second.force_login(other)
    page = second.get(url).content.decode()
    assert _csrf_placeholder() not in page and _csrf_placeholder() not in first_page
    token = _token_in(page, add)
    response = second.post(
        add,
        {
            "csrfmiddlewaretoken": token,
            "quick": "1",
            "kind": "visit",
            "occurred_on": "2026-01-05",
            "occurred_on_precision": "day",
            "title": "Quick visit",
        },
    )
    assert response.status_code == 302
    assert case.events.filter(title="Quick visit", created_by=other).exists()


@pytest.mark.parametrize("reader", ["viewer", "partner"])
def test_an_editors_kept_timeline_block_never_reaches_a_reader(
    shared_case, coordinator, reader, request, client
):
    """The quick-add form is for those who may edit: a block kept for an editor must not be
    served to a viewer, nor to a partner whose share is read-only, and the other way round."""
    from cases.models import CaseShare

    CaseShare.objects.filter(case=shared_case).update(level="read")
    reader = request.getfixturevalue(reader)
    url = reverse("cases:case-detail", args=[shared_case.pk])
    add = reverse("cases:event-create", args=[shared_case.pk])
    client.force_login(coordinator)
    assert add in client.get(url).content.decode()
    client.force_login(reader)
    assert add not in client.get(url).content.decode()
    assert add not in client.get(url).content.decode()  # seen again
    client.force_login(coordinator)
    assert add in client.get(url).content.decode()


def test_the_kept_timeline_frame_shows_each_case_its_own_addresses_and_people(
    case, lead_org, coordinator, client
):
    """The timeline block's frame is kept once for every case: each page still posts its
    quick add to its own case, filters by its own people and keeps the filter chosen."""
    other = factories.make_case(lead_organization=lead_org, by=coordinator)
    people = {}
    for n, on in enumerate((case, other)):
        person = factories.PrisonerFactory(code=f"POW-<{n}>", owner=lead_org)
        services.case_add_prisoner(case=on, prisoner=person, by=coordinator)
        people[on.pk] = person
    client.force_login(coordinator)
    for on, them in ((case, other), (other, case)):
        url = reverse("cases:case-detail", args=[on.pk])
        html = client.get(url, {"prisoner": people[on.pk].pk}).content.decode()
        assert f'action="{reverse("cases:event-create", args=[on.pk])}"' in html
        assert f'action="{url}#timeline"' in html
        assert f'<option value="{people[on.pk].pk}" selected>{people[on.pk].code}' not in html
        assert f'<option value="{people[on.pk].pk}" selected>POW-&lt;' in html
        assert reverse("cases:event-create", args=[them.pk]) not in html
        assert f'<option value="{people[them.pk].pk}"' not in html
