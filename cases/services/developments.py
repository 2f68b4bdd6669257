"""Developments (one event, many cases) and the deadline moves made from them.

- ``development_create`` / ``development_update``: the record itself, owned by an
  organization where the author edits.
- ``development_link_case`` / ``development_unlink_case``: a link per case, made and ended by
  someone who may edit that case; it puts the development on the case's timeline.
- ``deadline_move_preview`` / ``deadline_move_apply`` / ``deadline_move_undo``: move the
  deadlines of the linked cases to a new date at once, on record (a history row per deadline
  naming the development), reminders re-planned, and one summary email per assignee
  (``deadline_move_notify``, in the worker, after commit).

The deadlines are written as ``bulk_update_with_history`` would (an UPDATE per distinct new
date, then one history row per deadline in one INSERT) instead of a save per deadline; see
bench/developments.py. Bulk history
sends no signal, so the timeline projection and its version tokens are brought in step here,
as ``services.timeline.project`` would for a saved deadline.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    Authority,
    Case,
    DatePrecision,
    Deadline,
    DeadlineMove,
    DeadlineMoveItem,
    DeadlineMoveNotice,
    Development,
    DevelopmentLink,
    Organization,
    TimelineEntry,
)
from cases.models.dates import format_fuzzy_date, period_end, period_start
from cases.selectors import developments as selectors

from . import plausibility
from .deadlines import cases_refresh_next_deadlines
from .reminders import reminders_plan_many
from .timeline import entries_touch, timeline_touch
from .transitions import clean_reason, save_tracked

DEADLINE_PRECISIONS = (DatePrecision.DAY, DatePrecision.MONTH)


# --- The development ---------------------------------------------------------------------------
def _check_happened(development: Development, confirmed: bool | None) -> None:
    development.happened_on = period_start(development.happened_on, development.happened_precision)
    plausibility.check(
        [
            plausibility.happened(
                "happened_on", development.happened_on, development.happened_precision
            )
        ],
        confirmed=confirmed,
    )


@transaction.atomic
def development_create(
    *,
    by: AbstractBaseUser,
    owner: Organization,
    title: str,
    kind: str,
    happened_on: dt.date,
    happened_precision: str = DatePrecision.DAY,
    description: str = "",
    source: str = "",
    authorities: Iterable[Authority] = (),
    confirmed: bool | None = None,
) -> Development:
    """Record a development on behalf of ``owner`` (an organization where ``by`` edits)."""
    if not access.organizations_recording_developments(by).filter(pk=owner.pk).exists():
        raise PermissionDenied
    development = Development(
        owner=owner,
        title=title,
        kind=kind,
        happened_on=happened_on,
        happened_precision=happened_precision,
        description=description,
        source=source,
        created_by=by,
    )
    _check_happened(development, confirmed)
    development.full_clean()
    save_tracked(development, by=by, reason="Recorded")
    development.authorities.set(list(authorities))
    return development


@transaction.atomic
def development_update(
    *,
    development: Development,
    by: AbstractBaseUser,
    reason: str = "Edited",
    authorities: Iterable[Authority] | None = None,
    confirmed: bool | None = None,
    **fields,
) -> Development:
    """Change the record (its owner's editors). Linked timelines follow its date."""
    if not access.may_edit_development(by, development):
        raise PermissionDenied
    fields.pop("owner", None)  # the owner does not change hands here
    for name, value in fields.items():
        setattr(development, name, value)
    _check_happened(development, confirmed)
    development.full_clean()
    save_tracked(development, by=by, reason=reason)
    if authorities is not None:
        development._history_user = by
        development._change_reason = reason
        development.authorities.set(list(authorities))
    return development


@transaction.atomic
def development_link_case(
    *, development: Development, case: Case, by: AbstractBaseUser
) -> DevelopmentLink:
    """Link the development to the case (edit rights on the case). Linking twice returns the
    existing link."""
    if not access.may_link_development(by, development, case):
        raise PermissionDenied
    existing = DevelopmentLink.objects.filter(development=development, case=case).first()
    if existing is not None:
        return existing
    link = DevelopmentLink(development=development, case=case, linked_by=by)
    save_tracked(link, by=by, reason="Linked")
    return link


@transaction.atomic
def development_unlink_case(*, link: DevelopmentLink, by: AbstractBaseUser) -> None:
    """Take the development off the case (edit rights on the case); its timeline entry goes,
    the link's history keeps who linked and who unlinked."""
    if not access.may_link_development(by, link.development, link.case):
        raise PermissionDenied
    link._history_user = by
    link._change_reason = "Unlinked"
    link.delete()


# --- Moving deadlines --------------------------------------------------------------------------
@dataclass
class MoveLine:
    deadline: Deadline
    old: str
    new: str
    blocked: str = ""  # why this one cannot take the new date


@dataclass
class MovePreview:
    new_on: dt.date
    new_precision: str
    movable: list[MoveLine] = field(default_factory=list)
    blocked: list[MoveLine] = field(default_factory=list)
    not_yours: list[MoveLine] = field(default_factory=list)


def _new_date(new_on: dt.date, new_precision: str) -> dt.date:
    if new_precision not in DEADLINE_PRECISIONS:
        raise ValidationError({"new_precision": _("A deadline is known to the day or the month.")})
    return period_end(new_on, new_precision)


def _blocked(deadline: Deadline, new_on: dt.date) -> str:
    if deadline.window_starts_on and deadline.window_starts_on > new_on:
        return _("Its window opens on %(date)s, after the new date.") % {
            "date": format_fuzzy_date(deadline.window_starts_on, DatePrecision.DAY)
        }
    petition = deadline.petition
    if petition is not None and petition.filed_on and petition.filed_on > new_on:
        return _("Its petition was filed on %(date)s, after the new date.") % {
            "date": format_fuzzy_date(petition.filed_on, DatePrecision.DAY)
        }
    return ""


def deadline_move_preview(
    *,
    development: Development,
    by: AbstractBaseUser,
    new_on: dt.date,
    new_precision: str,
    kind: str = "",
    status: str = "",
) -> MovePreview:
    """Every change a move would make, old → new (through the one date renderer), and the
    deadlines matching the filter on cases ``by`` sees but may not edit. Writes nothing."""
    new_on = _new_date(new_on, new_precision)
    new = format_fuzzy_date(new_on, new_precision, by=True)
    candidates = selectors.move_candidates(by, development, kind=kind, status=status)
    preview = MovePreview(new_on=new_on, new_precision=new_precision)
    for deadline in candidates.movable:
        if (deadline.due_on, deadline.due_precision) == (new_on, new_precision):
            continue  # already there
        line = MoveLine(deadline, deadline.due_display, new, _blocked(deadline, new_on))
        (preview.blocked if line.blocked else preview.movable).append(line)
    for deadline in candidates.not_yours:
        preview.not_yours.append(MoveLine(deadline, deadline.due_display, new))
    return preview


def _reason_moved(move: DeadlineMove, development: Development) -> str:
    return f'Moved with development "{development.title}" (#{development.pk}): {move.reason}'


def _reason_undone(move: DeadlineMove, development: Development) -> str:
    return (
        f'Undo of deadline move #{move.pk} with development "{development.title}" '
        f"(#{development.pk})"
    )


def _write_dates(
    deadlines: list[Deadline], *, by: AbstractBaseUser, reason: str, now: dt.datetime
) -> int:
    """Save the deadlines' new dates with one history row each; bring the timeline and the
    reminders in step. Returns the greatest history id written."""
    for deadline in deadlines:
        if deadline.due_precision != DatePrecision.DAY:
            deadline.due_time = None
        deadline.updated_at = now
    # No full_clean per deadline (a query per constraint and row): the new date was checked
    # (_new_date, plausibility, _blocked for the window and the petition), and the database
    # holds the constraints all the same.
    # What bulk_update_with_history does (the rows, then one history row each, with the
    # author, reason and date), with one UPDATE per distinct new date instead of bulk_update's
    # CASE per row and column (2 s of Python for 500 deadlines: bench/developments.py).
    groups: dict[tuple, list[int]] = defaultdict(list)
    for deadline in deadlines:
        groups[(deadline.due_on, deadline.due_precision, deadline.due_time)].append(deadline.pk)
    for (on, precision, time), pks in groups.items():
        Deadline.objects.filter(pk__in=pks).update(
            due_on=on, due_precision=precision, due_time=time, updated_at=now
        )
    Deadline.history.bulk_history_create(
        deadlines,
        batch_size=500,
        update=True,  # "~": a change, as a save would record it
        default_user=by,
        default_change_reason=reason,
        default_date=now,
    )
    ids = [d.pk for d in deadlines]
    # What services.timeline.project does for a saved deadline (bulk history sends no signal).
    by_date: dict[tuple, list[int]] = defaultdict(list)
    for deadline in deadlines:
        by_date[(deadline.due_on, deadline.due_precision)].append(deadline.pk)
    for (on, precision), pks in by_date.items():
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.DEADLINE, deadline_id__in=pks).update(
            happened_on=on, precision=precision, recorded_at=now
        )
    # Every entry showing one of them (its due date), written without a history signal.
    entries_touch(Q(deadline_id__in=ids))
    case_ids = sorted({d.case_id for d in deadlines})
    cases_refresh_next_deadlines(case_ids=case_ids)  # the case list's next deadline
    timeline_touch(case_ids=case_ids)
    reminders_plan_many(deadlines=deadlines, now=now)
    mark = Deadline.history.filter(id__in=ids).aggregate(mark=Max("history_id"))["mark"]
    return mark or 0


