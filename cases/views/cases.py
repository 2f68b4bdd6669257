import hashlib

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import access, services
from cases.access import Level
from cases.forms import (
    AccessLogFilterForm,
    CaseForm,
    CaseSearchForm,
    QuickEventForm,
    ShareForm,
    StatusForm,
    directory_choices,
)
from cases.memo import ProcessMemo
from cases.models import CASE_TRANSITIONS
from cases.rendering import csrf_placeholder, placeholder, with_csrf_token
from cases.selectors import alerts as alert_selectors
from cases.selectors import page_parts
from cases.selectors import timeline as timeline_selectors
from cases.selectors.access_review import ACCESS_REVIEW_PERIOD, access_flags
from cases.selectors.case_page import case_page_state
from cases.selectors.cases import CaseFilters, case_list_page, cases_as_listed
from cases.selectors.reminders import reminders_failed_for_case
from cases.services import team as team_services

from .common import run_service
from .timeline_entry import entry_html

CASES_PER_PAGE = 50
# How long a rendered part of a page is kept. Each is stored under the version of what it
# shows (TimelineVersion), so it is never shown once that has changed; the time limit only
# keeps the cache from holding parts nobody reads.
PART_CACHE_SECONDS = 24 * 60 * 60


@require_safe
def case_list_view(request):
    directory_version, filters, valid = _list_filters(request.GET)
    # The page's ids (and a count that stops past 1,000) with the versions of its cases,
    # then its rows, most of them from the cache.
    page = case_list_page(
        request.user,
        filters,
        request.GET.get("page"),
        per_page=CASES_PER_PAGE,
        today=timezone.localdate(),
    )
    if directory_version is None:
        directory_version = page.everywhere_version or timeline_selectors.everywhere_version()
    query = request.GET.copy()
    query.pop("page", None)
    ids = list(page)
    return render(
        request,
        "cases/case_list.html",
        {
            "form_html": _search_form_html(request, valid, directory_version, query),
            "page": page,
            "count_cap": number_format(page.cap, force_grouping=True),
            "rows": _case_rows(request, ids, page.versions),
            "query": query.urlencode(),
            "filtered": bool(request.GET),
        },
    )


# The directory's fields, empty: for checking a search that filters by neither.
_NO_DIRECTORY = {"organization": [], "authority": []}
# The filters of each valid search that filters by no entry of the directory, as its query
# string asks for them (the same whoever asks), kept per process; cleared when full.
_FILTERS = ProcessMemo(1024)


def _list_filters(params) -> tuple[str | None, CaseFilters, bool]:
    """The case list's search: (the directory's version if it was read, the filters, whether
    the form is valid).

    The directory (organizations, authorities) is read only to check a filter by one of
    them; otherwise the form is checked without it (an empty choice is valid whatever the
    choices), and a valid search's filters are kept, so that the form is not built again
    for the same search (the search form itself is kept rendered, ``_search_form_html``).
    """
    if params.get("organization") or params.get("authority"):
        directory_version = timeline_selectors.everywhere_version()
        form = CaseSearchForm(params, directory=_directory(directory_version))
        return directory_version, form.filters(), form.is_valid()
    key = tuple(sorted((name, tuple(values)) for name, values in params.lists() if name != "page"))
    filters = _FILTERS.get(key)
    if filters is not None:
        return None, filters, True
    form = CaseSearchForm(params or None, directory=_NO_DIRECTORY)
    filters = form.filters()
    if not form.is_bound or form.is_valid():
        _FILTERS.put(key, filters)
        return None, filters, True
    return None, filters, False


def _directory(directory_version: str) -> dict:
    """The directory's choices, kept per version of the directory."""
    return cache.get_or_set(f"directory:{directory_version}", directory_choices, PART_CACHE_SECONDS)


