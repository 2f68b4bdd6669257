from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import format_fuzzy_date

register = template.Library()


@register.simple_tag
def fuzzy_date(value, precision, by=False):
    return format_fuzzy_date(value, precision, by=by)


@register.simple_tag
def entry_date(entry):
    """A timeline entry's date as precisely as it is known (deadlines read "by end of ...")."""
    return format_fuzzy_date(entry.happened_on, entry.precision, by=entry.kind == "deadline")


@register.filter
def countdown(days: int) -> str:
    """ "in 3 days", "tomorrow", "today", "2 days overdue"."""
    if days is None:
        return ""
    if days == 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    if days > 1:
        return ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}
    return ngettext("%(n)d day overdue", "%(n)d days overdue", -days) % {"n": -days}


@register.filter
def days_left(days: int) -> str:
    if days is None or days < 0:
        return countdown(days)
    return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}


@register.filter
def names(items) -> str:
    """People or organizations as one comma-separated text (user names for users)."""
    return ", ".join(
        item.get_username() if hasattr(item, "get_username") else str(item) for item in items
    )


@register.inclusion_tag("partials/field.html")
def field(bound_field, css_class=""):
    return {"field": bound_field, "css_class": css_class}
