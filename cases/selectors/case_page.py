"""What the case page shows that is not kept in the cache, read in one query per view."""

from dataclasses import dataclass

from cases.models import (
    Alert,
    Case,
    Deadline,
    Reminder,
    ReminderStatus,
    TimelineVersion,
    UserProfile,
)
from cases.selectors.compiled import run_statement
from cases.selectors.timeline import case_page_scopes, case_page_versions_from


@dataclass(frozen=True)
class CasePageState:
    """The versions of the page's parts (``case_page_versions_from``) and what the reader's view
    of it needs on every request: whether they muted the case, and whether there is anything
    to show in the two places never cached (failed reminders, open urgent alerts)."""

    versions: dict[str, str]
    muted: bool
    has_failed_reminders: bool
    has_open_alerts: bool
    # The statement also counted this view as a repeat view of the session (``with_write``).
    repeat_view_counted: bool = False


# Never a TimelineVersion scope.
_MUTED, _FAILED, _ALERTS, _REPEAT_VIEW = "=muted", "=failed", "=alerts", "=repeat-view"
_REPEAT_VIEW_SQL = "SELECT '=repeat-view', '' WHERE EXISTS (SELECT 1 FROM repeat_view)"

# One statement, the same on PostgreSQL and SQLite: the version tokens as (scope, token) rows,
# then one row for each flag that holds. Each flag is an EXISTS through an index: the muted
# cases' (profile, case) unique pair, the deadlines' and reminders' foreign keys, the open
# alerts' partial index (alert_open_idx). Table names are the models' own; values are
# parameters.
_STATE_SQL = """
SELECT v.scope, v.token FROM {version} v WHERE v.scope IN ({scopes})
UNION ALL
SELECT '{muted}', '' WHERE EXISTS (
    SELECT 1 FROM {muted_table} mc JOIN {profile} p ON p.id = mc.{muted_profile}
    WHERE p.user_id = %s AND mc.{muted_case} = %s)
UNION ALL
SELECT '{failed}', '' WHERE EXISTS (
    SELECT 1 FROM {reminder} r JOIN {deadline} d ON d.id = r.deadline_id
    WHERE d.case_id = %s AND r.status = %s)
UNION ALL
SELECT '{alerts}', '' WHERE EXISTS (
    SELECT 1 FROM {alert} a WHERE a.case_id = %s AND a.closed_at IS NULL)
"""


def _state_sql(scope_count: int) -> str:
    muted = UserProfile.muted_cases.through._meta
    return _STATE_SQL.format(
        version=TimelineVersion._meta.db_table,
        scopes=", ".join(["%s"] * scope_count),
        muted=_MUTED,
        muted_table=muted.db_table,
        muted_profile=muted.get_field("userprofile").column,
        muted_case=muted.get_field("case").column,
        profile=UserProfile._meta.db_table,
        failed=_FAILED,
        reminder=Reminder._meta.db_table,
        deadline=Deadline._meta.db_table,
        alerts=_ALERTS,
        alert=Alert._meta.db_table,
    )


def case_page_state(case: Case, user, *, with_write=None) -> CasePageState:
    """The case page's versions and the reader's flags, in one query (was four, plus the
    reader's profile). The caller has checked that the reader may see the case.

    ``with_write``: ``(sql, params)`` of a data-modifying CTE named ``repeat_view`` that
    returns a row when it counted this view (``services.audit.repeat_view_cte``), run in the
    same statement to save a round trip; the state reads none of what it writes.
    """

    scopes = case_page_scopes(case.pk)
    sql = _state_sql(len(scopes))
    params = [*scopes, user.pk, case.pk, case.pk, ReminderStatus.FAILED.value, case.pk]
    if with_write is not None:
        cte, cte_params = with_write
        sql = "\n".join(["WITH " + cte, sql, "UNION ALL", _REPEAT_VIEW_SQL])
        params = [*cte_params, *params]
    # Prepared on PostgreSQL: planning it took longer than running it.
    rows = dict(run_statement(sql, params))
    return CasePageState(
        versions=case_page_versions_from(case.pk, rows),
        muted=_MUTED in rows,
        has_failed_reminders=_FAILED in rows,
        has_open_alerts=_ALERTS in rows,
        repeat_view_counted=_REPEAT_VIEW in rows,
    )
