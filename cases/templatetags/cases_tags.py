from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import format_fuzzy_date
from cases.models.dates import format_day, format_moment

register = template.Library()


@register.simple_tag
def fuzzy_date(value, precision, by=False):
    return format_fuzzy_date(value, precision, by=by)


# ``id_url``'s links: for each route (with the URL prefix, configuration and application
# instance), its address around a stand-in id, or () if the stand-in is not there exactly once.
_ID_URLS: dict[tuple, tuple[str, str] | tuple[()]] = {}
_ID_STAND_IN = 7_340_000_000_001  # an id, as routes take them, that no row of ours reaches


@register.simple_tag(takes_context=True)
def id_url(context, name: str, pk) -> str:
    """``{% url name pk %}`` for a route that takes one id, reversed once per process.

    The address is reversed with a stand-in id the first time and kept; each use puts its
    own id in the stand-in's place (a case page seen for the first time has a dozen links or
    more, each a reversal through the URL resolver). Anything but a plain id is reversed as
    ``{% url %}`` does. The result is escaped like ``{% url %}``'s: by the template engine,
    in an autoescaped template.
    """
    try:
        current_app = context.request.current_app
    except AttributeError:
        try:
            current_app = context.request.resolver_match.namespace
        except AttributeError:
            current_app = None
    if type(pk) is not int or pk < 0:
        return reverse(name, args=[pk], current_app=current_app)
    key = (name, get_script_prefix(), get_urlconf(), current_app)
    around = _ID_URLS.get(key)
    if around is None:
        url = reverse(name, args=[_ID_STAND_IN], current_app=current_app)
        before, _, after = url.partition(str(_ID_STAND_IN))
        around = _ID_URLS[key] = (before, after) if url.count(str(_ID_STAND_IN)) == 1 else ()
    if not around:
        return reverse(name, args=[pk], current_app=current_app)
    return f"{around[0]}{pk}{around[1]}"


@register.filter
def day(value) -> str:
    """A date known to the day, through the one date renderer (cases/models/dates.py)."""
    return format_day(value)


@register.filter
def moment(value) -> str:
    """A recorded date and time in the reader's time zone, through the one date renderer."""
    return format_moment(value)


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
def abbr(item) -> str:
    """An organization or authority by its short name, with the full name on hover."""
    short, name = getattr(item, "short_name", ""), getattr(item, "name", "")
    if short and name and short != name:
        return format_html('<abbr title="{}">{}</abbr>', name, short)
    return format_html("{}", name or item)


@register.filter
def names(items) -> str:
    """People or organizations as one comma-separated text (user names for users;
    abbreviations with the full name on hover)."""
    return format_html_join(
        ", ",
        "{}",
        ((item.get_username() if hasattr(item, "get_username") else abbr(item),) for item in items),
    )


@register.inclusion_tag("partials/field.html")
def field(bound_field, css_class=""):
    if bound_field.name == "confirmed":
        return {"field": None}  # shown by confirm_box, when it is asked for
    return {"field": bound_field, "css_class": css_class}


@register.inclusion_tag("partials/field.html")
def confirm_box(form):
    """The "Save anyway" box, once the input was found unlikely (plausibility warnings)."""
    if not getattr(form, "needs_confirmation", False) or "confirmed" not in form.fields:
        return {"field": None}
    return {"field": form["confirmed"], "css_class": "confirm"}


@register.simple_tag
def select_options(widget) -> str:
    """The <option>s of a select widget, as Django's select.html and select_option.html
    write them (templates/django/forms/widgets/select.html), built in Python: through the
    template engine a list of 160 authorities took milliseconds on every case list page."""
    parts = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in group_choices:
            attrs = "".join(
                format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
                for name, value in option["attrs"].items()
                if value is not False
            )
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>\n',
                    option["value"],
                    mark_safe(attrs),  # noqa: S308 (built with format_html above)
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 (each part built with format_html)


@register.filter
def browser_name(user_agent: str) -> str:
    """ "Firefox on Windows" from a User-Agent header: enough to recognise one's own device."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


@register.simple_tag(takes_context=True)
def page_header(context) -> str:
    """The page frame's header, kept per reader, language and section (cases/rendering.py)."""
    from cases.rendering import header_html

    return header_html(context)
