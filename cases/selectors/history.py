"""A row's history as people read it: who changed what, when and why, old → new.

Only real changes: a history row that changes nothing visible is left out, and the rows a
creation writes at once (its many-to-many links) read as part of "Created". Values read as
the pages show them (dates through the one date renderer, with their precision; choices by
their label), field names as the forms name them, all in the reader's language; the reasons
the system itself records ("Added", "Filed") are translated when shown (``reason_display``).
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases import access
from cases.models import IDENTITY_FIELDS, DatePrecision, Prisoner
from cases.models.dates import format_fuzzy_date, format_moment

_NEVER_SHOWN = {"created_at", "updated_at"}
_HISTORY_TYPES = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
# Rows written together with a creation (its links) within this long read as part of it.
_SAME_ACT = dt.timedelta(seconds=5)

# Date fields and the field holding their precision: shown as "March 2025", never a day.
_PRECISION_OF = {
    "captured_on": "captured_on_precision",
    "wish_expressed_on": "wish_expressed_on_precision",
    "occurred_on": "occurred_on_precision",
    "due_on": "due_precision",
    "status_changed_on": "status_changed_precision",
    "dated_on": "dated_precision",
}
_DATE_OF = {precision: date for date, precision in _PRECISION_OF.items()}
_DUE_FIELDS = {"due_on"}  # a deadline's day reads "by end of April 2026"

# The reasons services record on their own, stored in English (history is append-only) and
# translated when shown. A person's own reason is shown as they wrote it.
SYSTEM_REASONS = {
    "Added": _("Added"),
    "Case opened": _("Case opened"),
    "Deadline edited": _("Deadline edited"),
    "Deadline set": _("Deadline set"),
    "Demo data": _("Demo data"),
    "Drafted": _("Drafted"),
    "Edited": _("Edited"),
    "Filed": _("Filed"),
    "Logged": _("Logged"),
    "Uploaded": _("Uploaded"),
}
_ADDED_TO_CASE = re.compile(r"^(?P<code>.+) added to the case$")


def reason_display(reason: str) -> str:
    """A stored reason in the reader's language if the system wrote it, else as written."""
    if reason in SYSTEM_REASONS:
        return str(SYSTEM_REASONS[reason])
    match = _ADDED_TO_CASE.match(reason)
    if match:
        return gettext("%(code)s added to the case") % {"code": match["code"]}
    return reason


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class HistoryItem:
    when: object
    who: object
    reason: str
    kind: str
    changes: list[FieldChange] = field(default_factory=list)
    history_type: str = "~"


def _related_name(model_field, rows) -> str:
    """Many-to-many rows (through-table dicts) as the names of what they link to."""
    target = model_field.m2m_reverse_field_name()
    names = []
    for row in rows or ():
        value = row.get(target)
        names.append(value.get_username() if hasattr(value, "get_username") else str(value))
    return ", ".join(names) or "—"


def _display(model_field, value, record) -> str:
    """One value as the page shows it; ``record`` is the history row it comes from."""
    if isinstance(model_field, models.ManyToManyField):
        return _related_name(model_field, value)
    if value in (None, ""):
        return "—"
    if isinstance(model_field, models.DateTimeField):
        return format_moment(value)
    if isinstance(model_field, models.DateField):
        precision_field = _PRECISION_OF.get(model_field.name)
        precision = getattr(record, precision_field, None) if precision_field else None
        return format_fuzzy_date(
            value, precision or DatePrecision.DAY, by=model_field.name in _DUE_FIELDS
        )
    if isinstance(model_field, models.ForeignKey) and not isinstance(value, int | str):
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, list):
        choices = {}
        if (
            hasattr(model_field.model, "get_legal_bases_display")
            and model_field.name == "legal_bases"
        ):
            from cases.models import LegalBasis

            choices = dict(LegalBasis.choices)
        return ", ".join(str(choices.get(v, v)) for v in value) or "—"
    return str(value)


def readable_history(obj, *, user, limit: int = 100, identity: bool = False) -> list[HistoryItem]:
    """Newest first. Identity fields are left out unless asked for (``identity``, after a
    logged reveal) by a user who may see identities."""
    model = type(obj)
    excluded = set(_NEVER_SHOWN)
    if isinstance(obj, Prisoner) and not (identity and access.may_see_identity(user, obj)):
        excluded |= {*IDENTITY_FIELDS, "place_of_detention_sensitive"}
        # A place that is, or ever was, need-to-know stays out of every version of the story.
        if (
            obj.place_of_detention_sensitive
            or obj.history.filter(place_of_detention_sensitive=True).exists()
        ):
            excluded.add("place_of_detention")
    records = list(
        obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    items: list[HistoryItem] = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        item = HistoryItem(
            when=newer.history_date,
            who=newer.history_user,
            reason=reason_display(newer.history_change_reason or ""),
            kind=str(_HISTORY_TYPES.get(newer.history_type, newer.history_type)),
            history_type=newer.history_type,
        )
        if older is not None and newer.history_type != "-":
            delta = newer.diff_against(older, excluded_fields=excluded, foreign_keys_are_objs=True)
            for change in delta.changes:
                name, old, new = change.field, change.old, change.new
                if name in _DATE_OF:
                    # Shown with its date: "March 2025" → "2025" says the precision changed.
                    name = _DATE_OF[name]
                    if name in delta.changed_fields:
                        continue
                    old, new = getattr(older, name), getattr(newer, name)
                model_field = model._meta.get_field(name)
                shown = FieldChange(
                    label=capfirst(str(model_field.verbose_name)),
                    old=_display(model_field, old, older),
                    new=_display(model_field, new, newer),
                )
                if shown.old != shown.new:
                    item.changes.append(shown)
            if not item.changes:
                continue  # nothing visible changed: not a change to show
        items.append(item)
    return _fold_creation(items)[:limit]


def _fold_creation(items: list[HistoryItem]) -> list[HistoryItem]:
    """The links a creation wrote at once (same person, same reason, seconds apart) are part
    of "Created", shown as its values."""
    folded: list[HistoryItem] = []
    for item in reversed(items):  # oldest first
        first = folded[-1] if folded else None
        if (
            first is not None
            and first.history_type == "+"
            and item.history_type == "~"
            and item.who == first.who
            and item.reason == first.reason
            and abs(item.when - first.when) <= _SAME_ACT
        ):
            first.changes.extend(item.changes)
            continue
        folded.append(item)
    return list(reversed(folded))
