"""Developments (issue 17): one event linked to many cases, and moving their deadlines at once.

Who may reach each URL is in tests/test_authorization.py (POLICIES); here: what they get.
"""

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import services
from cases.models import (
    Case,
    CaseShare,
    Deadline,
    DeadlineKind,
    DeadlineMoveItem,
    Reminder,
    ReminderKind,
    ReminderStatus,
    TimelineEntry,
)
from cases.selectors.timeline import case_timeline
from cases.services import developments
from cases.services.deadlines import next_deadline_of
from cases.tasks import send_deadline_move_notices
from tests import factories

APRIL = dt.date(2026, 4, 1)  # "by end of April 2026" (month precision)
MARCH_15 = dt.date(2026, 3, 15)
NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def assignees(lead_org):
    return (
        factories.member(lead_org, "editor", username="anna"),
        factories.member(lead_org, "editor", username="bohdan"),
    )


@pytest.fixture
def exchange(frozen, lead_org, coordinator, assignees):
    """An exchange announcement linked to 40 cases, each with an exchange window "by end of
    April 2026" (all assigned to anna, the first ten to bohdan too) and a follow-up visit; and
    one case with a window that the announcement is not linked to."""
    anna, bohdan = assignees
    development = developments.development_create(
        by=coordinator,
        owner=lead_org,
        title="Exchange set for 15 March",
        kind="exchange_announced",
        happened_on=dt.date(2026, 1, 9),
        description="Both governments announced the exchange.",
        source="https://example.org/news",
        authorities=[factories.AuthorityFactory(name="Coordination Headquarters")],
    )
    cases, windows, visits = [], [], []
    for n in range(40):
        case = factories.make_case(lead_organization=lead_org, by=coordinator, title=f"Case {n}")
        cases.append(case)
        windows.append(
            factories.make_deadline(
                case=case,
                by=coordinator,
                kind=DeadlineKind.EXCHANGE_WINDOW,
                title=f"Exchange window {n}",
                due_on=APRIL,
                due_precision="month",
                assignees=[anna, bohdan] if n < 10 else [anna],
            )
        )
        visits.append(
            factories.make_deadline(
                case=case, by=coordinator, due_on=dt.date(2026, 2, 2), assignees=[anna]
            )
        )
        developments.development_link_case(development=development, case=case, by=coordinator)
    unlinked = factories.make_case(lead_organization=lead_org, by=coordinator, title="Unlinked")
    other_window = factories.make_deadline(
        case=unlinked,
        by=coordinator,
        kind=DeadlineKind.EXCHANGE_WINDOW,
        due_on=APRIL,
        due_precision="month",
        assignees=[anna],
    )
    return {
        "development": development,
        "cases": cases,
        "windows": windows,
        "visits": visits,
        "other_window": other_window,
    }


def _move(development, by, **overrides):
    fields = {
        "development": development,
        "by": by,
        "kind": DeadlineKind.EXCHANGE_WINDOW,
        "status": "open",
        "new_on": MARCH_15,
        "new_precision": "day",
        "reason": "The exchange date was announced.",
    }
    return developments.deadline_move_apply(**(fields | overrides))


def _pending_points(deadline, user) -> set[dt.date]:
    return set(
        Reminder.objects.filter(
            deadline=deadline,
            recipient=user,
            kind=ReminderKind.REMINDER,
            status=ReminderStatus.PENDING,
        ).values_list("point_on", flat=True)
    )


