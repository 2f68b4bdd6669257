"""Planning reminders: who gets which email when, as deadlines are set, moved and closed.

Time is frozen; each test reads the outbox rows a planner wrote and, where it matters, the
emails a dispatch round then sends (Django's in-memory mail outbox).
"""

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail

from cases import services
from cases.models import (
    CaseShare,
    DatePrecision,
    DeadlineKind,
    DeadlineStatus,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    ReminderStatus,
)
from cases.services.reminders import reminders_dispatch
from tests import factories

KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
UTC = dt.UTC


def moment(year, month, day, hour=0, minute=0, tz=UTC) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def set_profile(user, **fields):
    profile = services.profile_get(user)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save()
    return profile


def planned(deadline, user, *, kind=ReminderKind.REMINDER, status=ReminderStatus.PENDING):
    """{reminder point: when it is due} for one recipient."""
    rows = Reminder.objects.filter(deadline=deadline, recipient=user, kind=kind, status=status)
    return {row.point_on: row.scheduled_for for row in rows}


@pytest.fixture
def shared_case(case, partner_org, coordinator):
    services.case_share(
        case=case, organization=partner_org, level=CaseShare.Level.EDIT, by=coordinator, reason="x"
    )
    return case


@pytest.fixture
def frozen(time_machine):
    def freeze(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    freeze(moment(2026, 1, 3, 12))  # the petition's Saturday, noon UTC
    return freeze


def test_reminders_at_eight_in_each_recipients_time_zone(frozen, shared_case, partner, editor):
    set_profile(partner, time_zone="Europe/Kyiv")
    set_profile(editor, time_zone="Asia/Seoul")
    visit = factories.make_deadline(
        case=shared_case, by=partner, due_on=dt.date(2026, 1, 8), assignees=[partner, editor]
    )

    assert planned(visit, partner) == {
        dt.date(2026, 1, 5): moment(2026, 1, 5, 8, tz=KYIV),
        dt.date(2026, 1, 7): moment(2026, 1, 7, 8, tz=KYIV),
        dt.date(2026, 1, 8): moment(2026, 1, 8, 8, tz=KYIV),
    }
    assert planned(visit, editor)[dt.date(2026, 1, 8)] == moment(2026, 1, 7, 23)  # 08:00 KST
    # Stored in UTC: 08:00 in Kyiv in winter is 06:00 UTC.
    assert planned(visit, partner)[dt.date(2026, 1, 5)] == moment(2026, 1, 5, 6)


def test_overdue_notice_planned_for_assignees_and_coordinators(
    frozen, shared_case, partner, coordinator
):
    set_profile(partner, time_zone="Europe/Kyiv")
    visit = factories.make_deadline(
        case=shared_case, by=partner, due_on=dt.date(2026, 1, 8), assignees=[partner]
    )
    # The coordinator is not assigned: no reminders, but told if the deadline passes.
    assert planned(visit, coordinator) == {}
    # The day is over at midnight (installation time, UTC): 02:00 in Kyiv, so 08:00 there.
    assert planned(visit, partner, kind=ReminderKind.OVERDUE) == {
        dt.date(2026, 1, 8): moment(2026, 1, 9, 8, tz=KYIV)
    }
    assert planned(visit, coordinator, kind=ReminderKind.OVERDUE) == {
        dt.date(2026, 1, 8): moment(2026, 1, 9, 8)
    }


def test_month_precision_counts_to_the_last_day_and_never_names_a_day(frozen, case, coordinator):
    window = factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.EXCHANGE_WINDOW,
        title="Prisoner-exchange arrangements",
        due_on=dt.date(2026, 4, 10),
        due_precision=DatePrecision.MONTH,
        assignees=[coordinator],
    )
    # 30, 14, 7 and 1 days before 30 April.
    assert sorted(planned(window, coordinator)) == [
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 16),
        dt.date(2026, 4, 23),
        dt.date(2026, 4, 29),
    ]

    frozen(moment(2026, 3, 31, 8, 1))
    reminders_dispatch()
    [email] = mail.outbox
    text = email.subject + email.body + email.alternatives[0][0]
    assert "by end of April 2026" in email.body
    assert "30 days left until the end of April 2026" in email.subject
    # No invented day, neither 30 nor 10 April (links are left out: a case id may hold "30").
    prose = re.sub(r"https?://\S+", "", text).replace("30 days", "")
    assert "30" not in prose
    assert "Apr. 10" not in text and "April 10" not in text


