from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import StatusTrackedModel, TimestampedModel, history


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being built")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


# running -> running: a build taken over from a worker that died (cases.services.exports).
EXPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ExportStatus.PENDING: frozenset({ExportStatus.RUNNING, ExportStatus.FAILED}),
    ExportStatus.RUNNING: frozenset({ExportStatus.RUNNING, ExportStatus.DONE, ExportStatus.FAILED}),
    ExportStatus.DONE: frozenset(),
    ExportStatus.FAILED: frozenset(),
}


class Export(StatusTrackedModel, TimestampedModel):
    """A dossier or a table that left the application, for one audience.

    Written only by ``cases.services.exports``. When the file is built its SHA-256 and size
    are stored here and in an access-log row (``access_log``), so a file met later can be
    recognised (``manage.py verify_export``, the verify page). ``progress`` and ``stage`` are
    what the export page shows while the worker builds; they are not history.
    """

    class Kind(models.TextChoices):
        DOSSIER = "dossier", _("Dossier")
        TIMELINE = "timeline", _("Timeline")
        CASE_LIST = "case_list", _("Case list")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    status_field = "status"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=5, choices=Format.choices)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exports",
    )
    profile = models.CharField(_("audience profile"), max_length=20)
    audience = models.CharField(_("prepared for"), max_length=120)
    organization = models.ForeignKey(
        "cases.Organization",
        verbose_name=_("prepared by"),
        on_delete=models.PROTECT,
        related_name="exports",
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    include_annexes = models.BooleanField(_("documents appended"), default=False)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("exported by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", max_length=200, blank=True)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    access_log = models.OneToOneField(
        "cases.AccessLog",
        verbose_name=_("access log entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="export",
    )

    history = history(excluded_fields=["progress", "stage"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ExportStatus.values), name="export_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="export_progress_percent"
            ),
            # A finished export says what left: its hash and size.
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | (~models.Q(sha256="") & models.Q(size__isnull=False)),
                name="export_done_has_hash",
            ),
        ]
        indexes = [
            # verify_export and the verify page look a file up by its hash.
            models.Index(fields=["sha256"], name="export_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} {self.kind} {self.profile}"