@pytest.mark.django_db
def test_an_exchange_announcement_moves_forty_windows_with_history_reminders_and_one_email_each(
    exchange, coordinator, assignees, django_capture_on_commit_callbacks, frozen
):
    anna, bohdan = assignees
    development, windows = exchange["development"], exchange["windows"]
    assert windows[0].due_display == "by end of April 2026"
    assert _pending_points(windows[0], anna) == {
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 16),
        dt.date(2026, 4, 23),
        dt.date(2026, 4, 29),
    }
    mail.outbox.clear()

    preview = developments.deadline_move_preview(
        development=development,
        by=coordinator,
        kind=DeadlineKind.EXCHANGE_WINDOW,
        status="open",
        new_on=MARCH_15,
        new_precision="day",
    )
    assert len(preview.movable) == 40 and not preview.not_yours
    assert {(line.old, line.new) for line in preview.movable} == {
        ("by end of April 2026", "March 15, 2026")
    }

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        move = _move(development, coordinator)
    assert callbacks, "the summary emails are asked for after commit"
    assert move.items.count() == 40

    for window in windows:
        window.refresh_from_db()
        assert (window.due_on, window.due_precision) == (MARCH_15, "day")
        assert window.due_display == "March 15, 2026"
    # The follow-up visits and the window of the case not linked stay where they were.
    assert {
        v.due_on for v in Deadline.objects.filter(pk__in=[v.pk for v in exchange["visits"]])
    } == {dt.date(2026, 2, 2)}
    exchange["other_window"].refresh_from_db()
    assert exchange["other_window"].due_on == dt.date(2026, 4, 30)

    # 40 history rows name the development, each by the coordinator with the reason.
    rows = Deadline.history.filter(
        history_change_reason__contains="Exchange set for 15 March", history_type="~"
    )
    assert rows.count() == 40
    assert set(rows.values_list("id", flat=True)) == {w.pk for w in windows}
    assert set(rows.values_list("history_user", flat=True)) == {coordinator.pk}
    assert all("The exchange date was announced." in r.history_change_reason for r in rows)

    # Reminders re-planned: 30/14/7/1 days before 15 March; the April points cancelled.
    for window in windows[:3]:
        assert _pending_points(window, anna) == {
            dt.date(2026, 2, 13),
            dt.date(2026, 3, 1),
            dt.date(2026, 3, 8),
            dt.date(2026, 3, 14),
        }
        assert Reminder.objects.filter(
            deadline=window, point_on=dt.date(2026, 4, 29), status=ReminderStatus.CANCELLED
        ).exists()
    assert _pending_points(windows[0], bohdan) == _pending_points(windows[0], anna)

    # The timeline shows the window at its new date.
    entry = TimelineEntry.objects.get(kind="deadline", deadline=windows[0])
    assert (entry.happened_on, entry.precision) == (MARCH_15, "day")

    # One summary email per assignee, not one per deadline; a second run sends nothing.
    assert send_deadline_move_notices(move.pk) == 2
    assert send_deadline_move_notices(move.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == [anna.email, bohdan.email]
    to_anna = next(m for m in mail.outbox if m.to == [anna.email])
    to_bohdan = next(m for m in mail.outbox if m.to == [bohdan.email])
    assert "40 deadlines moved" in to_anna.subject
    assert to_anna.body.count("by end of April 2026 → March 15, 2026") == 40
    assert to_bohdan.body.count("→ March 15, 2026") == 10
    assert "Exchange window 10" not in to_bohdan.body
    assert "March 15, 2026" in to_anna.alternatives[0][0]
    # The periodic catch-up finds nothing left to send.
    frozen.shift(dt.timedelta(minutes=10))
    assert developments.deadline_move_notify_pending() == 0


@pytest.mark.django_db
def test_a_lost_request_for_the_summary_is_caught_up_by_the_periodic_task(
    exchange, coordinator, assignees, frozen
):
    _move(exchange["development"], coordinator)  # its request to the worker is never run
    assert developments.deadline_move_notify_pending() == 0  # not yet: the worker may be on it
    frozen.shift(dt.timedelta(minutes=6))
    mail.outbox.clear()
    assert developments.deadline_move_notify_pending() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.email for a in assignees)
    assert developments.deadline_move_notify_pending() == 0


