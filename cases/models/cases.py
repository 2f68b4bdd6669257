from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .base import (
    StatusTrackedModel,
    TimestampedModel,
    TrackedQuerySet,
    history,
    history_with_m2m,
)


class TextVector(SearchVector):
    """PostgreSQL's ``to_tsvector`` of these fields, as ``SearchVector`` writes it; NULL on
    SQLite, which has no text vectors (a generated column of the case, Case.search_case_words)."""

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACTIVE_ADVOCACY = "active_advocacy", _("Active advocacy")
    MONITORING = "monitoring", _("Monitoring")
    CLOSED = "closed", _("Closed")


# Any open state may move to any other; a closed case can be reopened. Each move needs a reason.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(set(CaseStatus.values) - {status}) for status in CaseStatus.values
}


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class CaseManager(models.Manager.from_queryset(TrackedQuerySet)):
    """Cases without their search document (``SEARCH_DOCUMENT_FIELDS``): only the list's
    search reads it, in SQL, and it was most of each row's bytes (a case list page carried
    its text vectors for nothing). Asking for a field (``values``, ``only``) still reads it;
    touching it on a loaded case reads it then."""

    def get_queryset(self):
        return super().get_queryset().defer(*SEARCH_DOCUMENT_FIELDS)


NEXT_DEADLINE_FIELDS = ("next_deadline_on", "next_deadline_precision")
SEARCH_FIELDS = ("search_names", "search_petitions")
# The search document as stored, with the text vectors PostgreSQL derives from it.
SEARCH_DOCUMENT_FIELDS = (*SEARCH_FIELDS, "search_case_words", "search_petition_words")