def _search_form_html(request, valid: bool, directory_version: str, query) -> str:
    """The case list's search form, from the cache unless it shows errors."""
    filtered = bool(request.GET)

    def render_form() -> str:
        form = CaseSearchForm(request.GET or None, directory=_directory(directory_version))
        context = {"form": form, "filtered": filtered}
        return str(render_to_string("cases/partials/case_search_form.html", context, request))

    if not valid:
        return mark_safe(render_form())  # noqa: S308 (rendered by the template engine)
    key = "case-search-form:" + _key(
        get_language(), directory_version, sorted(query.lists()), filtered
    )
    html = cache.get_or_set(key, render_form, PART_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 (rendered by the template engine, which escaped it)


def _case_rows(request, ids: list[int], versions: dict[int, str] | None = None) -> list[str]:
    """The case list's rows for these cases, in order, rendered once per version of the case
    and language and then taken from the cache; the page's rows together are kept too, under
    the versions of all of them (one lookup for a page seen again). ``versions``: the cases'
    versions if the caller has them (``timeline_versions`` otherwise).

    A row shows the same to everyone who may see the case (access was checked by the query
    that found ``ids``), so the rows are shared by all readers, searches and pages.
    """
    if not ids:
        return []
    if versions is None:
        versions = timeline_selectors.timeline_versions(ids)
    language = get_language()
    page_key = "case-rows:" + _key(language, [(pk, versions[pk]) for pk in ids])
    kept = cache.get(page_key)
    if kept is not None:
        return [mark_safe(kept)]  # noqa: S308 (rendered by the template engine)
    keys = {pk: f"case-row:{language}:{pk}:{versions[pk]}" for pk in ids}
    cached = cache.get_many(keys.values())
    missing = [pk for pk in ids if keys[pk] not in cached]
    if missing:
        rendered = {
            keys[case.pk]: render_to_string("cases/partials/case_row.html", {"c": case}, request)
            for case in cases_as_listed(missing)
        }
        cache.set_many(rendered, PART_CACHE_SECONDS)
        cached.update(rendered)
    rows = [cached[keys[pk]] for pk in ids if keys[pk] in cached]
    if len(rows) == len(ids):
        cache.set(page_key, "".join(rows), PART_CACHE_SECONDS)
    # Rendered by the template engine, which escaped everything it put in.
    return [mark_safe(row) for row in rows]  # noqa: S308


@require_http_methods(["GET", "POST"])
def case_create(request):
    form = CaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        # The form's fields are the service's arguments.
        response = run_service(
            form,
            lambda: services.case_create(by=request.user, **form.cleaned_data),
            success=_("Case opened."),
            request=request,
            redirect_to=lambda case: reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/case_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def case_edit(request, pk):
    case = access.get_case_for(request.user, pk, level=Level.EDIT)
    form = CaseForm(request.POST or None, instance=case, user=request.user)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.case_update(case=case, by=request.user, **form.cleaned_data),
            success=_("Case saved."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(request, "cases/case_form.html", {"form": form, "case": case})


@require_http_methods(["GET", "POST"])
def case_status(request, pk):
    case = access.get_case_for(request.user, pk, level=Level.MANAGE)
    current = case.get_status_display()
    form = StatusForm(request.POST or None, choices=services.allowed_next(case, CASE_TRANSITIONS))
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: services.case_change_status(
                case=case,
                to=form.cleaned_data["to"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                **form.happened(),
            ),
            success=_("Case status changed."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(
        request,
        "cases/status_form.html",
        {"form": form, "case": case, "subject": case, "current": current},
    )


@require_http_methods(["GET", "POST"])
def case_share(request, pk):
    case = access.get_case_for(request.user, pk, level=Level.MANAGE)
    form = ShareForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = run_service(
            form,
            lambda: services.case_share(
                case=case,
                organization=data["organization"],
                level=data["level"],
                by=request.user,
                reason=data["reason"],
            ),
            success=_("Sharing saved."),
            request=request,
            redirect_to=reverse("cases:case-detail", args=[case.pk]),
        )
        if response:
            return response
    return render(
        request,
        "cases/share_form.html",
        {"form": form, "case": case, "shares": case.shares.select_related("organization")},
    )


def _timeline_params(request, case):
    kinds = [k for k in request.GET.getlist("kind") if k in dict(timeline_selectors.KIND_CHOICES)]
    prisoner = None
    prisoner_id = request.GET.get("prisoner", "")
    if prisoner_id.isdigit():
        prisoner = case.prisoners.filter(pk=int(prisoner_id)).first()
    newest_first = request.GET.get("order") != "oldest"
    page = request.GET.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    return kinds, prisoner, newest_first, page


def _timeline_context(
    request, case, *, can_edit: bool, version: str | None = None, people_version: str | None = None
) -> dict:
    """The timeline's controls and its page of entries, rendered (``timeline_html``).

    The entries are rendered once per version of the timeline and per way of showing it
    (language, time zone, edit links, filters, page) and then taken from the cache: on a
    long timeline, rendering its 50 entries with all they show is most of the case page.
    With ``people_version`` (the version of the page's people part, which changes with any
    change to the case's people or their links to it), the people the controls list are
    kept under it, so that a new event does not read them again.
    """
    kinds, prisoner, newest_first, page = _timeline_params(request, case)
    query = request.GET.copy()
    query["page"] = str(page + 1)
    context = {
        "case": case,
        "can_edit": can_edit,
        "kind_choices": timeline_selectors.KIND_CHOICES,
        "selected_kinds": kinds,
        "selected_prisoner": prisoner,
        "newest_first": newest_first,
        "next_query": query.urlencode(),
    }
    version = version or timeline_selectors.timeline_version(case)
    shown_as = (
        case.pk,
        version,
        get_language(),
        timezone.get_current_timezone_name(),
        can_edit,
        sorted(kinds),
        prisoner.pk if prisoner else None,
        newest_first,
        page,
        context["next_query"],
    )
    key = "timeline:" + _key(*shown_as)

    def render_entries() -> tuple[str, bool, list[dict]]:
        # The people to filter by (the timeline's controls), kept with the entries.
        if people_version is None:
            people = timeline_selectors.case_people(case)
        else:
            people = cache.get_or_set(
                f"case-page:people:{case.pk}:{people_version}",
                lambda: timeline_selectors.case_people(case),
                PART_CACHE_SECONDS,
            )
        timeline = timeline_selectors.case_timeline_rows(
            case,
            page=page,
            kinds=kinds,
            prisoner=prisoner,
            newest_first=newest_first,
            people=[p["pk"] for p in people],
        )
        entries = _entries_html(
            case,
            timeline.rows,
            can_edit=can_edit,
            everywhere=timeline_selectors.everywhere_of(version),
        )
        html = render_to_string(
            "cases/partials/timeline_entries.html",
            {
                **context,
                # One string: the template engine's loop over 50 entries cost more than
                # writing them. Each was escaped by entry_html.
                "entries_html": mark_safe("".join(entries)),  # noqa: S308
                "has_more": timeline.has_more,
            },
            request,
        )
        region = render_to_string(
            "cases/partials/timeline_region.html",
            {**context, "timeline_html": html, "timeline_has_entries": bool(entries)},
        )
        return str(html), bool(entries), people, str(region)

    html, has_entries, people, region = cache.get_or_set(key, render_entries, PART_CACHE_SECONDS)
    # Rendered by the template engine above, which escaped everything it put in.
    context.update(
        timeline_html=mark_safe(html),  # noqa: S308
        timeline_region_html=mark_safe(region),  # noqa: S308
        timeline_has_entries=has_entries,
        timeline_people_options=_people_options_html(people, prisoner),
        event_create_url=reverse("cases:event-create", args=[case.pk]),
        timeline_form_url=reverse("cases:case-detail", args=[case.pk]) + "#timeline",
    )
    return context


def _people_options_html(people: list[dict], selected) -> str:
    """The timeline filter's people (``case_people``), as the options of its list."""
    return format_html_join(
        "",
        '<option value="{}" {}>{}</option>',
        (
            (p["pk"], "selected" if selected and selected.pk == p["pk"] else "", p["code"])
            for p in people
        ),
    )


# Each timeline entry as written (``_entries_html``): entries are small and many (50 a page),
# so they are kept apart from the cache, where they would push out the pages' larger parts.
_ENTRIES = ProcessMemo(4096)


def _entries_html(case, rows: list[tuple[int, str]], *, can_edit: bool, everywhere: str) -> list:
    """The entries of a page (``rows``: their ids and ``shown_version``, in order), written,
    most of them kept from an earlier request: after a change to a case, only the entries
    that show something of what changed are read and written again.

    An entry is kept under its ``shown_version`` (cases/services/timeline.py changes it
    with anything the entry shows), the token for what every case shows (``everywhere``:
    names of organizations, authorities and users), and what differs between readers: the
    language, the time zone and the edit links. Nothing else on an entry depends on who
    reads it (a need-to-know place of detention never reaches the timeline, see
    cases/services/timeline.py); the case is in the key too, so no entry about a person is
    shared between the cases that person is on. An entry gone since its id was read is left
    out.
    """
    shown_as = (case.pk, get_language(), timezone.get_current_timezone_name(), can_edit, everywhere)
    written = {pk: _ENTRIES.get((shown_as, pk, version)) for pk, version in rows}
    missing = [pk for pk, html in written.items() if html is None]
    if missing:
        versions = dict(rows)
        # Read after their versions: an entry changed in between is kept under its old
        # version with what it shows now, never the other way round.
        for entry in timeline_selectors.timeline_shown(missing):
            # Written in Python (timeline_entry.entry_html: the template's text, about ten
            # times faster), since a page seen for the first time writes all its entries.
            html = entry_html(entry, can_edit=can_edit)
            _ENTRIES.put((shown_as, entry.pk, versions[entry.pk]), html)
            written[entry.pk] = html
    # entry_html escaped everything it put in, as the template engine does.
    return [mark_safe(written[pk]) for pk, _version in rows if written[pk] is not None]  # noqa: S308


def forget_kept_entries() -> None:
    _ENTRIES.clear()


# Unusual patterns need a little history to show, so a few minutes late is soon enough; the
# access log page computes them afresh.
ACCESS_FLAGS_CACHE_SECONDS = 300


def _key(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _access_flags(case) -> list:
    """The case's unusual-access flags, for those who review access (level MANAGE, checked by
    the caller): the same for all of them, so kept for a few minutes per case."""
    now = timezone.now()
    return cache.get_or_set(
        f"access-flags:{case.pk}",
        lambda: access_flags(case_ids=[case.pk], since=now - ACCESS_REVIEW_PERIOD, until=now),
        ACCESS_FLAGS_CACHE_SECONDS,
    )


# The case page's parts kept in the cache: the template that renders each, and the parts of
# the page whose versions it follows (TimelineVersion.PARTS).
PAGE_PARTS = {
    # The header (with the next deadline) and the people.
    "top_html": ("cases/partials/case_page_top.html", ("header", "people", "deadlines")),
    "deadlines_html": ("cases/partials/pinned_deadlines.html", ("deadlines",)),
    # The latest petitions and documents.
    "lists_html": ("cases/partials/case_page_lists.html", ("lists",)),
}


def _page_parts(case, context: dict, *, versions: dict[str, str], today) -> dict:
    """The case page's parts around the timeline, rendered, most often from the cache.

    Each is kept under the versions of what it shows (``case_page_versions_from``: a new event
    leaves them all as they are, a new deadline changes the header and the deadlines), the
    reader's rights, language and time zone, and today's date (countdowns); all are fetched
    with one ``get_many``. When one is missing, what it shows is read here, before
    rendering, so that no template reads the database.
    """
    shown_as = (
        case.pk,
        get_language(),
        timezone.get_current_timezone_name(),
        today,
        context["level"],
    )
    keys = {
        name: f"case-page:{name}:" + _key(*shown_as, *(versions[part] for part in parts))
        for name, (_template, parts) in PAGE_PARTS.items()
    }
    cached = cache.get_many(keys.values())
    missing = [name for name in PAGE_PARTS if keys[name] not in cached]
    if missing:
        # Each read with SQL compiled once per process (cases/selectors/page_parts.py).
        data = {
            **context,
            "status_choices": services.allowed_next(case, CASE_TRANSITIONS),
            "today": today,
        }
        if "top_html" in missing or "deadlines_html" in missing:
            pinned = timeline_selectors.pinned_deadlines(case, today=today)
            data.update(pinned=pinned, next_deadline=pinned[0] if pinned else None)
        if "top_html" in missing:
            # The lead organization and the shares, read here, not in the template
            # (get_case_and_level loads the case alone).
            data["shares"] = page_parts.case_header(case)
            data["prisoners"] = page_parts.people_card(case)
        if "lists_html" in missing:
            # The latest few: all of them are on the timeline, which pages (kind=petition).
            data["petitions"] = page_parts.latest_petitions(case)
            data["documents"] = page_parts.latest_documents(case)
        rendered = {
            keys[name]: str(render_to_string(PAGE_PARTS[name][0], data)) for name in missing
        }
        cache.set_many(rendered, PART_CACHE_SECONDS)
        cached.update(rendered)
    # Rendered by the template engine, which escaped everything it put in.
    return {name: mark_safe(cached[keys[name]]) for name in PAGE_PARTS}  # noqa: S308


@require_safe
def case_detail(request, pk):
    # The case and what the reader may do on it, in one query (the reader's memberships and
    # the case's shares with their organizations).
    case, level = access.get_case_and_level(request.user, pk)
    today = timezone.localdate()
    # Only the case page itself is logged, not its partial refreshes; repeated views in one
    # session are counted beside the session's first (cases/services/audit.py). The versions
    # of the page's parts and the reader's flags come in one query, which on PostgreSQL also
    # counts a repeat view; the failed reminders and the open alerts are read only when there
    # are some.
    session_sid = team_services.session_sid(request)
    repeat_view = services.repeat_view_cte(user=request.user, case=case, session_sid=session_sid)
    state = case_page_state(case, request.user, with_write=repeat_view)
    if not state.repeat_view_counted:
        services.case_view_record(
            user=request.user,
            case=case,
            session_sid=session_sid,
            repeat_checked=repeat_view is not None,
        )
    versions = state.versions
    timeline = _timeline_context(
        request,
        case,
        can_edit=level >= Level.EDIT,
        version=versions["timeline"],
        people_version=versions["people"],
    )
    context = {
        **timeline,
        "case": case,
        "level": level,
        "can_edit": level >= Level.EDIT,
        "can_manage": level >= Level.MANAGE,
        # Reminders the outbox gave up on: shown to those who may act, never cached.
        "failed_reminders": (
            list(reminders_failed_for_case(case)[:20])
            if level >= Level.EDIT and state.has_failed_reminders
            else []
        ),
        # Unusual access to this case, for those who review it (never cached).
        "access_flags": _access_flags(case) if level >= Level.MANAGE else [],
        # Open urgent alerts and their checklists: never cached (ticks show at once).
        "alerts": alert_selectors.open_alerts(case) if state.has_open_alerts else [],
        # Outside the cached parts: one's own choice, with a form.
        "muted": state.muted,
    }
    context.update(_page_parts(case, context, versions=versions, today=today))
    context["timeline_block_html"] = _timeline_block_html(request, context, today=today)
    return render(request, "cases/case_detail.html", context)


def _quick_event_fields_html(today) -> str:
    """The quick-add form's fields, empty but for today's date: the same on every case, so
    kept per language and day (rendering them was most of a timeline block)."""
    key = f"case-page:quick-event-fields:{get_language()}:{today.isoformat()}"

    def render_fields() -> str:
        form = QuickEventForm(initial={"occurred_on": today})
        return str(render_to_string("cases/partials/quick_event_fields.html", {"form": form}))

    # Rendered by the template engine, which escaped everything it put in.
    return mark_safe(cache.get_or_set(key, render_fields, PART_CACHE_SECONDS))  # noqa: S308


def _timeline_block_html(request, context: dict, *, today) -> str:
    """The timeline block (the quick-add form, the filters, the entries): the largest part
    of the page to render, kept in pieces.

    The entries are kept with the timeline (``timeline_region_html``, ``_timeline_context``).
    The frame around them is the same on every case: kept under what it shows (the reader's
    language and edit rights, the filters, today's date: the form's default day), with
    placeholders for what differs from case to case (its addresses and the people it
    filters by) and from reader to reader (the CSRF token), put in on every request. So
    neither a change to the case nor another case renders it again. The entries go in
    last, so that nothing they show is ever replaced.
    """
    shown_as = (
        get_language(),
        context["can_edit"],
        sorted(context["selected_kinds"]),
        context["newest_first"],
        today,
    )
    key = "case-page:timeline-frame:" + _key(*shown_as)
    per_case = ("event_create_url", "timeline_form_url", "timeline_people_options")
    entries = placeholder("timeline-entries")

    def render_frame() -> str:
        block = {
            **context,
            **{name: placeholder(name) for name in per_case},
            "csrf_token": csrf_placeholder(),
            "timeline_region_html": entries,
        }
        if context["can_edit"]:
            block["quick_event_form"] = QuickEventForm(initial={"occurred_on": today})
            block["quick_event_fields_html"] = _quick_event_fields_html(today)
        return str(render_to_string("cases/partials/timeline_block.html", block))

    frame = with_csrf_token(cache.get_or_set(key, render_frame, PART_CACHE_SECONDS), request)
    parts = frame.split(entries, 1)
    for name in per_case:
        # An address (made of the case's id), and options escaped by format_html_join.
        parts = [part.replace(placeholder(name), str(context[name])) for part in parts]
    before, after = parts
    # The frame and the entries were rendered by the template engine, which escaped
    # everything it put in.
    return mark_safe(before + context["timeline_region_html"] + after)  # noqa: S308


@require_safe
def case_timeline(request, pk):
    """The timeline alone: htmx "load more" and filter changes, or a plain page without JS."""
    case, level = access.get_case_and_level(request.user, pk)
    context = _timeline_context(request, case, can_edit=level >= Level.EDIT)
    if request.htmx:
        return HttpResponse(context["timeline_html"])
    today = timezone.localdate()
    context.update(
        timeline_form_url=reverse("cases:case-timeline", args=[case.pk]),
        can_edit=level >= Level.EDIT,
        pinned=timeline_selectors.pinned_deadlines(case, today=today),
    )
    return render(request, "cases/timeline_page.html", context)


@require_POST
def case_unshare(request, pk, share_pk):
    case = access.get_case_for(request.user, pk, level=Level.MANAGE)
    share = get_object_or_404(case.shares.select_related("organization"), pk=share_pk)
    reason = request.POST.get("reason", "").strip() or _("Sharing ended")
    services.case_unshare(share=share, by=request.user, reason=reason)
    messages.success(request, _("%(org)s no longer sees this case.") % {"org": share.organization})
    return redirect("cases:case-share", pk=case.pk)


@require_safe
def case_access_log(request, pk):
    """Who viewed the case, revealed identities, downloaded documents (lead coordinators):
    filtered by user, kind and date, with unusual patterns flagged on top."""
    case = access.get_case_for(request.user, pk, level=Level.MANAGE)
    form = AccessLogFilterForm(request.GET or None, case=case)
    rows = case.access_log.select_related("view_session")
    if form.is_valid():
        rows = form.filter(rows)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    now = timezone.now()
    context = {
        "case": case,
        "page": page,
        "form": form,
        "query": form.query_string() if form.is_bound and form.is_valid() else "",
        "flags": access_flags(case_ids=[case.pk], since=now - ACCESS_REVIEW_PERIOD, until=now),
    }
    return render(request, "cases/access_log.html", context)
