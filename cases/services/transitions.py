"""The one place where a tracked status changes: checks the transition, records who and why."""

import datetime as dt
from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models.base import StatusTrackedModel
from cases.models.dates import DatePrecision, period_start

from . import plausibility


def allowed_next(instance: StatusTrackedModel, transitions: Mapping[str, frozenset[str]]) -> list:
    """The statuses this instance may move to next, in the order of the model's choices."""
    field = instance._meta.get_field(instance.status_field)
    current = getattr(instance, instance.status_field)
    permitted = transitions.get(current, frozenset())
    return [(value, label) for value, label in field.choices if value in permitted]


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Say why the status changes: the reason is kept on record.")},
            code="reason_required",
        )
    return reason


def apply_transition(
    *,
    instance: StatusTrackedModel,
    to: str,
    by: AbstractBaseUser,
    reason: str,
    transitions: Mapping[str, frozenset[str]],
    changes: Mapping[str, object] | None = None,
    happened_on: dt.date | None = None,
    happened_precision: str = DatePrecision.DAY,
    confirmed: bool | None = None,
) -> StatusTrackedModel:
    """Move ``instance`` to status ``to`` and save it with ``changes``, as one history row.

    ``happened_on`` (with its precision) is when the change happened, as the person says
    (today if not given); the history row's date is when it was recorded. Both are kept.
    The current status is read under a row lock, so two people changing the same status at
    once cannot both succeed from the same starting point.
    """
    reason = clean_reason(reason)
    if happened_precision not in DatePrecision.values:
        raise ValidationError({"happened_on": _("Choose how precisely the date is known.")})
    happened_on = period_start(happened_on or timezone.localdate(), happened_precision)
    plausibility.check(
        [plausibility.happened("happened_on", happened_on, happened_precision)],
        confirmed=confirmed,
    )
    field = instance.status_field
    model = type(instance)
    with transaction.atomic():
        current = (
            model.objects.select_for_update().values_list(field, flat=True).get(pk=instance.pk)
        )
        if to not in transitions.get(current, frozenset()):
            choices = dict(model._meta.get_field(field).choices)
            raise ValidationError(
                {
                    "to": _("%(model)s cannot go from “%(current)s” to “%(to)s”.")
                    % {
                        "model": model._meta.verbose_name.capitalize(),
                        "current": choices.get(current, current),
                        "to": choices.get(to, to),
                    }
                },
                code="transition_not_allowed",
            )
        for name, value in (changes or {}).items():
            setattr(instance, name, value)
        setattr(instance, field, to)
        instance.status_changed_on = happened_on
        instance.status_changed_precision = happened_precision
        instance._saved_status = current
        instance._status_change_allowed = True
        instance._change_reason = reason
        instance._history_user = by
        instance.full_clean()
        instance.save()
    return instance


def save_tracked(instance, *, by: AbstractBaseUser, reason: str) -> None:
    """Save a tracked row (no status change) with its author and reason on the history row."""
    instance._change_reason = reason
    instance._history_user = by
    instance.save()
