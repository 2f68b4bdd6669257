"""Access review: unusual patterns in the access log, for the owning organization's
coordinators (on the case page, the access log page and in a weekly email).

Three patterns, each a plain rule a coordinator can check by reading the log:

- **many cases**: one user opened ``MANY_CASES`` or more different cases within one hour;
- **off hours**: one user opened the case at an hour (in their own time zone) at which they had
  no access-log entry in the ``USUAL_DAYS`` days before; with fewer than ``USUAL_MIN_ENTRIES``
  such entries to learn from, usual hours are 07:00 to 21:00;
- **bulk downloads**: one user downloaded or exported ``BULK_DOWNLOADS`` or more times within
  one hour.

The log holds one chained row per first view of a case in a session (repeated views within a
session are counted beside it, models.CaseViewSession), so "cases opened" counts sessions'
first views, which is what a burst of browsing through many cases produces.
"""

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import AccessLog, UserProfile

# The case page and the access log page show the flags of the last two weeks.
ACCESS_REVIEW_PERIOD = dt.timedelta(days=14)
MANY_CASES = 15
BULK_DOWNLOADS = 10
WINDOW = dt.timedelta(hours=1)
USUAL_DAYS = 90
USUAL_MIN_ENTRIES = 20
DEFAULT_USUAL_HOURS = frozenset(range(7, 21))
_DOWNLOADS = (AccessLog.Action.DOWNLOAD_DOCUMENT, AccessLog.Action.EXPORT)


@dataclass(frozen=True)
class Flag:
    kind: str  # "many_cases", "off_hours", "bulk_downloads"
    user_id: int | None
    username: str
    at: dt.datetime
    count: int

    @property
    def text(self) -> str:
        if self.kind == "many_cases":
            return ngettext(
                "%(user)s opened %(count)d case within one hour.",
                "%(user)s opened %(count)d different cases within one hour.",
                self.count,
            ) % {"user": self.username, "count": self.count}
        if self.kind == "bulk_downloads":
            return ngettext(
                "%(user)s downloaded or exported %(count)d time within one hour.",
                "%(user)s downloaded or exported %(count)d times within one hour.",
                self.count,
            ) % {"user": self.username, "count": self.count}
        return ngettext(
            "%(user)s opened the case outside their usual hours (%(count)d time).",
            "%(user)s opened the case outside their usual hours (%(count)d times).",
            self.count,
        ) % {"user": self.username, "count": self.count}

    @property
    def label(self) -> str:
        return {
            "many_cases": _("Many cases in a short time"),
            "off_hours": _("Outside usual hours"),
            "bulk_downloads": _("Bulk downloads"),
        }[self.kind]


def _densest_hour(rows: list[tuple[dt.datetime, object]]) -> tuple[int, dt.datetime | None]:
    """The most distinct keys within any one hour, and when that hour started."""
    rows.sort(key=lambda r: r[0])
    best, best_at, start = 0, None, 0
    counts: dict[object, int] = defaultdict(int)
    for at, key in rows:
        counts[key] += 1
        while at - rows[start][0] > WINDOW:
            old = rows[start][1]
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
            start += 1
        if len(counts) > best:
            best, best_at = len(counts), rows[start][0]
    return best, best_at


def _zone(user_id: int | None, zones: dict[int, str]) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(zones.get(user_id) or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _usual_hours(history: Iterable[dt.datetime], tz) -> frozenset[int]:
    history = list(history)
    if len(history) < USUAL_MIN_ENTRIES:
        return DEFAULT_USUAL_HOURS
    return frozenset(at.astimezone(tz).hour for at in history)


def access_flags(
    *, case_ids: QuerySet | Iterable[int], since: dt.datetime, until: dt.datetime
) -> list[Flag]:
    """Unusual patterns of the users who opened these cases between ``since`` and ``until``."""
    on_cases = AccessLog.objects.filter(case_id__in=case_ids, at__gte=since, at__lt=until)
    user_ids = set(on_cases.exclude(user_id=None).values_list("user_id", flat=True))
    if not user_ids:
        return []
    zones = dict(
        UserProfile.objects.filter(user_id__in=user_ids).values_list("user_id", "time_zone")
    )
    learn_from = since - dt.timedelta(days=USUAL_DAYS)
    rows = AccessLog.objects.filter(user_id__in=user_ids, at__gte=learn_from, at__lt=until)
    per_user: dict[int, list[tuple]] = defaultdict(list)
    for row in rows.values_list("user_id", "username", "action", "case_id", "at"):
        per_user[row[0]].append(row)
    case_ids = set(on_cases.values_list("case_id", flat=True))
    flags = []
    for user_id in sorted(user_ids):
        entries = per_user[user_id]
        username = entries[-1][1] if entries else ""
        recent = [e for e in entries if e[4] >= since]
        views = [(e[4], e[3]) for e in recent if e[2] == AccessLog.Action.VIEW_CASE]
        count, at = _densest_hour(views)
        if count >= MANY_CASES:
            flags.append(Flag("many_cases", user_id, username, at, count))
        downloads = [(e[4], i) for i, e in enumerate(recent) if e[2] in _DOWNLOADS]
        count, at = _densest_hour(downloads)
        if count >= BULK_DOWNLOADS:
            flags.append(Flag("bulk_downloads", user_id, username, at, count))
        tz = _zone(user_id, zones)
        usual = _usual_hours((e[4] for e in entries if e[4] < since), tz)
        odd = [
            e[4]
            for e in recent
            if e[3] in case_ids
            and e[2] == AccessLog.Action.VIEW_CASE
            and e[4].astimezone(tz).hour not in usual
        ]
        if odd:
            flags.append(Flag("off_hours", user_id, username, odd[0], len(odd)))
    return flags