@pytest.mark.django_db
def test_a_partner_editing_ten_cases_moves_only_those_and_sees_the_readable_ones_as_not_theirs(
    exchange, coordinator, partner, partner_org, client
):
    development, cases, windows = exchange["development"], exchange["cases"], exchange["windows"]
    for case in cases[:10]:
        services.case_share(
            case=case,
            organization=partner_org,
            level=CaseShare.Level.EDIT,
            by=coordinator,
            reason="x",
        )
    for case in cases[10:15]:
        services.case_share(
            case=case,
            organization=partner_org,
            level=CaseShare.Level.READ,
            by=coordinator,
            reason="x",
        )

    preview = developments.deadline_move_preview(
        development=development,
        by=partner,
        kind="exchange_window",
        new_on=MARCH_15,
        new_precision="day",
    )
    assert [line.deadline.pk for line in preview.movable] == [w.pk for w in windows[:10]]
    assert {line.deadline.pk for line in preview.not_yours} == {w.pk for w in windows[10:15]}

    client.force_login(partner)
    url = reverse("cases:development-move", args=[development.pk])
    page = client.get(
        url,
        {
            "kind": "exchange_window",
            "status": "open",
            "new_on": "2026-03-15",
            "new_precision": "day",
        },
    ).content.decode()
    assert "Not yours to move" in page
    for case in cases[:15]:
        assert case.reference in page
    for case in cases[15:]:
        assert case.reference not in page  # cases the partner cannot see are not shown at all

    # Even asked for every window, only the ten on cases the partner edits move.
    response = client.post(
        url,
        {
            "kind": "exchange_window",
            "status": "open",
            "new_on": "2026-03-15",
            "new_precision": "day",
            "deadlines": [w.pk for w in windows],
            "reason": "Announced",
        },
    )
    assert response.status_code == 200  # refused: ids outside the preview are not choices
    assert Deadline.objects.filter(due_on=MARCH_15).count() == 0
    response = client.post(
        url,
        {
            "kind": "exchange_window",
            "status": "open",
            "new_on": "2026-03-15",
            "new_precision": "day",
            "deadlines": [w.pk for w in windows[:10]],
            "reason": "Announced",
        },
    )
    assert response.status_code == 302
    moved = set(Deadline.objects.filter(due_on=MARCH_15).values_list("pk", flat=True))
    assert moved == {w.pk for w in windows[:10]}

    # The development's page lists only the cases the partner sees, and no count of others.
    page = client.get(reverse("cases:development-detail", args=[development.pk])).content.decode()
    assert all(case.reference in page for case in cases[:15])
    assert not any(case.reference in page for case in cases[15:])
    # (In the text a reader sees: the page's tags carry random tokens, which may hold "40".)
    shown = re.sub(r"<[^>]*>", " ", page)
    assert not re.search(r"\b(40|25)\b", shown)


@pytest.mark.django_db
def test_undo_within_a_day_restores_on_record_and_is_refused_after(
    exchange, coordinator, assignees, client, frozen
):
    anna, _bohdan = assignees
    development, windows = exchange["development"], exchange["windows"]
    move = _move(development, coordinator)
    send_deadline_move_notices(move.pk)
    mail.outbox.clear()

    # Someone else cannot undo it.
    with pytest.raises(PermissionDenied):
        developments.deadline_move_undo(move=move, by=anna)

    # One window is moved again meanwhile: the undo leaves it and says so.
    windows[5].refresh_from_db()
    services.deadline_update(deadline=windows[5], by=coordinator, due_on=dt.date(2026, 3, 20))

    frozen.shift(dt.timedelta(hours=23))
    client.force_login(coordinator)
    detail = reverse("cases:deadline-move-detail", args=[move.pk])
    assert "deadline-move-undo" not in detail and "Undo" in client.get(detail).content.decode()
    response = client.post(reverse("cases:deadline-move-undo", args=[move.pk]))
    assert response.status_code == 302

    for n, window in enumerate(windows):
        window.refresh_from_db()
        if n == 5:
            assert window.due_on == dt.date(2026, 3, 20)
        else:
            assert (window.due_on, window.due_precision) == (dt.date(2026, 4, 30), "month")
    refused = DeadlineMoveItem.objects.get(move=move, deadline=windows[5])
    assert refused.undo == "refused" and refused.undo_note == DeadlineMoveItem.CHANGED_AGAIN
    assert move.items.filter(undo="restored").count() == 39
    undo_rows = Deadline.history.filter(
        history_change_reason__startswith=f"Undo of deadline move #{move.pk}"
    )
    assert undo_rows.count() == 39
    assert all("Exchange set for 15 March" in r.history_change_reason for r in undo_rows)
    page = client.get(detail).content.decode()
    assert "Changed again since the move." in page
    # Reminders follow the old dates again.
    assert _pending_points(windows[0], anna) == {
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 16),
        dt.date(2026, 4, 23),
        dt.date(2026, 4, 29),
    }
    # One "moved back" email per assignee.
    assert send_deadline_move_notices(move.pk) == 2
    assert all("moved back" in m.subject for m in mail.outbox)

    # A move is undone once.
    with pytest.raises(ValidationError):
        developments.deadline_move_undo(move=move, by=coordinator)


