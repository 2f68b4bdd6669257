from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel, history
from .dates import DatePrecision, format_fuzzy_date


class Document(TimestampedModel):
    """A file kept with a case. Stored under a random name; its SHA-256 proves it unchanged."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="documents"
    )
    petition = models.ForeignKey(
        "cases.Petition",
        verbose_name=_("petition"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
    )
    event = models.ForeignKey(
        "cases.Event",
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
    )
    file = models.FileField(_("file"), upload_to="%Y/%m/", max_length=200)
    original_name = models.CharField(_("original file name"), max_length=255)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    # The document's own date (the letter's date, not the upload's), as precisely as known.
    # Empty: unknown; the timeline then places it on the day it was uploaded.
    dated_on = models.DateField(_("date of the document"), null=True, blank=True)
    # NULL, not "": a column added to chained history tables (chain.ADDED_AFTER_CHAINING).
    dated_precision = models.CharField(  # noqa: DJ001
        _("precision of the document date"),
        max_length=5,
        choices=DatePrecision.choices,
        null=True,
        blank=True,
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    size = models.PositiveBigIntegerField(_("size in bytes"), editable=False)
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = history()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.title

    @property
    def dated_on_display(self) -> str:
        return format_fuzzy_date(self.dated_on, self.dated_precision or DatePrecision.DAY)
