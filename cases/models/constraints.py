"""What each database constraint means, as a sentence on the field it is about.

Declared once: ``ConstraintMessagesMixin.validate_constraints`` (``full_clean``) and the
views' ``run_service`` (an ``IntegrityError`` from the database) both use it, so nobody is
ever shown a constraint's internal name.
"""

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, router
from django.utils.translation import gettext_lazy as _

# constraint name -> (field, sentence). Constraints that only a bug could break (a status
# outside its choices) share the generic sentence below.
CONSTRAINT_MESSAGES: dict[str, tuple[str, object]] = {
    "case_closed_on_matches_status": (
        "closed_on",
        _("A closed case has a closing date, and only a closed one."),
    ),
    "case_closed_after_opened": (
        "opened_on",
        _("A case cannot be closed before it was opened."),
    ),
    "one_share_per_org": (
        "organization",
        _("The case is already shared with this organization."),
    ),
    "deadline_precision_day_or_month": (
        "due_precision",
        _("A deadline is known to the day or to the month."),
    ),
    "deadline_time_needs_exact_day": ("due_time", _("A time of day needs an exact day.")),
    "deadline_window_opens_before_due": (
        "window_starts_on",
        _("The window cannot open after the deadline."),
    ),
    "deadline_completed_at_iff_done": (
        "status",
        _("Only a deadline marked done has a completion time."),
    ),
    "event_time_needs_exact_day": ("occurred_at_time", _("A time of day needs an exact day.")),
    "organization_not_own_parent": (
        "parent",
        _("An organization cannot be its own parent."),
    ),
    "one_membership_per_org": ("organization", _("This user is already a member.")),
    "petition_filed_has_date": (
        "filed_on",
        _("Give the day the petition was filed."),
    ),
    "petition_response_after_filing": (
        "response_received_on",
        _("The response cannot come before the petition was filed."),
    ),
    "prisoner_birth_year_plausible": ("birth_year", _("Give a year between 1900 and 2100.")),
}
GENERIC = _("This was not saved: the values do not fit together. Check them and try again.")

_NAME = re.compile(r"[a-z][a-z0-9_]+")


def constraint_error(name: str) -> ValidationError:
    """The refusal for a broken constraint, on its field."""
    field, message = CONSTRAINT_MESSAGES.get(name, (NON_FIELD_ERRORS, GENERIC))
    return ValidationError({field: [ValidationError(message, code=name)]})


def constraint_named_in(text: str) -> str | None:
    """The known constraint a database error message names (PostgreSQL and SQLite say it
    differently, but both name it)."""
    for word in _NAME.findall(text):
        if word in CONSTRAINT_MESSAGES:
            return word
    return None


class ConstraintMessagesMixin(models.Model):
    """``full_clean`` reports a broken constraint as its sentence on its field."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        """Django's, with each known constraint's sentence on its field instead of
        "Constraint “name” is violated."."""
        using = router.db_for_write(self.__class__, instance=self)
        errors: dict = {}
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as raised:
                    error = raised
                    if constraint.name in CONSTRAINT_MESSAGES:
                        error = constraint_error(constraint.name)
                    elif getattr(raised, "code", None) == "unique" and len(constraint.fields) == 1:
                        error = ValidationError({constraint.fields[0]: [raised]})
                    errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)
