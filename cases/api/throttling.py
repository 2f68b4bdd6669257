"""Rate limits per token: ``API_RATE_PER_MINUTE`` requests in a fixed one-minute window.

The count lives on the token's row, so every web process sees the same count (the cache is
per process). One UPDATE per request both counts and records the last use.
"""

import datetime as dt
import math

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from cases.models import ApiToken

WINDOW = dt.timedelta(minutes=1)


class TokenRateThrottle(BaseThrottle):
    """Requests with a token are counted on the token; session requests (the browsable docs,
    a person at a browser) are not limited here."""

    def allow_request(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        now = timezone.now()
        count, started = _count_use(token, now)
        self._wait = None
        if count > settings.API_RATE_PER_MINUTE:
            self._wait = max(1, math.ceil((started + WINDOW - now).total_seconds()))
            return False
        return True

    def wait(self):
        return self._wait


def _count_use(token: ApiToken, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Count this request in the token's current window (a new window if the last one has
    ended) and stamp its last use, in one statement that concurrent requests cannot undo."""
    table = ApiToken._meta.db_table
    sql = (
        f"UPDATE {table} SET "  # noqa: S608 (the table name is ours, values are parameters)
        "window_count = CASE WHEN window_started_at > %s THEN window_count + 1 ELSE 1 END, "
        "window_started_at = CASE WHEN window_started_at > %s THEN window_started_at "
        "ELSE %s END, "
        "last_used_at = %s WHERE id = %s RETURNING window_count, window_started_at"
    )
    adapt = connection.ops.adapt_datetimefield_value
    since, at = adapt(now - WINDOW), adapt(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, since, at, at, token.pk])
        count, started = cursor.fetchone()
    if isinstance(started, str):  # SQLite hands back text
        started = dt.datetime.fromisoformat(started)
    if timezone.is_naive(started):
        started = timezone.make_aware(started, dt.UTC)
    return count, started