def test_eight_oclock_holds_across_the_daylight_saving_change(frozen, shared_case, partner):
    set_profile(partner, time_zone="Europe/Kyiv")  # clocks go forward on 29 March 2026
    hearing = factories.make_deadline(
        case=shared_case,
        by=partner,
        kind=DeadlineKind.REPLY_DUE,
        title="Reply due",
        due_on=dt.date(2026, 3, 31),
        assignees=[partner],
    )
    assert planned(hearing, partner) == {
        dt.date(2026, 3, 24): moment(2026, 3, 24, 6),  # EET, UTC+2
        dt.date(2026, 3, 30): moment(2026, 3, 30, 5),  # EEST, UTC+3
    }


def test_points_already_past_only_the_latest_goes_out_at_once(frozen, case, coordinator):
    frozen(moment(2026, 1, 7, 10))  # the 3-day and 1-day points have passed
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    assert planned(visit, coordinator) == {
        dt.date(2026, 1, 7): moment(2026, 1, 7, 10),  # now
        dt.date(2026, 1, 8): moment(2026, 1, 8, 8),
    }
    reminders_dispatch()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] Tomorrow: Follow-up visit ({visit.due_display})"
    ]
    # Planning again (any edit) does not send the missed points again.
    services.deadline_update(deadline=visit, by=coordinator, title="Follow-up visit")
    reminders_dispatch()
    assert len(mail.outbox) == 1


def test_a_deadline_set_after_it_passed_sends_no_reminders_only_an_overdue_notice(
    frozen, case, coordinator
):
    frozen(moment(2026, 1, 10, 9))
    factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    reminders_dispatch()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] Overdue: Follow-up visit (Jan. 8, 2026)"
    ]


def test_moving_a_deadline_replans_and_cancels_obsolete_rows_without_deleting(
    frozen, case, coordinator
):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    frozen(moment(2026, 1, 5, 8, 1))
    reminders_dispatch()  # the 3-day reminder goes out
    assert len(mail.outbox) == 1
    before = Reminder.objects.count()

    services.deadline_update(deadline=visit, by=coordinator, due_on=dt.date(2026, 1, 15))

    assert planned(visit, coordinator) == {
        dt.date(2026, 1, 12): moment(2026, 1, 12, 8),
        dt.date(2026, 1, 14): moment(2026, 1, 14, 8),
        dt.date(2026, 1, 15): moment(2026, 1, 15, 8),
    }
    cancelled = Reminder.objects.filter(deadline=visit, status=ReminderStatus.CANCELLED)
    assert {row.point_on for row in cancelled} == {
        dt.date(2026, 1, 7),
        dt.date(2026, 1, 8),  # the old "that morning" and the old overdue notice
    }
    assert all(row.cancelled_reason for row in cancelled)
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 1  # the record stays
    assert Reminder.objects.count() == before + 4  # 3 reminders and 1 overdue notice added

    frozen(moment(2026, 1, 7, 8, 1))
    reminders_dispatch()  # the old 1-day point: nothing
    assert len(mail.outbox) == 1
    frozen(moment(2026, 1, 12, 8, 1))
    reminders_dispatch()
    assert "In 3 days" in mail.outbox[-1].subject
    assert "(Jan. 15, 2026)" in mail.outbox[-1].subject


def test_completing_cancels_pending_rows_and_reopening_plans_again(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    services.deadline_change_status(
        deadline=visit, to=DeadlineStatus.DONE, by=coordinator, reason="Visit held early"
    )
    assert not Reminder.objects.filter(status=ReminderStatus.PENDING).exists()
    assert set(Reminder.objects.values_list("cancelled_reason", flat=True)) == {
        "The deadline is done."
    }
    for day in (5, 7, 8, 9, 10):
        frozen(moment(2026, 1, day, 9))
        reminders_dispatch()
    assert mail.outbox == []

    services.deadline_change_status(
        deadline=visit, to=DeadlineStatus.OPEN, by=coordinator, reason="Marked done by mistake"
    )
    # Reopened on 10 January, after it passed: one overdue notice, no late reminders.
    reminders_dispatch()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] Overdue: Follow-up visit (Jan. 8, 2026)"
    ]


