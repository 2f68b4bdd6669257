"""The access log: who viewed a case, revealed an identity, downloaded or exported."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases.models import AccessLog, Case, CaseViewSession, Prisoner


def access_log_record(
    *,
    user: AbstractBaseUser,
    action: str,
    case: Case | None,
    target: str = "",
    prisoner: Prisoner | None = None,
) -> AccessLog:
    """One row of the access log. A reveal names the person (``prisoner``), so that it is on
    the record of the person's owner, whoever reveals and from wherever."""
    return AccessLog.objects.create(
        user=user,
        username=user.get_username(),
        case=case,
        prisoner=prisoner,
        action=action,
        target=target[:200],
    )


# A record of a read may be lost in a crash of the database server, never made wrong: views
# commit without waiting for the disk flush (PostgreSQL's synchronous_commit, for that one
# transaction). The flush was most of a case page's time on a plain disk (about 4 ms, more
# than a whole one-line page), and the first view holds the access log's chain lock while it
# commits. Transactions are lost only as the WAL's tail, so a lost view leaves the chain whole
# (docs/security.md, "Access review").
_ASYNC_COMMIT_SQL = "SELECT set_config('synchronous_commit', 'off', true)"

# The repeat view, counted as a data-modifying CTE (PostgreSQL): it returns a row when this
# session had already seen the case, so that the case page's state query counts the view in
# the same round trip (cases/selectors/case_page.py).
_REPEAT_VIEW_CTE = """repeat_view AS (
    UPDATE {table} SET {count} = {count} + 1, {last_at} = %s
    WHERE {session_sid} = %s AND {case} = %s AND {user} = %s
    RETURNING {async_commit}
)"""


def _commits_on_its_own(connection) -> bool:
    """Whether a statement run now is its own transaction (or opens one), so that relaxing its
    commit cannot reach a caller's writes."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def repeat_view_cte(*, user: AbstractBaseUser, case: Case, session_sid: str):
    """``(sql, params)`` of a CTE named ``repeat_view`` that counts this view if the session
    has seen the case before (one row returned) and does nothing otherwise; None where the
    database cannot run it (SQLite: no UPDATE inside WITH) or when there is no session to
    count in. The caller then passes ``repeat_checked`` to ``case_view_record``."""
    from django.db import connection

    if not session_sid or connection.vendor != "postgresql":
        return None
    opts = CaseViewSession._meta
    quote = connection.ops.quote_name
    sql = _REPEAT_VIEW_CTE.format(
        table=quote(opts.db_table),
        count=quote(opts.get_field("count").column),
        last_at=quote(opts.get_field("last_at").column),
        session_sid=quote(opts.get_field("session_sid").column),
        case=quote(opts.get_field("case").column),
        user=quote(opts.get_field("user").column),
        # Called only when a row is updated: a statement that writes nothing flushes nothing.
        async_commit=(
            "set_config('synchronous_commit', 'off', true)"
            if _commits_on_its_own(connection)
            else "1"
        ),
    )
    return sql, [timezone.now(), session_sid, case.pk, user.pk]


# A first view's counter, or one more view on the counter another request of the same
# session wrote meanwhile: one statement (PostgreSQL and SQLite), no savepoint.
_COUNTER_FIELDS = ("first", "user", "case", "session_sid", "first_at", "last_at", "count")
_COUNTER_SQL = """INSERT INTO {table} ({first}, {user}, {case}, {session_sid}, {first_at},
    {last_at}, {count}) VALUES (%s, %s, %s, %s, %s, %s, 1)
    ON CONFLICT ({session_sid}, {case}, {user})
    DO UPDATE SET {count} = {table}.{count} + 1, {last_at} = EXCLUDED.{last_at}"""


def case_view_record(
    *, user: AbstractBaseUser, case: Case, session_sid: str, repeat_checked: bool = False
) -> None:
    """A view of the case page: the first in this session is a chained access-log row; the
    ones after it only count up beside it (CaseViewSession), since chained rows never change.

    ``repeat_checked``: the caller ran ``repeat_view_cte`` and it counted nothing, so this is
    the session's first view of the case.
    """
    from django.db import connection

    if not session_sid:  # no session list entry to group by: every view is its own row
        access_log_record(
            user=user, action=AccessLog.Action.VIEW_CASE, case=case, target=case.reference
        )
        return
    seen = CaseViewSession.objects.filter(session_sid=session_sid, case=case, user=user)
    if not repeat_checked and seen.update(count=F("count") + 1, last_at=timezone.now()):
        return
    relax = _commits_on_its_own(connection)
    with transaction.atomic():
        if relax:
            _async_commit(connection)
        entry = access_log_record(
            user=user, action=AccessLog.Action.VIEW_CASE, case=case, target=case.reference
        )
        # The counter beside it; when the same session opened the case twice at once, the
        # other view's counter counts this one too (both views are on the log).
        opts = CaseViewSession._meta
        quote = connection.ops.quote_name
        column = {f: quote(opts.get_field(f).column) for f in _COUNTER_FIELDS}
        with connection.cursor() as cursor:
            cursor.execute(
                _COUNTER_SQL.format(table=quote(opts.db_table), **column),
                [entry.pk, user.pk, case.pk, session_sid, entry.at, entry.at],
            )


def _async_commit(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ASYNC_COMMIT_SQL)
