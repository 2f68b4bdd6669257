"""Rendered HTML kept and served again, with each reader's own values put in per request.

What varies from one request to the next inside a kept copy (the reader's CSRF token, the
address of the page) is rendered as a placeholder and replaced on every request. A
placeholder is derived from the secret key: the same in every process (a shared cache), and
not guessable, so that nothing a user types (a title, a name) can be made to look like one
and turn into another reader's token on their page.
"""

import functools

from django.conf import settings
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from cases.context_processors import page_frame
from cases.memo import ProcessMemo

_headers = ProcessMemo(2048)  # readers x languages x sections


def placeholder(name: str) -> str:
    """What stands for the per-request value ``name`` in a kept copy."""
    return _placeholder(name, settings.SECRET_KEY)


@functools.cache
def _placeholder(name: str, secret: str) -> str:
    # Worked out once per name and key: several are put in on every page.
    return f"{name}-" + salted_hmac("cases.rendering.placeholder", name, secret=secret).hexdigest()


def csrf_placeholder() -> str:
    return placeholder("csrf")


def with_csrf_token(html: str, request) -> str:
    """A kept copy with the reader's own CSRF token in place of the placeholder. ``html``
    was rendered by the template engine, which escaped everything it put in; the token is
    Django's own (letters and digits)."""
    return mark_safe(html.replace(csrf_placeholder(), get_token(request)))  # noqa: S308


def forget_kept_headers() -> None:
    _headers.clear()


def _section(path: str, frame: dict) -> str:
    """The part of the site the page belongs to, as the menu marks it (aria-current)."""
    if path == frame["home"]:
        return "home"
    if path == frame["case_list"]:
        return "case_list"
    if "/developments/" in path or "/deadline-moves/" in path:
        return "developments"
    if "/directory/" in path:
        return "directory"
    return ""


def header_html(context) -> str:
    """The page frame's header (templates/partials/page_header.html) for this request.

    It is the same for one reader (name, staff status, whether they run a team, whether the
    second sign-in step is pending), language and section of the site, on every page: kept
    per process under those, it is rendered once instead of on every page (a third of the
    time of rendering a small page). The CSRF token and the page's address are put in here.
    """
    request = context.get("request")
    user = context.get("user")
    if request is None:  # rendered outside a request (an email, a test): nothing to keep
        return _render_header(
            user=user,
            frame=page_frame(),
            section="",
            pending=bool(context.get("second_step_pending")),
            runs_a_team=bool(context.get("runs_a_team")),
            csrf_token=context.get("csrf_token", ""),
            next_path="",
        )
    frame = context["frame"]
    signed_in = bool(user is not None and user.is_authenticated)
    pending = bool(context.get("second_step_pending")) if signed_in else False
    menu = signed_in and not pending
    key = (
        get_language(),
        _section(request.path, frame),
        signed_in,
        pending,
        user.pk if signed_in else None,
        user.get_username() if signed_in else "",
        bool(user.is_staff) if menu else False,
        bool(context.get("runs_a_team")) if menu else False,
    )
    html = _headers.get(key)
    if html is None:
        html = _render_header(
            user=user,
            frame=frame,
            section=key[1],
            pending=pending,
            runs_a_team=key[-1],
            csrf_token=csrf_placeholder(),
            next_path=placeholder("next"),
        )
        _headers.put(key, html)
    html = html.replace(placeholder("next"), escape(request.get_full_path()))
    return with_csrf_token(html, request)


def _render_header(*, user, frame, section, pending, runs_a_team, csrf_token, next_path) -> str:
    return render_to_string(
        "partials/page_header.html",
        {
            "user": user,
            "LANGUAGE_CODE": get_language(),
            "frame": frame,
            "section": section,
            "second_step_pending": pending,
            "runs_a_team": runs_a_team,
            "csrf_token": csrf_token,
            "next_path": next_path,
        },
    )