@pytest.mark.django_db
def test_after_a_day_the_undo_button_is_gone_and_the_post_refused(
    exchange, coordinator, client, frozen
):
    move = _move(exchange["development"], coordinator)
    frozen.shift(dt.timedelta(hours=24, minutes=1))
    client.force_login(coordinator)
    detail = reverse("cases:deadline-move-detail", args=[move.pk])
    undo_url = reverse("cases:deadline-move-undo", args=[move.pk])
    assert undo_url not in client.get(detail).content.decode()
    response = client.post(undo_url, follow=True)
    assert "can no longer be undone" in response.content.decode()
    assert Deadline.objects.filter(pk=exchange["windows"][0].pk, due_on=MARCH_15).exists()
    with pytest.raises(ValidationError):
        developments.deadline_move_undo(move=move, by=coordinator)


@pytest.mark.django_db
def test_a_development_shows_on_each_linked_timeline_and_never_names_the_other_cases(
    frozen, lead_org, coordinator, viewer, partner, partner_org, outsider, client
):
    development = developments.development_create(
        by=coordinator,
        owner=lead_org,
        title="Court ruling on transfers",
        kind="court_ruling",
        happened_on=dt.date(2025, 12, 1),
        happened_precision="month",
    )
    ours = factories.make_case(lead_organization=lead_org, by=coordinator, title="Ours")
    secret = factories.make_case(lead_organization=lead_org, by=coordinator, title="Not shared")
    services.case_share(
        case=ours, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="x"
    )
    for case in (ours, secret):
        developments.development_link_case(development=development, case=case, by=coordinator)

    entries = case_timeline(ours).entries
    shown = [e for e in entries if e.kind == "development"]
    assert len(shown) == 1 and shown[0].development_link.development == development
    assert (shown[0].happened_on, shown[0].precision) == (dt.date(2025, 12, 1), "month")

    client.force_login(partner)
    page = client.get(reverse("cases:case-detail", args=[ours.pk])).content.decode()
    assert "Court ruling on transfers" in page and "December 2025" in page
    page = client.get(reverse("cases:development-detail", args=[development.pk])).content.decode()
    assert ours.reference in page and secret.reference not in page
    # The partner may not edit the record (their organization does not own it).
    assert client.get(reverse("cases:development-edit", args=[development.pk])).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("cases:development-detail", args=[development.pk])).status_code == 404
    assert "Court ruling" not in client.get(reverse("cases:development-list")).content.decode()

    # An export of the case's timeline (internal) reads it too; the public one leaves it out.
    from cases.dossiers.content import timeline_lines
    from cases.dossiers.profiles import get_profile

    internal = [line.title for line in timeline_lines(case=ours, profile=get_profile("internal"))]
    public = [line.title for line in timeline_lines(case=ours, profile=get_profile("public"))]
    assert "Court ruling on transfers" in internal
    assert "Court ruling on transfers" not in public

    # Its date corrected: every linked timeline follows.
    developments.development_update(
        development=development,
        by=coordinator,
        happened_on=dt.date(2025, 12, 4),
        happened_precision="day",
    )
    entry = TimelineEntry.objects.get(kind="development", case=ours)
    assert (entry.happened_on, entry.precision) == (dt.date(2025, 12, 4), "day")