def test_cancelling_a_deadline_cancels_its_reminders(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    services.deadline_change_status(
        deadline=visit, to=DeadlineStatus.CANCELLED, by=coordinator, reason="Visit called off"
    )
    frozen(moment(2026, 1, 9, 9))
    reminders_dispatch()
    assert mail.outbox == []
    assert Reminder.objects.filter(deadline=visit).exclude(status="cancelled").count() == 0


def test_reassigning_moves_reminders_to_the_new_assignee(frozen, case, coordinator, editor):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    services.deadline_update(deadline=visit, by=coordinator, assignees=[editor])

    assert len(planned(visit, editor)) == 3
    assert planned(visit, coordinator) == {}
    # The coordinator still hears if it passes (coordinators always do).
    assert len(planned(visit, coordinator, kind=ReminderKind.OVERDUE)) == 1
    frozen(moment(2026, 1, 5, 8, 1))
    reminders_dispatch()
    assert [email.to for email in mail.outbox] == [["editor@example.org"]]


def test_without_assignees_the_coordinators_are_reminded(frozen, case, coordinator, editor):
    visit = factories.make_deadline(case=case, by=editor, due_on=dt.date(2026, 1, 8))
    assert len(planned(visit, coordinator)) == 3
    assert planned(visit, editor) == {}
    frozen(moment(2026, 1, 5, 8, 1))
    reminders_dispatch()
    [email] = mail.outbox
    assert email.to == ["coordinator@example.org"]
    assert "nobody is assigned" in email.body


def test_muting_a_case_stops_its_emails_and_unmuting_resumes(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    services.case_mute(user=coordinator, case=case)
    assert planned(visit, coordinator) == {}
    frozen(moment(2026, 1, 5, 8, 1))
    reminders_dispatch()
    assert mail.outbox == []

    frozen(moment(2026, 1, 6, 12))
    services.case_mute(user=coordinator, case=case, muted=False)
    # Like any late planning: the most recent missed point goes out at once, the rest on time.
    assert planned(visit, coordinator) == {
        dt.date(2026, 1, 5): moment(2026, 1, 6, 12),
        dt.date(2026, 1, 7): moment(2026, 1, 7, 8),
        dt.date(2026, 1, 8): moment(2026, 1, 8, 8),
    }
    reminders_dispatch()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] In 2 days: Follow-up visit ({visit.due_display})"
    ]


def test_a_mute_set_elsewhere_is_honoured_at_send_time(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    services.profile_get(coordinator).muted_cases.add(case)  # e.g. in the admin, no re-plan
    frozen(moment(2026, 1, 5, 8, 1))
    reminders_dispatch()
    assert mail.outbox == []
    row = Reminder.objects.get(deadline=visit, point_on=dt.date(2026, 1, 5))
    assert row.status == ReminderStatus.CANCELLED
    assert row.cancelled_reason == "The recipient muted this case."


def test_digest_readers_get_one_email_a_day_with_everything_due(frozen, case, coordinator, editor):
    set_profile(editor, email_mode="digest", time_zone="Asia/Seoul")
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[editor]
    )
    reply = factories.make_deadline(
        case=case,
        by=coordinator,
        kind=DeadlineKind.REPLY_DUE,
        title="Reply from the authority",
        due_on=dt.date(2026, 1, 12),
        assignees=[editor],
    )
    assert Reminder.objects.filter(recipient=editor, digest=True).count() == 7

    # 5 January, 08:00 in Seoul: the visit's 3-day and the reply's 7-day reminder, together.
    frozen(moment(2026, 1, 5, 8, tz=SEOUL))
    reminders_dispatch()
    [digest] = mail.outbox
    assert digest.to == ["editor@example.org"]
    assert digest.subject == "Your reminders: 2 deadlines"
    assert "Follow-up visit" in digest.body and "Reply from the authority" in digest.body
    sent = Reminder.objects.filter(recipient=editor, status=ReminderStatus.SENT)
    assert {row.deadline_id for row in sent} == {visit.pk, reply.pk}
    assert {row.message_id for row in sent} == {digest.extra_headers["Message-ID"]}

    reminders_dispatch()
    assert len(mail.outbox) == 1


