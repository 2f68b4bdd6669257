"""Shared pieces for tracked models: status changes only through the service layer."""

import functools
from typing import ClassVar

from django.db import models
from django.utils.encoding import force_str
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .chain import ChainedRecord
from .constraints import ConstraintMessagesMixin
from .dates import DatePrecision


def history(**options) -> HistoricalRecords:
    """History for a domain model; the change reason is free text (who, when and *why*).

    Every history table is a hash chain (``ChainedRecord``, see chain.py).
    """
    return HistoricalRecords(
        history_change_reason_field=models.TextField(null=True), bases=[ChainedRecord], **options
    )


def history_with_m2m(*fields: str, **options) -> HistoricalRecords:
    return HistoricalRecords(
        history_change_reason_field=models.TextField(null=True),
        m2m_fields=list(fields),
        bases=[ChainedRecord],
        m2m_bases=[ChainedRecord],
        **options,
    )


@functools.lru_cache(maxsize=1024)
def _choice_labels(field: models.Field, language: str | None) -> dict:
    """The field's choices as {value: translated label} in ``language`` (the active one)."""
    return {value: force_str(label) for value, label in field.flatchoices}


class ChoiceDisplayMixin:
    """``get_FOO_display()`` without translating every choice label on every call.

    Django's version builds ``dict(make_hashable(field.flatchoices))`` per call, which hashes,
    and so translates, each lazy label of the field; the case page calls it about a hundred
    times. The labels are looked up once per field and language instead. Our choices are
    static ``TextChoices``; a field with callable choices would need Django's version.
    """

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        try:
            label = _choice_labels(field, get_language()).get(value, value)
        except TypeError:  # an unhashable value: let Django deal with it
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)


class StatusChangeOutsideServiceError(RuntimeError):
    """A tracked status was changed without going through its service function."""


class TrackedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        status_field = self.model.status_field
        if status_field in kwargs:
            raise StatusChangeOutsideServiceError(
                f"{self.model.__name__}.{status_field} changes only through its service "
                "function, which records who, when and why; QuerySet.update() would not."
            )
        return super().update(**kwargs)


class StatusTrackedModel(ChoiceDisplayMixin, ConstraintMessagesMixin, models.Model):
    """A model whose status may change only through a service that records the reason.

    The service marks the instance with ``_status_change_allowed`` before saving; any other
    save that changes the status raises, so no code path can skip the history record.
    """

    status_field: ClassVar[str] = "status"

    # When the latest status change happened, as the person recording it said (with its
    # precision); the history row's own date is when it was recorded. Empty on rows whose
    # status has not changed since they were created (or before this was kept).
    status_changed_on = models.DateField(_("status changed on"), null=True, blank=True)
    # NULL, not "": a column added to chained history tables (chain.ADDED_AFTER_CHAINING).
    status_changed_precision = models.CharField(  # noqa: DJ001
        _("precision of the status change date"),
        max_length=5,
        choices=DatePrecision.choices,
        null=True,
        blank=True,
    )

    objects = TrackedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_status = instance.__dict__.get(cls.status_field)
        return instance

    def save(self, *args, **kwargs):
        current = getattr(self, self.status_field)
        saved = getattr(self, "_saved_status", None)
        if (
            self.pk is not None
            and saved is not None
            and current != saved
            and not getattr(self, "_status_change_allowed", False)
        ):
            raise StatusChangeOutsideServiceError(
                f"{type(self).__name__}.{self.status_field} changed from {saved!r} to "
                f"{current!r} outside its service function."
            )
        super().save(*args, **kwargs)
        self._saved_status = current
        self._status_change_allowed = False


class TimestampedModel(ChoiceDisplayMixin, ConstraintMessagesMixin, models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
