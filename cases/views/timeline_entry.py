"""One timeline entry as HTML, written in Python: the same text, byte for byte, as the
template ``cases/partials/timeline_entry.html`` gives.

Why not the template: a page of 50 entries rendered through the template engine took most of
a case page seen for the first time (0.3-0.8 ms an entry: a context per entry, a lookup per
variable, a gettext per ``{% translate %}``), and every request of the load run is such a
page (docs/performance.md, "Case timeline" and "Load"). Here an entry costs a few dozen
microseconds. The template stays as the description of the markup:
tests/test_timeline_entry_html.py renders every kind of entry both ways, for editors and
readers, in every language, and fails on any difference. Change both together.

Everything printed is escaped as the template engine would (``conditional_escape``); the
translated texts are the template's own msgids, so the catalogues apply unchanged.
"""

from django.template.defaultfilters import time as time_filter
from django.template.defaultfilters import urlize
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.translation import gettext

from cases.models import format_fuzzy_date
from cases.models.dates import format_moment
from cases.selectors.timeline import DeadlineShown, EntryShown, EventShown
from cases.templatetags.cases_tags import abbr, names

# What the template prints of a missing event or deadline: nothing (its lookups come out "").
_NO_EVENT = EventShown(
    id=None, kind_label="", title="", description="", source="", occurred_at_time=None,
    people=(), authorities=(), organizations=(),
)  # fmt: skip
_NO_DEADLINE = DeadlineShown(title="", status="", status_label="", kind_label="", due_display="")


def _e(value) -> str:
    return conditional_escape(value)


def _t(message: str) -> str:
    """``{% translate %}``: the literal is safe, so its translation is printed as it is."""
    return gettext(message)


def _bt(message: str, **values) -> str:
    """``{% blocktranslate %}``: the translation printed as it is, the values escaped."""
    return gettext(message) % {name: _e(value) for name, value in values.items()}


def _event(event) -> list[str]:
    out = [f'\n    <div class="entry-title">{_e(event.title)}</div>\n    ']
    if event.description:
        out.append(f'<div class="entry-body">{_e(event.description)}</div>')
    out.append("\n    \n    ")
    people, authorities, orgs = event.people, event.authorities, event.organizations
    if people or authorities or orgs:
        out.append('<div class="entry-meta">\n      ')
        for n, person in enumerate(people):
            if n == 0:
                out.append(_t("Concerns") + " ")
            out.append(f'<span class="badge">{_e(person)}</span> ')
        out.append("\n      ")
        for n, authority in enumerate(authorities):
            if n == 0 and people:
                out.append(" · ")
            out.append(_e(authority))
            if n != len(authorities) - 1:
                out.append(", ")
        out.append("\n      ")
        for n, org in enumerate(orgs):
            if n == 0 and (people or authorities):
                out.append(" · ")
            out.append(_e(org))
            if n != len(orgs) - 1:
                out.append(", ")
        out.append("\n    </div>")
    out.append("\n    \n    ")
    if event.source:
        out.append(
            f'<div class="entry-meta">{_t("Source")}: {urlize(event.source, autoescape=True)}</div>'
        )
    out.append("\n  ")
    return out


def _petition(entry: EntryShown) -> list[str]:
    petition = entry.petition
    filed = _t("Petition filed") if petition.filed_on else _t("Petition drafted")
    url = reverse("cases:petition-detail", args=[petition.id])
    out = [
        f'\n    <div class="entry-title">{filed}: <a href="{_e(url)}">{_e(petition.title)}</a>'
        f'</div>\n    <div class="entry-meta">'
        + _bt("to %(authority)s", authority=abbr(petition.addressed_to))
    ]
    filed_by = names(petition.filed_by)
    if filed_by:
        out.append(" · " + _bt("by %(names)s", names=filed_by))
    out.append("</div>\n    ")
    if petition.requests:
        out.append('<ul class="small">')
        for request in petition.requests:
            out.append(f"<li>{_e(request.kind_label)}")
            if request.outcome != "pending":
                out.append(f" — <strong>{_e(request.outcome_label)}</strong>")
            out.append("</li>")
        out.append("</ul>")
    out.append("\n  ")
    return out


