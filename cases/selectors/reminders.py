"""Reads about reminders: what is due now, who hears about a deadline, what a calendar lists."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cases import access
from cases.models import (
    Case,
    Deadline,
    DeadlineStatus,
    FailureCause,
    Membership,
    Reminder,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)

# How far back the calendar feed reaches: older deadlines are history, not plans.
CALENDAR_PAST_DAYS = 365


def reminders_due(*, now: dt.datetime) -> QuerySet[Reminder]:
    """Pending rows the dispatcher may take now (served by the partial index reminder_due_idx)."""
    return Reminder.objects.filter(status=ReminderStatus.PENDING, next_attempt_at__lte=now)


def reminders_with_expired_lease(*, now: dt.datetime) -> QuerySet[Reminder]:
    """Rows left in "sending" by a worker that died (partial index reminder_lease_idx)."""
    return Reminder.objects.filter(status=ReminderStatus.SENDING, lease_expires_at__lte=now)


def reminders_given_up_unreachable() -> QuerySet[Reminder]:
    """Failed rows whose last attempt found no mail server (partial index
    reminder_unreachable_idx): sent again once the server answers."""
    return Reminder.objects.filter(
        status=ReminderStatus.FAILED, failure_cause=FailureCause.UNREACHABLE
    )


def failure_report_recipients_due(*, now: dt.datetime) -> QuerySet:
    """Ids of the coordinators with a failure report due now, each once."""
    return (
        reminders_due(now=now)
        .filter(kind=ReminderKind.FAILURE_REPORT)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )


def digest_recipients_due(*, now: dt.datetime) -> QuerySet:
    """Ids of the users who have digest rows due now, each once."""
    return (
        reminders_due(now=now)
        .filter(digest=True)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )


def coordinators_of(organization_ids) -> QuerySet:
    """(organization id, user id) of the active coordinators of these organizations: the
    coordinators of the cases they lead (reminder planning, for many deadlines at once)."""
    return Membership.objects.filter(
        organization_id__in=organization_ids,
        role=Membership.Role.COORDINATOR,
        user__is_active=True,
    ).values_list("organization_id", "user_id")


def case_coordinators(case: Case) -> QuerySet:
    """Active users who coordinate the case: coordinators of its lead organization."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__organization_id=case.lead_organization_id,
            memberships__role=Membership.Role.COORDINATOR,
        )
        .distinct()
    )


def reminders_failed_for_case(case: Case) -> QuerySet[Reminder]:
    """Reminders that could not be delivered, for the case page."""
    return (
        Reminder.objects.filter(deadline__case=case, status=ReminderStatus.FAILED)
        .select_related("deadline", "recipient")
        .order_by("-updated_at")
    )


def reminders_for_deadline(deadline: Deadline) -> QuerySet[Reminder]:
    return deadline.reminders.select_related("recipient").order_by("scheduled_for", "id")


def muted_case_ids(user) -> set[int]:
    return set(
        UserProfile.muted_cases.through.objects.filter(userprofile__user=user).values_list(
            "case_id", flat=True
        )
    )


def overdue_deadlines(*, now: dt.datetime | None = None) -> QuerySet[Deadline]:
    """Open deadlines whose day is over in the installation's time zone.

    A deadline with its own time or time zone may pass a few hours earlier or later; use
    ``cases.services.reminders.common.deadline_passes_at`` for the exact moment of one deadline.
    """
    today = timezone.localdate(now or timezone.now())
    return Deadline.objects.filter(status=DeadlineStatus.OPEN, due_on__lt=today)


def calendar_deadlines_for(user) -> QuerySet[Deadline]:
    """The deadlines a user's calendar feed lists: every case the user may see, nothing else."""
    since = timezone.localdate() - dt.timedelta(days=CALENDAR_PAST_DAYS)
    return (
        access.visible_through_case(user, Deadline.objects.all())
        .exclude(status=DeadlineStatus.CANCELLED)
        .filter(due_on__gte=since)
        .select_related("case")
        .order_by("due_on", "due_time", "id")
    )


def case_url(case: Case) -> str:
    """The case page's address, for emails and calendars."""
    try:
        path = reverse("cases:case-detail", args=[case.pk])
    except NoReverseMatch:
        path = f"/cases/{case.pk}/"
    return f"{settings.SITE_URL}{path}"


def settings_url() -> str:
    """Where a user mutes cases and picks immediate emails or a digest."""
    try:
        path = reverse("cases:settings")
    except NoReverseMatch:
        path = "/settings/"
    return f"{settings.SITE_URL}{path}"


def calendar_feed_url(user) -> str:
    """The user's secret calendar address (anyone holding it sees their deadlines)."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    try:
        path = reverse("cases:calendar-feed", args=[profile.calendar_token])
    except NoReverseMatch:
        path = f"/calendar/{profile.calendar_token}.ics"
    return f"{settings.SITE_URL}{path}"