class Case(StatusTrackedModel, TimestampedModel):
    reference = models.CharField(
        _("reference"),
        max_length=20,
        unique=True,
        editable=False,
        help_text=_("Generated: CASE-<year>-<number>."),
    )
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    lead_organization = models.ForeignKey(
        "cases.Organization",
        verbose_name=_("lead organization"),
        on_delete=models.PROTECT,
        related_name="led_cases",
    )
    partner_organizations = models.ManyToManyField(
        "cases.Organization",
        verbose_name=_("partner organizations"),
        through="cases.CaseShare",
        related_name="shared_cases",
        blank=True,
    )
    prisoners = models.ManyToManyField(
        "cases.Prisoner", verbose_name=_("people of concern"), related_name="cases", blank=True
    )
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The earliest open deadline (its day and precision), null when there is none: what the
    # case list shows and sorts on, kept by the deadline services
    # (services.deadlines.case_refresh_next_deadline) and rebuilt by the command
    # ``rebuild_next_deadlines``. Derived data: the history of each deadline records the
    # change itself, so these columns stay out of the case's history (no case history row per
    # deadline change), are written by a plain queryset update of these columns alone, and
    # are never written by ``Case.save()`` of an existing case (``save`` below), so that an
    # edit of a case loaded before a deadline changed cannot put back a stale value.
    next_deadline_on = models.DateField(_("next deadline"), null=True, blank=True, editable=False)
    next_deadline_precision = models.CharField(
        _("precision of the next deadline"), max_length=5, blank=True, default="", editable=False
    )

    # The case list's search document (cases.selectors.cases._search): what a search finds a
    # case by that is not on the case row itself, one entry a line. ``search_names``: the
    # codes of its people and the names and short names of the authorities its petitions are
    # addressed and copied to and its events involve (matched as substrings, like the
    # directory's own search); ``search_petitions``: the references and titles of its
    # petitions (words on PostgreSQL, substrings on SQLite). Nothing a reader of the case
    # does not see on it: people by code only, never by name. Derived data, kept by the
    # services that change what it holds (services.search.cases_refresh_search) and rebuilt
    # by the command ``rebuild_search_documents``; like the next deadline, left out of the
    # case's history and never written by ``Case.save()`` of an existing case.
    search_names = models.TextField(blank=True, default="", editable=False)
    search_petitions = models.TextField(blank=True, default="", editable=False)
    # PostgreSQL: the text vectors the search matches words against, computed by the database
    # whenever the row changes (NULL on SQLite, which searches the text itself): the case's
    # own reference, title and summary, and its petitions' text. Stored, so that a broad
    # word read along the list's order costs no text parsing per case.
    search_case_words = models.GeneratedField(
        expression=TextVector("reference", "title", "summary", config="simple"),
        output_field=SearchVectorField(null=True),
        db_persist=True,
    )
    search_petition_words = models.GeneratedField(
        expression=TextVector("search_petitions", config="simple"),
        output_field=SearchVectorField(null=True),
        db_persist=True,
    )

    history = history_with_m2m(
        "prisoners",
        excluded_fields=[*NEXT_DEADLINE_FIELDS, *SEARCH_DOCUMENT_FIELDS],
    )

    objects = CaseManager()

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            # A closed case says when it was closed; an open one has no closing date.
            models.CheckConstraint(
                condition=(models.Q(status="closed") & models.Q(closed_on__isnull=False))
                | (~models.Q(status="closed") & models.Q(closed_on__isnull=True)),
                name="case_closed_on_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True)
                | models.Q(closed_on__gte=models.F("opened_on")),
                name="case_closed_after_opened",
            ),
            # A next deadline has its precision; no next deadline, no precision.
            models.CheckConstraint(
                condition=(
                    models.Q(next_deadline_on__isnull=True) & models.Q(next_deadline_precision="")
                )
                | (
                    models.Q(next_deadline_on__isnull=False) & ~models.Q(next_deadline_precision="")
                ),
                name="case_next_deadline_has_precision",
            ),
        ]
        # One index per order the case list offers (cases.selectors.cases.SORTS, the sort
        # field of forms.CaseSearchForm), so that a page of it reads along an index instead of
        # sorting every visible case. "reference" reads along the unique index of the field.
        indexes = [
            # "Newest" (SORTS["-opened_on"]) and, read backwards, "Oldest" (SORTS["opened_on"]).
            models.Index(F("opened_on").desc(), F("id").desc(), name="case_newest_first_idx"),
            # "Title" (SORTS["title"]).
            models.Index(F("title"), F("id"), name="case_title_idx"),
            # "Next deadline" (SORTS["next_deadline"]): soonest first, cases without one last
            # (PostgreSQL's ascending order puts nulls last: it is what ``nulls_last`` asks;
            # SQLite cannot say NULLS LAST in an index).
            models.Index(F("next_deadline_on"), F("id").desc(), name="case_next_deadline_idx"),
            # "Recently edited" (SORTS["-updated_at"]).
            models.Index(F("updated_at").desc(), F("id").desc(), name="case_recently_edited_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def save(self, *args, **kwargs):
        """Saves an existing case without its next deadline and search document: those are
        the services' to write (see ``next_deadline_on``, ``search_names``)."""
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            # As Django does for a partly loaded row: only the fields it holds.
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key
                and f.attname not in NEXT_DEADLINE_FIELDS
                and f.attname not in SEARCH_FIELDS
                and not f.generated
                and f.attname not in deferred
            ]
        super().save(*args, **kwargs)


# Between the lines of a search document (services.search).
SEARCH_SEPARATOR = "\n"


class CaseShare(TimestampedModel):
    """A partner organization's access to a case led by another organization."""

    class Level(models.TextChoices):
        # A level of access, not an action: some languages say these differently (a noun
        # here, a verb on an "Edit" link), hence the context.
        READ = "read", pgettext_lazy("share level", "Read")
        EDIT = "edit", pgettext_lazy("share level", "Edit")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    organization = models.ForeignKey(
        "cases.Organization", on_delete=models.CASCADE, related_name="case_shares"
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.READ)

    history = history()

    class Meta:
        verbose_name = _("case share")
        verbose_name_plural = _("case shares")
        constraints = [
            models.UniqueConstraint(fields=["case", "organization"], name="one_share_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} → {self.organization} ({self.get_level_display()})"


class CaseReferenceCounter(models.Model):
    """The last case number handed out per year; locked while a new case takes the next one."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"