def _change(entry: EntryShown) -> list[str]:
    out = ['\n    <div class="entry-title change">\n      ']
    if entry.subject == "case":
        out.append(_t("Case"))
    elif entry.subject == "petition":
        url = reverse("cases:petition-detail", args=[entry.petition.id])
        out.append(f'<a href="{_e(url)}">{_e(entry.petition.title)}</a>')
    elif entry.subject == "prisoner":
        url = reverse("cases:prisoner-detail", args=[entry.prisoner_id])
        out.append(f'<a href="{_e(url)}">{_e(entry.prisoner_code)}</a>')
    elif entry.subject == "deadline":
        out.append(_e((entry.deadline or _NO_DEADLINE).title))
    out.append(
        f"\n      — {_e(entry.field_label)}: "
        f'<span class="old">{_e(entry.old_label or "—")}</span> → '
        f"<strong>{_e(entry.new_label or '—')}</strong>\n    </div>\n    "
    )
    if entry.reason:
        out.append(f'<p class="reason">{_e(entry.reason)}</p>')
    out.append("\n  ")
    return out


def _deadline(entry: EntryShown) -> list[str]:
    deadline = entry.deadline or _NO_DEADLINE
    return [
        f'\n    <div class="entry-title">{_e(deadline.title)} '
        f'<span class="badge status-{_e(deadline.status)}">{_e(deadline.status_label)}</span>'
        f'</div>\n    <div class="entry-meta">{_e(deadline.kind_label)} · '
        f"{_e(deadline.due_display)}</div>\n  "
    ]


def _document(entry: EntryShown) -> list[str]:
    document = entry.document
    label = _t("Document") if document.dated_on else _t("Document added")
    url = reverse("cases:document-detail", args=[document.id])
    return [
        f'\n    <div class="entry-title">{label}: <a href="{_e(url)}">{_e(document.title)}</a>'
        f'</div>\n    <div class="entry-meta mono">SHA-256 {_e(document.sha256)}</div>\n  '
    ]


def _development(entry: EntryShown) -> list[str]:
    development = entry.development
    url = reverse("cases:development-detail", args=[development.id])
    out = [
        f'\n    <div class="entry-title">{_t("Development")}: '
        f'<a href="{_e(url)}">{_e(development.title)}</a> '
        f'<span class="badge">{_e(development.kind_label)}</span></div>\n    '
    ]
    if development.description:
        out.append(f'<div class="entry-body">{_e(development.description)}</div>')
    out.append("\n    ")
    authorities = development.authorities
    if authorities:
        out.append('<div class="entry-meta">')
        out.append(", ".join(_e(a) for a in authorities))
        out.append("</div>")
    out.append("\n    ")
    if development.source:
        out.append(
            f'<div class="entry-meta">{_t("Source")}: '
            f"{urlize(development.source, autoescape=True)}</div>"
        )
    out.append("\n  ")
    return out


def _recorded(entry: EntryShown, can_edit: bool) -> str:
    when = format_moment(entry.recorded_when)
    if entry.recorded_by:
        text = _bt("recorded on %(when)s by %(who)s", when=when, who=entry.recorded_by)
    else:
        text = _bt("recorded on %(when)s", when=when)
    if entry.kind == "event" and can_edit:
        url = reverse("cases:event-edit", args=[entry.event.id])
        text += f' · <a href="{_e(url)}">{_t("Edit")}</a>'
    return f'<div class="entry-meta recorded">{text}</div>'


_BODIES = {
    "petition": _petition,
    "status": _change,
    "change": _change,
    "deadline": _deadline,
    "document": _document,
    "development": _development,
}


def entry_html(entry: EntryShown, *, can_edit: bool) -> str:
    """The entry's ``<li>``, as ``timeline_entry.html`` renders it (escaped; the caller marks
    it safe)."""
    date = format_fuzzy_date(entry.happened_on, entry.precision, by=entry.kind == "deadline")
    out = [f'\n<li class="kind-{_e(entry.kind)}">\n  <div><span class="entry-date">{_e(date)}']
    event = entry.event or _NO_EVENT
    if event.occurred_at_time:
        out.append(" " + _e(time_filter(event.occurred_at_time, "H:i")))
    kind_label = event.kind_label if entry.kind == "event" else entry.kind_label
    out.append(f'</span>\n    <span class="entry-kind">{_e(kind_label)}</span></div>\n  ')
    if entry.kind == "event":
        out.extend(_event(event))
    elif entry.kind in _BODIES:
        out.extend(_BODIES[entry.kind](entry))
    elif entry.kind == "case_opened":
        out.append(f'\n    <div class="entry-title">{_t("Case opened")}</div>\n  ')
    out.append("\n  ")
    if entry.recorded_when:
        out.append(_recorded(entry, can_edit))
    out.append("\n</li>\n")
    return "".join(out)