def test_digest_readers_get_the_overdue_notice_in_the_next_morning_digest(
    frozen, case, coordinator, editor
):
    set_profile(editor, email_mode="digest", time_zone="America/New_York")
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[editor]
    )
    # The deadline ends at midnight UTC (19:00 in New York): the notice waits for 08:00 there.
    ny = zoneinfo.ZoneInfo("America/New_York")
    assert planned(visit, editor, kind=ReminderKind.OVERDUE) == {
        dt.date(2026, 1, 8): moment(2026, 1, 9, 8, tz=ny)
    }


def test_an_overdue_reply_suggests_marking_the_petition_no_response(frozen, case, coordinator):
    petition = factories.make_petition(case=case, by=coordinator)
    factories.make_deadline(
        case=case,
        by=coordinator,
        petition=petition,
        kind=DeadlineKind.REPLY_DUE,
        title="Reply from the Coordination Headquarters",
        due_on=dt.date(2026, 1, 20),
        assignees=[coordinator],
    )
    frozen(moment(2026, 1, 21, 8, 1))
    reminders_dispatch()
    [notice] = mail.outbox
    assert notice.subject.startswith(f"[{case.reference}] Overdue:")
    assert "“No response”" in notice.body
    frozen(moment(2026, 1, 22, 8, 1))
    reminders_dispatch()
    assert len(mail.outbox) == 1  # one notice, not one a day


def test_planning_twice_changes_nothing(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    rows = list(Reminder.objects.values_list("pk", "status", "scheduled_for"))
    result = services.reminders_plan(deadline=visit)
    assert (result.created, result.rescheduled, result.cancelled) == (0, 0, 0)
    assert list(Reminder.objects.values_list("pk", "status", "scheduled_for")) == rows


def test_a_changed_time_zone_is_picked_up_by_the_replan_sweep(frozen, case, coordinator):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
    )
    set_profile(coordinator, time_zone="Asia/Seoul")
    services.reminders_replan_open()
    assert planned(visit, coordinator)[dt.date(2026, 1, 8)] == moment(2026, 1, 8, 8, tz=SEOUL)


def test_a_due_reminder_is_enqueued_only_after_commit(
    frozen, case, coordinator, django_capture_on_commit_callbacks, monkeypatch
):
    from advocacy.celery import app

    calls = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, *a, **kw: (
            calls.append("dispatch") if name == "cases.dispatch_due_reminders" else None
        ),
    )
    frozen(moment(2026, 1, 6, 9))  # the 3-day point has passed: one reminder is due at once
    with django_capture_on_commit_callbacks(execute=True):
        factories.make_deadline(
            case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[coordinator]
        )
        assert calls == []
    assert calls == ["dispatch"]


