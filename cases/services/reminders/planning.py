"""Planning: turning a deadline into outbox rows, one per recipient and reminder point.

``reminders_plan`` runs whenever a deadline is created, moved, reassigned, completed or
cancelled (in the same transaction). Rows for points still ahead are (re)scheduled, rows no
longer wanted are cancelled, none is deleted. Nothing here sends an email: it asks for a
dispatch round (``enqueue.dispatch_soon``) once a row is due.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    Case,
    Deadline,
    DeadlineStatus,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import period_end
from cases.selectors import reminders as selectors
from cases.services.profiles import profile_get

from .common import REMINDING, at_morning, deadline_passes_at, next_morning, zone
from .enqueue import dispatch_soon


@dataclass(frozen=True)
class _Point:
    """One email someone should get about the deadline, at its nominal time."""

    recipient_id: int
    kind: str
    point_on: dt.date
    days_before: int | None
    at: dt.datetime
    tz: zoneinfo.ZoneInfo
    digest: bool

    @property
    def key(self) -> tuple[int, str, dt.date]:
        return (self.recipient_id, self.kind, self.point_on)


@dataclass
class PlanResult:
    created: int = 0
    rescheduled: int = 0
    cancelled: int = 0
    due_now: int = 0


@dataclass
class _Recipients:
    reminded: list[int]  # assignees, or the coordinators when nobody is assigned
    told_overdue: list[int]  # assignees and coordinators
    profiles: dict[int, UserProfile]
    excluded: dict[int, str]  # user id -> why they get nothing


@dataclass
class _Known:
    """What planning needs to know about the people of some deadlines, read once for all of
    them (``reminders_plan_many`` plans hundreds of deadlines with a few queries each)."""

    assignees: dict[int, list[int]]  # deadline id -> assigned user ids
    coordinators: dict[int, list[int]]  # lead organization id -> coordinator ids
    users: dict[int, object]
    muted: set[tuple[int, int]]  # (case id, user id)
    profiles: dict[int, UserProfile]
    visible: dict[int, set[int]]  # user id -> ids of these cases the user may see


def _know(deadlines: list[Deadline]) -> _Known:
    deadline_ids = [d.pk for d in deadlines]
    case_ids = {d.case_id for d in deadlines}
    org_ids = {d.case.lead_organization_id for d in deadlines}
    assignees: dict[int, list[int]] = {pk: [] for pk in deadline_ids}
    for deadline_id, user_id in (
        Deadline.assignees.through.objects.filter(deadline_id__in=deadline_ids)
        .order_by("pk")
        .values_list("deadline_id", "user_id")
    ):
        assignees[deadline_id].append(user_id)
    coordinators: dict[int, list[int]] = {pk: [] for pk in org_ids}
    for org_id, user_id in selectors.coordinators_of(org_ids).order_by("user_id"):
        coordinators[org_id].append(user_id)
    everyone = {pk for ids in assignees.values() for pk in ids}
    everyone |= {pk for ids in coordinators.values() for pk in ids}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=everyone)}
    muted = set(
        UserProfile.muted_cases.through.objects.filter(
            case_id__in=case_ids, userprofile__user_id__in=everyone
        ).values_list("case_id", "userprofile__user_id")
    )
    profiles = {
        profile.user_id: profile for profile in UserProfile.objects.filter(user_id__in=everyone)
    }
    visible = {
        pk: set(access.cases_visible_to(user).filter(pk__in=case_ids).values_list("pk", flat=True))
        for pk, user in users.items()
        if user.is_active and user.email
    }
    return _Known(assignees, coordinators, users, muted, profiles, visible)


def _recipients(deadline: Deadline, known: _Known | None = None) -> _Recipients:
    known = known or _know([deadline])
    case = deadline.case
    assignees = known.assignees.get(deadline.pk, [])
    coordinators = known.coordinators.get(case.lead_organization_id, [])
    reminded = assignees or coordinators
    told_overdue = list(dict.fromkeys([*assignees, *coordinators]))
    muted = {user_id for case_id, user_id in known.muted if case_id == case.pk}
    excluded: dict[int, str] = {}
    profiles: dict[int, UserProfile] = {}
    for user_id in told_overdue:
        user = known.users.get(user_id)
        if user is None or not user.is_active:
            excluded[user_id] = _("The recipient's account is inactive.")
        elif not user.email:
            excluded[user_id] = _("The recipient has no email address.")
        elif user_id in muted:
            excluded[user_id] = _("The recipient muted this case.")
        elif case.pk not in known.visible.get(user_id, set()):
            excluded[user_id] = _("The recipient can no longer see this case.")
        else:
            if user_id not in known.profiles:
                known.profiles[user_id] = profile_get(user)
            profiles[user_id] = known.profiles[user_id]
    reachable = [pk for pk in assignees if pk not in excluded or pk in muted]
    if assignees and not reachable:
        # Nobody assigned can be reached (left the organization, no email): the coordinators
        # are reminded instead, so the deadline is not silently orphaned. A mute is a choice
        # and does not count as unreachable.
        reminded = coordinators
    return _Recipients(
        reminded=[pk for pk in reminded if pk not in excluded],
        told_overdue=[pk for pk in told_overdue if pk not in excluded],
        profiles=profiles,
        excluded=excluded,
    )


def _points(deadline: Deadline, recipients: _Recipients) -> list[_Point]:
    passes_at = deadline_passes_at(deadline)
    due_on = period_end(deadline.due_on, deadline.due_precision)
    points = []
    for user_id in recipients.reminded:
        profile = recipients.profiles[user_id]
        tz = zone(profile.effective_time_zone)
        digest = profile.email_mode == UserProfile.EmailMode.DIGEST
        for days in sorted(set(deadline.reminder_days or [])):
            point_on = due_on - dt.timedelta(days=int(days))
            at = at_morning(point_on, tz)
            if at >= passes_at:
                continue  # "that morning" of a deadline due at 07:00 would come too late
            points.append(
                _Point(user_id, ReminderKind.REMINDER, point_on, int(days), at, tz, digest)
            )
    for user_id in recipients.told_overdue:
        profile = recipients.profiles[user_id]
        tz = zone(profile.effective_time_zone)
        digest = profile.email_mode == UserProfile.EmailMode.DIGEST
        # When it passes, but not at night: no earlier than 08:00 that day, their time.
        at = max(passes_at, at_morning(passes_at.astimezone(tz).date(), tz))
        points.append(_Point(user_id, ReminderKind.OVERDUE, due_on, None, at, tz, digest))
    return points


def _delivery_time(
    point: _Point, *, not_before: dt.datetime, passes_at: dt.datetime
) -> dt.datetime:
    """When the row is due: the point's time (or now, for a catch-up), moved to the next
    digest morning for digest readers unless that would be after the deadline."""
    when = max(point.at, not_before)
    if point.digest:
        morning = next_morning(when, point.tz)
        if point.kind == ReminderKind.OVERDUE or morning < passes_at:
            when = morning
    return when


def cancel_reason(deadline: Deadline, row: Reminder, recipients: _Recipients | None) -> str:
    if deadline.status != DeadlineStatus.OPEN:
        return _("The deadline is %(status)s.") % {"status": deadline.get_status_display().lower()}
    if recipients is not None:
        if row.recipient_id in recipients.excluded:
            return recipients.excluded[row.recipient_id]
        meant_for = (
            recipients.reminded if row.kind == ReminderKind.REMINDER else recipients.told_overdue
        )
        if row.recipient_id not in meant_for:
            return _("No longer a recipient of this deadline.")
    return _("The deadline moved or its reminder days changed.")


def reminders_plan(*, deadline: Deadline, now: dt.datetime | None = None) -> PlanResult:
    """Bring the deadline's outbox rows in line with the deadline as it is now.

    - Points still ahead get a pending row at 08:00 on their day in the recipient's time zone
      (digest readers: their next digest morning).
    - Of the points already past when planning, only the most recent one without a row is
      sent, at once, and only while the deadline has not passed: no late bulk. And only if
      the recipient was not told since that point (a reminder or overdue notice sent or in
      flight after it, also one already moved to the delivery log): changing reminder days,
      moving or re-planning never repeats what someone was already told, and an overdue
      date corrected again brings no second notice.
    - Pending rows no longer wanted (deadline moved, done, cancelled, reassigned, muted) are
      cancelled with the reason; cancelled rows wanted again are revived. Sent, failed and
      in-flight rows are records and are left alone. Nothing is deleted.
    """
    return reminders_plan_many(deadlines=[deadline], now=now)


def reminders_plan_many(*, deadlines: list[Deadline], now: dt.datetime | None = None) -> PlanResult:
    """``reminders_plan`` for many deadlines at once (a development moving hundreds of them),
    with the same outcome: what it reads and writes is batched, a few queries in all
    instead of a few dozen per deadline."""
    now = now or timezone.now()
    result = PlanResult()
    if not deadlines:
        return result
    with transaction.atomic():
        # One planner per deadline at a time (the deadline's services hold this lock already).
        ids = sorted(d.pk for d in deadlines)
        list(Deadline.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
        all_rows: dict[int, dict[tuple, Reminder]] = {pk: {} for pk in ids}
        for row in Reminder.objects.filter(deadline_id__in=ids, kind__in=REMINDING):
            all_rows[row.deadline_id][(row.recipient_id, row.kind, row.point_on)] = row
        open_ones = [d for d in deadlines if d.status == DeadlineStatus.OPEN]
        known = _know(open_ones) if open_ones else None
        delivered = _delivered([d.pk for d in open_ones])
        new_rows: list[Reminder] = []
        cancels: dict[str, list[int]] = {}
        moves: list[tuple[Reminder, dt.datetime, bool, bool]] = []
        for deadline in deadlines:
            _plan_one(
                deadline,
                all_rows[deadline.pk],
                known,
                delivered.get(deadline.pk, []),
                now,
                result,
                new_rows,
                cancels,
                moves,
            )
        Reminder.objects.bulk_create(new_rows)
        _reschedule_many(moves, now=now)
        for reason, pks in cancels.items():
            result.cancelled += Reminder.objects.filter(
                pk__in=pks, status=ReminderStatus.PENDING
            ).update(
                status=ReminderStatus.CANCELLED,
                cancelled_reason=reason,
                next_attempt_at=None,  # no longer due (Reminder.next_attempt_at)
                updated_at=now,
            )
        if result.due_now:
            transaction.on_commit(dispatch_soon)
    return result


def _delivered(deadline_ids: list[int]) -> dict[int, list[tuple]]:
    """Rows already moved to the delivery log, per deadline: (recipient, kind, sent_at)."""
    found: dict[int, list[tuple]] = {}
    if not deadline_ids:
        return found
    for deadline_id, recipient_id, kind, sent_at in ReminderDelivery.objects.filter(
        deadline_id__in=deadline_ids, kind__in=REMINDING
    ).values_list("deadline_id", "recipient_id", "kind", "sent_at"):
        found.setdefault(deadline_id, []).append((recipient_id, kind, sent_at))
    return found


def _plan_one(
    deadline: Deadline,
    rows: dict[tuple, Reminder],
    known: _Known | None,
    delivered: list[tuple],
    now: dt.datetime,
    result: PlanResult,
    new_rows: list[Reminder],
    cancels: dict[str, list[int]],
    moves: list[tuple[Reminder, dt.datetime, bool, bool]],
) -> None:
    """What planning one deadline writes: new rows (``new_rows``), rows to cancel by reason
    (``cancels``), rows to reschedule or revive (``moves``: row, when, digest, revive)."""
    recipients = None
    points: dict[tuple, _Point] = {}
    wanted: dict[tuple, dt.datetime] = {}  # key -> when the row should be due
    keep: set[tuple] = set()  # past points whose existing rows stay as they are
    if deadline.status == DeadlineStatus.OPEN:
        recipients = _recipients(deadline, known)
        points = {point.key: point for point in _points(deadline, recipients)}
        passes_at = deadline_passes_at(deadline)
        told = _last_told(rows.values(), delivered)
        latest_past: dict[tuple[int, str], _Point] = {}
        for point in points.values():
            if point.at > now:
                wanted[point.key] = _delivery_time(point, not_before=now, passes_at=passes_at)
                continue
            keep.add(point.key)
            group = (point.recipient_id, point.kind)
            if group not in latest_past or point.at > latest_past[group].at:
                latest_past[group] = point
        for point in latest_past.values():
            if point.kind == ReminderKind.REMINDER and now >= passes_at:
                continue  # the deadline is over: the overdue notice speaks instead
            last = told.get((point.recipient_id, point.kind))
            if last is not None and last >= point.at:
                continue  # told since this point: a catch-up would say it twice
            row = rows.get(point.key)
            if row is None or row.status == ReminderStatus.CANCELLED:
                keep.discard(point.key)
                wanted[point.key] = _delivery_time(point, not_before=now, passes_at=passes_at)

    for key, when in wanted.items():
        point = points[key]
        row = rows.get(key)
        if when <= now:
            result.due_now += 1
        if row is None:
            new_rows.append(
                Reminder(
                    deadline=deadline,
                    recipient_id=point.recipient_id,
                    kind=point.kind,
                    point_on=point.point_on,
                    days_before=point.days_before,
                    digest=point.digest,
                    scheduled_for=when,
                    next_attempt_at=when,
                )
            )
            result.created += 1
        elif row.status == ReminderStatus.CANCELLED:
            moves.append((row, when, point.digest, True))
            result.created += 1
        elif row.status == ReminderStatus.PENDING and (
            row.scheduled_for != when or row.digest != point.digest
        ):
            moves.append((row, when, point.digest, False))
            result.rescheduled += 1

    for key, row in rows.items():
        if row.status != ReminderStatus.PENDING or key in wanted or key in keep:
            continue
        reason = cancel_reason(deadline, row, recipients)[:200]
        cancels.setdefault(reason, []).append(row.pk)


def _last_told(rows, delivered: list[tuple]) -> dict[tuple[int, str], dt.datetime]:
    """When each (recipient, kind) was last told about the deadline: rows sent or in flight,
    and rows already moved to the delivery log (``delivered``)."""
    told: dict[tuple[int, str], dt.datetime] = {}

    def note(key: tuple[int, str], when: dt.datetime | None) -> None:
        if when is not None and (key not in told or when > told[key]):
            told[key] = when

    for row in rows:
        if row.status == ReminderStatus.SENT:
            note((row.recipient_id, row.kind), row.sent_at)
        elif row.status == ReminderStatus.SENDING:
            note((row.recipient_id, row.kind), row.claimed_at)
    for recipient_id, kind, sent_at in delivered:
        note((recipient_id, kind), sent_at)
    return told


def _reschedule_many(moves: list[tuple[Reminder, dt.datetime, bool, bool]], *, now) -> None:
    """Reschedule (or revive) rows, grouped by their new time and digest: one UPDATE per
    group (a moved deadline's points share their times), each still guarded by the status
    the row was read with."""
    groups: dict[tuple, list[Reminder]] = {}
    for row, when, digest, revive in moves:
        fresh = revive or row.attempts == 0  # next_attempt_at follows; a retry keeps its own
        groups.setdefault((when, digest, revive, fresh), []).append(row)
    for (when, digest, revive, fresh), rows in groups.items():
        changes = {"scheduled_for": when, "digest": digest, "updated_at": now}
        if revive:
            changes.update(
                status=ReminderStatus.PENDING,
                attempts=0,
                cancelled_reason="",
                last_error="",
            )
        if fresh:
            changes["next_attempt_at"] = when
        expected = ReminderStatus.CANCELLED if revive else ReminderStatus.PENDING
        Reminder.objects.filter(pk__in=[row.pk for row in rows], status=expected).update(**changes)


def reminders_replan_open(*, now: dt.datetime | None = None, chunk: int = 200) -> int:
    """Re-plan every open deadline (and close the rows of closed ones). Safe to run any time.

    Picks up what no service call announced: a deadline edited in the admin, a new
    coordinator, a changed time zone or reminder mode, a mute.
    """
    ids = list(
        Deadline.objects.filter(
            Q(status=DeadlineStatus.OPEN)
            | Q(reminders__status=ReminderStatus.PENDING, reminders__kind__in=REMINDING)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    for start in range(0, len(ids), chunk):
        for deadline in Deadline.objects.filter(pk__in=ids[start : start + chunk]).select_related(
            "case"
        ):
            reminders_plan(deadline=deadline, now=now)
    return len(ids)


def reminders_replan_for_user(*, user: AbstractBaseUser) -> int:
    """Re-plan the open deadlines of every case the user may see (after they change their
    time zone, reminder mode or mutes)."""
    deadlines = access.visible_through_case(
        user, Deadline.objects.filter(status=DeadlineStatus.OPEN)
    ).select_related("case")
    count = 0
    for deadline in deadlines:
        reminders_plan(deadline=deadline)
        count += 1
    return count


def case_mute(*, user: AbstractBaseUser, case: Case, muted: bool = True) -> None:
    """Stop (or resume) reminder emails about one case for one user."""
    with transaction.atomic():
        profile = profile_get(user)
        if muted:
            profile.muted_cases.add(case)
        else:
            profile.muted_cases.remove(case)
        for deadline in case.deadlines.filter(status=DeadlineStatus.OPEN):
            reminders_plan(deadline=deadline)
