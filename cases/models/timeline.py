import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import ChoiceDisplayMixin
from .dates import DatePrecision


def new_shown_version() -> str:
    """A fresh ``TimelineEntry.shown_version``."""
    return uuid.uuid4().hex


class TimelineEntry(ChoiceDisplayMixin, models.Model):
    """One line of a case's timeline, projected from history as it is written.

    Written only by ``cases.services.timeline`` (a receiver of every history row), and
    rebuilt from history by ``manage.py rebuild_timeline``. Events, petitions, deadlines and
    documents are shown from their current rows; status and field changes are facts kept here
    (old and new value, who, when, why). An entry about a person of concern carries
    ``prisoner`` and shows on every case that person is part of.
    """

    class Kind(models.TextChoices):
        CASE_OPENED = "case_opened", _("Case opened")
        EVENT = "event", _("Event")
        PETITION = "petition", _("Petition")
        STATUS = "status", _("Status change")
        CHANGE = "change", _("Change")
        DOCUMENT = "document", _("Document")
        DEADLINE = "deadline", _("Deadline")
        DEVELOPMENT = "development", _("Development")

    class Subject(models.TextChoices):
        CASE = "case", _("Case")
        PETITION = "petition", _("Petition")
        PRISONER = "prisoner", _("Person of concern")
        DEADLINE = "deadline", _("Deadline")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, on_delete=models.CASCADE, related_name="timeline_entries"
    )
    prisoner = models.ForeignKey(
        "cases.Prisoner", null=True, on_delete=models.CASCADE, related_name="timeline_entries"
    )
    happened_on = models.DateField()
    precision = models.CharField(max_length=5, choices=DatePrecision.choices)
    happened_at = models.DateTimeField(null=True)
    event = models.ForeignKey("cases.Event", null=True, on_delete=models.CASCADE, related_name="+")
    petition = models.ForeignKey(
        "cases.Petition", null=True, on_delete=models.CASCADE, related_name="+"
    )
    deadline = models.ForeignKey(
        "cases.Deadline", null=True, on_delete=models.CASCADE, related_name="+"
    )
    document = models.ForeignKey(
        "cases.Document", null=True, on_delete=models.CASCADE, related_name="+"
    )
    # A development linked to the case (the entry goes with the link when it is unlinked).
    development_link = models.ForeignKey(
        "cases.DevelopmentLink", null=True, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=10, choices=Subject.choices, blank=True)
    field = models.CharField(max_length=50, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(
        help_text="When this entry was last written: the case's latest activity."
    )
    history_id = models.BigIntegerField(
        null=True, help_text="The history row this entry was projected from."
    )
    # Changes whenever anything the entry shows may have changed: its own row, the event,
    # petition, deadline, document or development it shows, and what they list (people,
    # requests, filers). Names shown on every case (organizations, authorities, user names)
    # and a deleted person change the token of every case instead (TimelineVersion.ALL).
    # Set by cases.services.timeline; the case page keeps each entry as written under it.
    shown_version = models.CharField(max_length=32, default=new_shown_version, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(case__isnull=False) | models.Q(prisoner__isnull=False),
                name="timeline_entry_has_case_or_prisoner",
            ),
        ]
        indexes = [
            # selectors.timeline.case_timeline: a case's entries in date order.
            models.Index(fields=["case", "happened_on", "happened_at"], name="timeline_case_idx"),
            # ... and those about the case's people of concern.
            models.Index(
                fields=["prisoner", "happened_on", "happened_at"], name="timeline_prisoner_idx"
            ),
            # selectors.work.recently_changed_cases: latest activity per case.
            models.Index(fields=["case", "recorded_at"], name="timeline_case_recorded_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.happened_on} {self.kind}"


class TimelineVersion(models.Model):
    """A token that changes whenever what is shown about a case may have changed.

    The case page caches its rendered timeline and other parts, and the case list its rows,
    under these tokens (cases/views/cases.py).
    ``scope`` is ``case:<id>`` for one case, or ``all`` for a change that shows on every
    case (an authority or organization renamed, a user renamed). Written by
    ``cases.services.timeline`` in the same transaction as the change itself, so a page
    rendered from older data is never served under a newer token, whatever the cache backend
    and however many processes share it.
    """

    ALL = "all"

    scope = models.CharField(max_length=40, unique=True)
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.scope}: {self.token}"

    # The parts of the case page around its timeline, each with a token of its own beside the
    # case's (``case:<id>:<part>``), so that a change re-renders only the parts that show it
    # (cases.services.timeline._parts_showing). The case's token changes with every change.
    PARTS = ("header", "people", "deadlines", "lists")

    @staticmethod
    def case_scope(case_id: int) -> str:
        return f"case:{case_id}"

    @staticmethod
    def part_scope(case_id: int, part: str) -> str:
        return f"case:{case_id}:{part}"
