"""Deadline reminders, in four parts that each do one thing (docs/reminders.md follows them):

- ``planning``: a deadline becomes outbox rows, one per recipient and reminder point.
- ``delivery``: due rows are claimed, checked again, sent over SMTP and recorded, once.
- ``messages``: the email a row becomes, in its reader's language and time zone.
- ``calendar``: deadlines as iCalendar (the secret feed and email attachments).

Beside them: ``recovery`` (what a stopped worker, a lost database connection or a mail outage
left behind, and pruning), ``smtp`` (what an SMTP error means), ``common`` (times of day,
when a deadline passes) and ``enqueue`` (asks a worker for a round by the task's name).
Imports run one way only: planning and messages never import delivery, and nothing here
imports ``cases.tasks``, whose tasks are thin entry points over these functions
(tests/test_reminders_package.py checks the graph).
"""

from .calendar import calendar_token_regenerate, deadlines_to_ical
from .common import deadline_is_overdue, deadline_passes_at
from .delivery import DispatchResult, reminders_dispatch
from .planning import (
    PlanResult,
    case_mute,
    reminders_plan,
    reminders_plan_many,
    reminders_replan_for_user,
    reminders_replan_open,
)
from .recovery import (
    ArchiveResult,
    reminder_retry,
    reminders_archive,
    reminders_prune,
    reminders_recover_worker,
)

__all__ = [
    "ArchiveResult",
    "DispatchResult",
    "PlanResult",
    "calendar_token_regenerate",
    "case_mute",
    "deadline_is_overdue",
    "deadline_passes_at",
    "deadlines_to_ical",
    "reminder_retry",
    "reminders_archive",
    "reminders_dispatch",
    "reminders_plan",
    "reminders_plan_many",
    "reminders_prune",
    "reminders_recover_worker",
    "reminders_replan_for_user",
    "reminders_replan_open",
]
