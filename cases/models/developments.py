"""Developments: one event outside any single case (an exchange announced, a court ruling, a
policy change), recorded once and linked to many cases; and the deadline moves made from one.

A development belongs to the organization that recorded it (``owner``). Each link to a case is
a row of its own (who linked it, when), made by someone who may edit that case; the
development shows on the timeline of each linked case, to whoever may see that case, and
never says which other cases it is linked to (cases/access.py, cases/selectors/developments.py).

A deadline move is the record of one "apply to deadlines": the new date, the reason, and one
item per deadline with its date before and after, so that the record and its undo are exact.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimestampedModel, history, history_with_m2m
from .dates import DatePrecision, format_fuzzy_date

# How long a deadline move may be undone (deadline_move_undo refuses after).
UNDO_WINDOW = dt.timedelta(hours=24)


class DevelopmentKind(models.TextChoices):
    EXCHANGE_ANNOUNCED = "exchange_announced", _("Prisoner exchange announced")
    COURT_RULING = "court_ruling", _("Court ruling")
    POLICY_CHANGE = "policy_change", _("Policy change")
    OTHER = "other", _("Other")


class Development(TimestampedModel):
    """Something that happened outside any one case and bears on several."""

    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(
        _("kind"), max_length=30, choices=DevelopmentKind.choices, default=DevelopmentKind.OTHER
    )
    description = models.TextField(_("what happened"), blank=True)
    happened_on = models.DateField(
        _("happened on"), help_text=_("For a month or year, any day in it; it is stored as such.")
    )
    happened_precision = models.CharField(
        _("precision"), max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    source = models.CharField(
        _("source"), max_length=500, blank=True, help_text=_("A link or a citation.")
    )
    authorities = models.ManyToManyField(
        "cases.Authority",
        verbose_name=_("authorities involved"),
        related_name="developments",
        blank=True,
    )
    owner = models.ForeignKey(
        "cases.Organization",
        verbose_name=_("recorded by organization"),
        on_delete=models.PROTECT,
        related_name="developments",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = history_with_m2m("authorities")

    class Meta:
        ordering = ["-happened_on", "-id"]
        verbose_name = _("development")
        verbose_name_plural = _("developments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(happened_precision__in=DatePrecision.values),
                name="development_precision_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def happened_display(self) -> str:
        return format_fuzzy_date(self.happened_on, self.happened_precision)


class DevelopmentLink(TimestampedModel):
    """A development linked to one case: an act of someone who may edit the case, on record
    (created_at/linked_by; unlinking deletes the row, and its history says who and when)."""

    development = models.ForeignKey(
        Development, verbose_name=_("development"), on_delete=models.CASCADE, related_name="links"
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="development_links",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = history()

    class Meta:
        verbose_name = _("development link")
        verbose_name_plural = _("development links")
        constraints = [
            models.UniqueConstraint(
                fields=["development", "case"], name="development_link_once_per_case"
            ),
        ]
        # The unique constraint's index serves "the cases of a development"; this one "the
        # developments of a case" (the case page's link form).
        indexes = [models.Index(fields=["case"], name="development_link_case_idx")]

    def __str__(self) -> str:
        return f"{self.development} → {self.case}"


class DeadlineMove(TimestampedModel):
    """One "apply to deadlines" from a development: what was asked and by whom.

    ``history_mark`` is the greatest deadline history id right after the move was written:
    a deadline with a history row above it was changed again since, and its undo is refused.
    """

    development = models.ForeignKey(
        Development,
        verbose_name=_("development"),
        on_delete=models.PROTECT,
        related_name="deadline_moves",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moved by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    kind = models.CharField(_("deadline kind"), max_length=20, blank=True)
    status = models.CharField(_("deadline status"), max_length=10, blank=True)
    new_on = models.DateField(_("new date"))
    new_precision = models.CharField(_("new precision"), max_length=5)
    applied_at = models.DateTimeField(_("applied at"))
    history_mark = models.BigIntegerField(default=0)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = history()

    class Meta:
        ordering = ["-applied_at", "-id"]
        verbose_name = _("deadline move")
        verbose_name_plural = _("deadline moves")

    def __str__(self) -> str:
        return f"{self.development}: {self.new_display}"

    @property
    def new_display(self) -> str:
        return format_fuzzy_date(self.new_on, self.new_precision, by=True)

    @property
    def undo_until(self) -> dt.datetime:
        return self.applied_at + UNDO_WINDOW

    def may_undo_at(self, now: dt.datetime) -> bool:
        return self.undone_at is None and now < self.undo_until


class DeadlineMoveItem(models.Model):
    """One deadline of a move, its date before and after. Written with the move and never
    changed but for the outcome of an undo (written once, by deadline_move_undo); the
    deadline's own history rows say who changed it, when and why."""

    class Undo(models.TextChoices):
        NONE = "", _("Not undone")
        RESTORED = "restored", _("Restored")
        REFUSED = "refused", _("Not restored")

    # Why an undo left the deadline as it was (``undo_note``).
    NOT_EDITABLE = "not_editable"
    CHANGED_AGAIN = "changed_again"
    NOTES = {
        NOT_EDITABLE: _("You may no longer edit this case."),
        CHANGED_AGAIN: _("Changed again since the move."),
    }

    move = models.ForeignKey(DeadlineMove, on_delete=models.CASCADE, related_name="items")
    deadline = models.ForeignKey("cases.Deadline", on_delete=models.CASCADE, related_name="+")
    old_on = models.DateField()
    old_precision = models.CharField(max_length=5)
    old_time = models.TimeField(null=True, blank=True)
    new_on = models.DateField()
    new_precision = models.CharField(max_length=5)
    undo = models.CharField(max_length=10, choices=Undo.choices, blank=True, default="")
    undo_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["move", "deadline"], name="move_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.deadline_id}: {self.old_display} → {self.new_display}"

    @property
    def old_display(self) -> str:
        return format_fuzzy_date(self.old_on, self.old_precision, by=True)

    @property
    def undo_note_display(self) -> str:
        return str(self.NOTES.get(self.undo_note, self.undo_note))

    @property
    def new_display(self) -> str:
        return format_fuzzy_date(self.new_on, self.new_precision, by=True)


class DeadlineMoveNotice(models.Model):
    """The outbox of summary emails: one per recipient and move (or undo), sent once by the
    worker (cases.tasks.send_deadline_move_notices)."""

    class Action(models.TextChoices):
        MOVED = "moved", _("Moved")
        UNDONE = "undone", _("Undone")

    move = models.ForeignKey(DeadlineMove, on_delete=models.CASCADE, related_name="notices")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["move", "recipient", "action"], name="move_notice_once"
            ),
        ]
        indexes = [
            # deadline_move_notify: a move's notices still to send.
            models.Index(
                fields=["move"],
                name="move_notice_pending_idx",
                condition=models.Q(sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.move_id} → {self.recipient_id} ({self.action})"
