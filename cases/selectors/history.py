"""A row's history as people read it: who changed what, when and why, old → new."""

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases import access
from cases.models import IDENTITY_FIELDS, Prisoner

_NEVER_SHOWN = {"created_at", "updated_at"}
_HISTORY_TYPES = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}


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


def _display(model_field, value) -> str:
    if value in (None, ""):
        return "—"
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
    m2m = {f.name for f in model._meta.many_to_many}
    excluded |= m2m
    records = list(
        obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    items = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        if len(items) == limit:
            break
        item = HistoryItem(
            when=newer.history_date,
            who=newer.history_user,
            reason=newer.history_change_reason or "",
            kind=str(_HISTORY_TYPES.get(newer.history_type, newer.history_type)),
        )
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=excluded, foreign_keys_are_objs=True)
            for change in delta.changes:
                model_field = model._meta.get_field(change.field)
                item.changes.append(
                    FieldChange(
                        label=str(model_field.verbose_name),
                        old=_display(model_field, change.old),
                        new=_display(model_field, change.new),
                    )
                )
            if not item.changes and newer.history_type == "~" and not item.reason:
                continue
        items.append(item)
    return items