def _notify(move: DeadlineMove, deadline_ids: list[int], action: str) -> None:
    """One summary email per assignee of these deadlines, sent by the worker after commit."""
    recipients = set(
        Deadline.assignees.through.objects.filter(deadline_id__in=deadline_ids).values_list(
            "user_id", flat=True
        )
    )
    DeadlineMoveNotice.objects.bulk_create(
        [DeadlineMoveNotice(move=move, recipient_id=pk, action=action) for pk in recipients],
        ignore_conflicts=True,
    )
    if recipients:
        from cases.tasks import send_deadline_move_notices

        send_deadline_move_notices.delay_on_commit(move.pk)


@transaction.atomic
def deadline_move_apply(
    *,
    development: Development,
    by: AbstractBaseUser,
    new_on: dt.date,
    new_precision: str,
    reason: str,
    kind: str = "",
    status: str = "",
    deadline_ids: Iterable[int] | None = None,
    confirmed: bool | None = None,
    now: dt.datetime | None = None,
) -> DeadlineMove:
    """Move the matching deadlines ``by`` may edit (only those picked, if ``deadline_ids``)
    to the new date, with one reason; returns the move, the record its undo works from."""
    reason = clean_reason(reason)
    now = now or timezone.now()
    new_on = _new_date(new_on, new_precision)
    plausibility.check(
        [
            plausibility.in_range("new_on", new_on),
            plausibility.due("new_on", new_on, new_precision),
        ],
        confirmed=confirmed,
    )
    preview = deadline_move_preview(
        development=development,
        by=by,
        new_on=new_on,
        new_precision=new_precision,
        kind=kind,
        status=status,
    )
    picked = None if deadline_ids is None else {int(pk) for pk in deadline_ids}
    ids = [
        line.deadline.pk for line in preview.movable if picked is None or line.deadline.pk in picked
    ]
    if not ids:
        raise ValidationError(_("No deadline to move: none matches, or none was picked."))
    # Lock the rows (in id order: two moves at once wait rather than deadlock) and re-read.
    deadlines = list(
        Deadline.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("case")
        .order_by("pk")
    )
    move = DeadlineMove(
        development=development,
        by=by,
        reason=reason,
        kind=kind,
        status=status,
        new_on=new_on,
        new_precision=new_precision,
        applied_at=now,
    )
    items = []
    for deadline in deadlines:
        items.append(
            DeadlineMoveItem(
                deadline=deadline,
                old_on=deadline.due_on,
                old_precision=deadline.due_precision,
                old_time=deadline.due_time,
                new_on=new_on,
                new_precision=new_precision,
            )
        )
        deadline.due_on, deadline.due_precision = new_on, new_precision
    move.history_mark = _write_dates(
        deadlines, by=by, reason=_reason_moved(move, development), now=now
    )
    save_tracked(move, by=by, reason="Applied")
    for item in items:
        item.move = move
    DeadlineMoveItem.objects.bulk_create(items)
    _notify(move, [d.pk for d in deadlines], DeadlineMoveNotice.Action.MOVED)
    return move