@pytest.mark.django_db
def test_linking_and_unlinking_take_edit_rights_on_the_case_and_are_on_record(
    frozen, lead_org, coordinator, editor, viewer, client
):
    development = developments.development_create(
        by=coordinator,
        owner=lead_org,
        title="Policy change",
        kind="policy_change",
        happened_on=dt.date(2026, 1, 2),
    )
    case = factories.make_case(lead_organization=lead_org, by=coordinator)
    with pytest.raises(PermissionDenied):
        developments.development_link_case(development=development, case=case, by=viewer)

    client.force_login(editor)
    page = client.get(
        reverse("cases:development-link", args=[development.pk]), {"q": case.reference}
    ).content.decode()
    assert case.reference in page
    response = client.post(
        reverse("cases:development-link", args=[development.pk]), {"cases": [case.pk]}
    )
    assert response.status_code == 302
    link = development.links.get(case=case)
    assert link.linked_by == editor
    assert link.history.get().history_user == editor
    assert TimelineEntry.objects.filter(kind="development", case=case).exists()

    client.force_login(viewer)
    unlink = reverse("cases:development-unlink", args=[development.pk, link.pk])
    assert client.post(unlink).status_code == 403
    client.force_login(editor)
    assert client.post(unlink).status_code == 302
    assert not development.links.exists()
    assert not TimelineEntry.objects.filter(kind="development", case=case).exists()
    assert development.links.model.history.filter(history_type="-").get().history_user == editor

    # From the case page.
    response = client.post(
        reverse("cases:case-development-link", args=[case.pk]), {"development": development.pk}
    )
    assert response.status_code == 302 and development.links.filter(case=case).exists()


@pytest.mark.django_db
def test_a_window_opening_after_the_new_date_is_not_moved_but_listed(frozen, lead_org, coordinator):
    development = developments.development_create(
        by=coordinator,
        owner=lead_org,
        title="Exchange",
        kind="exchange_announced",
        happened_on=dt.date(2026, 1, 9),
    )
    case = factories.make_case(lead_organization=lead_org, by=coordinator)
    developments.development_link_case(development=development, case=case, by=coordinator)
    window = factories.make_deadline(
        case=case,
        by=coordinator,
        kind="exchange_window",
        due_on=APRIL,
        due_precision="month",
        window_starts_on=dt.date(2026, 4, 1),
    )
    preview = developments.deadline_move_preview(
        development=development, by=coordinator, new_on=MARCH_15, new_precision="day"
    )
    assert [line.deadline for line in preview.blocked] == [window] and not preview.movable
    with pytest.raises(ValidationError):
        _move(development, coordinator)


def _stored_next_deadline(case_id):
    case = Case.objects.get(pk=case_id)
    return case.next_deadline_on, case.next_deadline_precision


@pytest.mark.django_db
def test_the_case_lists_next_deadline_follows_a_move_and_its_undo(exchange, coordinator):
    """The case list sorts and shows the case's stored next deadline (Case.next_deadline_on):
    a bulk move and its undo keep it equal to the live computation on every case."""
    development, window = exchange["development"], exchange["other_window"]
    developments.development_link_case(development=development, case=window.case, by=coordinator)
    assert _stored_next_deadline(window.case_id) == (dt.date(2026, 4, 30), "month")

    move = _move(development, coordinator)
    assert _stored_next_deadline(window.case_id) == (MARCH_15, "day")
    for case_id in Case.objects.values_list("pk", flat=True):
        assert _stored_next_deadline(case_id) == next_deadline_of(case_id)

    developments.deadline_move_undo(move=move, by=coordinator)
    assert _stored_next_deadline(window.case_id) == (dt.date(2026, 4, 30), "month")
    for case_id in Case.objects.values_list("pk", flat=True):
        assert _stored_next_deadline(case_id) == next_deadline_of(case_id)
