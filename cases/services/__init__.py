"""The domain layer: every write that has rules goes through a function here.

Views, forms, admin actions, Celery tasks and management commands call these; none of them
re-implements a rule.
"""

from . import team
from .accounts import password_reset_request, password_reset_send
from .actors import system_actor
from .audit import access_log_record, case_view_record, repeat_view_cte
from .cases import (
    case_add_prisoner,
    case_assign_reference,
    case_change_status,
    case_create,
    case_remove_prisoner,
    case_share,
    case_unshare,
    case_update,
)
from .deadlines import (
    case_refresh_next_deadline,
    cases_rebuild_next_deadlines,
    deadline_change_status,
    deadline_create,
    deadline_update,
)
from .documents import document_check_upload, document_store
from .events import event_log, event_update
from .links import person_link_decide, person_link_request
from .petitions import RequestSpec, petition_change_status, petition_create, petition_update
from .prisoners import (
    prisoner_change_custody,
    prisoner_create,
    prisoner_register,
    prisoner_update,
)
from .profiles import profile_get
from .reminders import (
    calendar_token_regenerate,
    case_mute,
    reminder_retry,
    reminders_archive,
    reminders_dispatch,
    reminders_plan,
    reminders_prune,
    reminders_recover_worker,
    reminders_replan_for_user,
    reminders_replan_open,
)
from .transitions import allowed_next

__all__ = [
    "RequestSpec",
    "access_log_record",
    "allowed_next",
    "calendar_token_regenerate",
    "case_add_prisoner",
    "case_assign_reference",
    "case_change_status",
    "case_create",
    "case_mute",
    "case_refresh_next_deadline",
    "case_remove_prisoner",
    "case_share",
    "case_unshare",
    "case_update",
    "case_view_record",
    "cases_rebuild_next_deadlines",
    "deadline_change_status",
    "deadline_create",
    "deadline_update",
    "document_check_upload",
    "document_store",
    "event_log",
    "event_update",
    "password_reset_request",
    "password_reset_send",
    "person_link_decide",
    "person_link_request",
    "petition_change_status",
    "petition_create",
    "petition_update",
    "prisoner_change_custody",
    "prisoner_create",
    "prisoner_register",
    "prisoner_update",
    "profile_get",
    "reminder_retry",
    "reminders_archive",
    "reminders_dispatch",
    "reminders_plan",
    "reminders_prune",
    "reminders_recover_worker",
    "reminders_replan_for_user",
    "reminders_replan_open",
    "repeat_view_cte",
    "system_actor",
    "team",
]