@dataclass
class UndoResult:
    restored: list[DeadlineMoveItem] = field(default_factory=list)
    refused: list[DeadlineMoveItem] = field(default_factory=list)


@transaction.atomic
def deadline_move_undo(
    *, move: DeadlineMove, by: AbstractBaseUser, now: dt.datetime | None = None
) -> UndoResult:
    """Put the deadlines of a move back where they were, within a day of the move (whoever
    made it). A deadline changed again since, or on a case ``by`` may no longer edit, is
    left as it is and listed as refused."""
    now = now or timezone.now()
    move = DeadlineMove.objects.select_for_update().select_related("development").get(pk=move.pk)
    if not (move.by_id == by.pk or by.is_superuser):
        raise PermissionDenied
    if not move.may_undo_at(now):
        raise ValidationError(_("This move can no longer be undone (a day has passed, or it was)."))
    items = list(move.items.order_by("deadline_id"))
    deadlines = {
        d.pk: d
        for d in Deadline.objects.select_for_update()
        .filter(pk__in=[i.deadline_id for i in items])
        .select_related("case")
        .order_by("pk")
    }
    changed = set(
        Deadline.history.filter(
            id__in=list(deadlines), history_id__gt=move.history_mark
        ).values_list("id", flat=True)
    )
    editable = set(
        access.cases_editable_by(by)
        .filter(pk__in={d.case_id for d in deadlines.values()})
        .values_list("pk", flat=True)
    )
    result = UndoResult()
    restore = []
    for item in items:
        deadline = deadlines.get(item.deadline_id)
        if deadline is None:
            continue
        if deadline.case_id not in editable:
            item.undo, item.undo_note = item.Undo.REFUSED, item.NOT_EDITABLE
        elif item.deadline_id in changed or (deadline.due_on, deadline.due_precision) != (
            item.new_on,
            item.new_precision,
        ):
            item.undo, item.undo_note = item.Undo.REFUSED, item.CHANGED_AGAIN
        else:
            item.undo = item.Undo.RESTORED
            deadline.due_on, deadline.due_precision = item.old_on, item.old_precision
            deadline.due_time = item.old_time
            restore.append(deadline)
        (result.restored if item.undo == item.Undo.RESTORED else result.refused).append(item)
    if restore:
        _write_dates(restore, by=by, reason=_reason_undone(move, move.development), now=now)
    # The item's outcome is written once, here (items carry no history: see the model).
    DeadlineMoveItem.objects.bulk_update(items, ["undo", "undo_note"])
    move.undone_at, move.undone_by = now, by
    save_tracked(move, by=by, reason="Undone")
    _notify(move, [d.pk for d in restore], DeadlineMoveNotice.Action.UNDONE)
    return result