def test_nothing_is_enqueued_when_nothing_is_due(
    frozen, case, coordinator, django_capture_on_commit_callbacks, monkeypatch
):
    from advocacy.celery import app

    calls = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, *a, **kw: (
            calls.append("dispatch") if name == "cases.dispatch_due_reminders" else None
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        factories.make_deadline(
            case=case, by=coordinator, due_on=dt.date(2026, 1, 20), assignees=[coordinator]
        )
    assert calls == []


def test_assignees_who_cannot_see_the_case_get_nothing_and_coordinators_step_in(
    frozen, case, coordinator, outsider
):
    visit = factories.make_deadline(
        case=case, by=coordinator, due_on=dt.date(2026, 1, 8), assignees=[outsider]
    )
    assert Reminder.objects.filter(deadline=visit, recipient=outsider).count() == 0
    assert len(planned(visit, coordinator)) == 3


# --- One email per point, whatever is edited ---------------------------------------------------
def test_changing_reminder_days_on_the_due_day_never_repeats_what_was_sent(
    frozen, case, coordinator
):
    visit = factories.make_deadline(
        case=case, by=coordinator, assignees=[coordinator], reminder_days=[0]
    )
    frozen(moment(2026, 1, 8, 8, 1))
    reminders_dispatch()
    assert [email.subject for email in mail.outbox] == [
        f"[{case.reference}] Today: Follow-up visit (Jan. 8, 2026)"
    ]

    # The reader wanted more notice: 2 days, then 1 day as well. Both points are past and the
    # reader was told since: nothing new is owed.
    services.deadline_update(deadline=visit, by=coordinator, reminder_days=[2])
    reminders_dispatch()
    services.deadline_update(deadline=visit, by=coordinator, reminder_days=[2, 1])
    reminders_dispatch()
    services.reminders_replan_open()
    reminders_dispatch()

    assert len(mail.outbox) == 1
    assert not Reminder.objects.filter(
        deadline=visit, kind=ReminderKind.REMINDER, status=ReminderStatus.PENDING
    ).exists()


def test_changing_reminder_days_in_the_admin_takes_effect_at_once(
    frozen, case, coordinator, editor, staff, client
):
    visit = factories.make_deadline(case=case, by=coordinator, assignees=[coordinator, editor])
    assert set(planned(visit, editor)) == {
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 7),
        dt.date(2026, 1, 8),
    }
    client.force_login(staff)
    response = client.post(
        f"/admin/cases/deadline/{visit.pk}/change/",
        {
            "case": case.pk,
            "kind": visit.kind,
            "title": visit.title,
            "due_on": "2026-01-08",
            "due_precision": "day",
            "due_timezone": "",
            "status": visit.status,
            "reminder_days": "[1]",
            "assignees": [coordinator.pk],  # the editor is no longer assigned
            "change_reason": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert planned(visit, editor) == {}  # at once, not at the hourly re-plan
    assert set(planned(visit, coordinator)) == {dt.date(2026, 1, 7)}
    cancelled = Reminder.objects.filter(
        deadline=visit, recipient=editor, status=ReminderStatus.CANCELLED
    )
    assert cancelled.count() == 4  # three reminders and the overdue notice

    # Days that are not whole days are refused with a message, and nothing changes.
    form = {**response.wsgi_request.POST.dict(), "reminder_days": "1"}
    refused = client.post(f"/admin/cases/deadline/{visit.pk}/change/", form)
    assert refused.status_code == 200
    assert "Give whole days from 0 to 365 as a list" in refused.text
    visit.refresh_from_db()
    assert visit.reminder_days == [1]


def test_an_overdue_date_corrected_again_brings_no_second_notice(frozen, case, coordinator):
    visit = factories.make_deadline(case=case, by=coordinator, assignees=[coordinator])
    frozen(moment(2026, 1, 9, 8, 1))
    reminders_dispatch()
    assert [email.subject for email in mail.outbox][-1].startswith(f"[{case.reference}] Overdue")
    told = len(mail.outbox)

    frozen(moment(2026, 1, 9, 10))
    services.deadline_update(deadline=visit, by=coordinator, due_on=dt.date(2026, 1, 7))
    reminders_dispatch()
    services.deadline_update(deadline=visit, by=coordinator, due_on=dt.date(2026, 1, 6))
    reminders_dispatch()
    assert len(mail.outbox) == told

    # Moved into the future and passed again: that is news, and one notice says it.
    services.deadline_update(deadline=visit, by=coordinator, due_on=dt.date(2026, 1, 12))
    frozen(moment(2026, 1, 13, 8, 1))
    reminders_dispatch()
    overdue = [email for email in mail.outbox if "Overdue" in email.subject]
    assert len(overdue) == 2 and "(Jan. 12, 2026)" in overdue[-1].subject


def test_a_sent_point_moved_to_the_delivery_log_is_not_sent_again(
    frozen, case, coordinator, settings
):
    settings.REMINDER_LOG_AFTER_DAYS = 1
    visit = factories.make_deadline(
        case=case, by=coordinator, assignees=[coordinator], due_on=dt.date(2026, 3, 31)
    )
    services.deadline_update(
        deadline=visit, by=coordinator, due_precision=DatePrecision.MONTH, reminder_days=[60]
    )
    frozen(moment(2026, 1, 30, 8, 1))
    reminders_dispatch()
    assert len(mail.outbox) == 1
    frozen(moment(2026, 2, 5, 8))
    assert services.reminders_prune() == 1
    [logged] = ReminderDelivery.objects.all()
    assert (logged.recipient, logged.point_on) == (coordinator, dt.date(2026, 1, 30))
    assert logged.message_id == mail.outbox[0].extra_headers["Message-ID"]
    assert not Reminder.objects.filter(status=ReminderStatus.SENT).exists()

    # Re-planning later (or adding a reminder day that is also past) sends nothing again.
    services.reminders_replan_open()
    services.deadline_update(deadline=visit, by=coordinator, reminder_days=[61, 60])
    reminders_dispatch()
    assert len(mail.outbox) == 1