# --- The summary email ------------------------------------------------------------------------
def deadline_move_notify(*, move_id: int) -> int:
    """Send the move's summary emails still due: one per recipient and action, listing their
    deadlines old → new, in their language. Safe to run twice (a notice is claimed under a row
    lock and marked sent in the same transaction). Returns how many went out."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    from .profiles import profile_get

    pending = list(
        DeadlineMoveNotice.objects.filter(move_id=move_id, sent_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    sent = 0
    for pk in pending:
        with transaction.atomic():
            notice = (
                DeadlineMoveNotice.objects.select_for_update(skip_locked=True)
                .select_related("move__development", "recipient")
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if notice is None:
                continue  # sent meanwhile, or being sent by another worker
            move, user = notice.move, notice.recipient
            undone = notice.action == DeadlineMoveNotice.Action.UNDONE
            items = (
                move.items.filter(
                    deadline__assignees=user,
                    deadline__case__in=access.cases_visible_to(user),
                )
                .select_related("deadline__case")
                .order_by("deadline__case__reference", "pk")
            )
            if undone:
                items = items.filter(undo=DeadlineMoveItem.Undo.RESTORED)
            items = list(items)
            if items and user.is_active and user.email:
                language = profile_get(user).language or settings.LANGUAGE_CODE
                with translation.override(language):
                    lines = [
                        {
                            "reference": item.deadline.case.reference,
                            "title": item.deadline.title,
                            "before": item.new_display if undone else item.old_display,
                            "after": item.old_display if undone else item.new_display,
                            "case_url": settings.SITE_URL
                            + reverse("cases:case-detail", args=[item.deadline.case_id]),
                        }
                        for item in items
                    ]
                    context = {
                        "undone": undone,
                        "development": move.development.title,
                        "count": len(lines),
                        "lines": lines,
                        "reason": move.reason,
                        "by": move.by.get_username() if move.by else "",
                        "development_url": settings.SITE_URL
                        + reverse("cases:development-detail", args=[move.development_id]),
                    }
                    subject = render_to_string("emails/deadline_move_subject.txt", context)
                    message = EmailMultiAlternatives(
                        subject=" ".join(subject.split()),
                        body=render_to_string("emails/deadline_move.txt", context),
                        to=[user.email],
                    )
                    message.attach_alternative(
                        render_to_string("emails/deadline_move.html", context), "text/html"
                    )
                    sent += message.send()
            notice.sent_at = timezone.now()
            notice.save(update_fields=["sent_at"])
    return sent


def deadline_move_notify_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> int:
    """Send the summaries still pending a while after their move (their request to the
    worker was lost). Returns how many went out."""
    cutoff = timezone.now() - older_than
    moves = (
        DeadlineMoveNotice.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .values_list("move_id", flat=True)
        .distinct()
    )
    return sum(deadline_move_notify(move_id=move_id) for move_id in list(moves))
