"""Logs an operator can keep: one line per request and per task, plain or JSON (LOG_FORMAT).

What goes into a line is chosen, not dumped: for a request the method, the path as routed
(ids, never query strings or bodies; secret tokens in paths masked), the status, the duration
and the user's id; for a task its name, id, outcome and duration, never its arguments or
return value. Tracebacks keep the exception's type and the code path but not its message,
which may quote the data that made it fail (a name, a form value).
"""

import datetime as dt
import json
import logging
import time
import traceback

from django.conf import settings
from django.utils.functional import empty

request_log = logging.getLogger("advocacy.request")

# URL parts that are credentials: the calendar feed's key, password-reset links.
_SECRET_KWARGS = {"token", "uidb64", "key"}
MASK = "***"


# --- Formatters ------------------------------------------------------------------------------
def _format_exception(exc_info) -> str:
    """The stack and the exception types of a chain, without any exception message."""
    exc_type, exc, _ = exc_info
    if exc is None:
        return f"{_type_name(exc_type)} (message withheld)"
    out = []
    seen = set()
    chain = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    for position, error in enumerate(reversed(chain)):
        if position:
            out.append("\nThe above exception led to the following:\n\n")
        out.append("Traceback (most recent call last):\n")
        out.extend(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        out.append(f"{_type_name(type(error))} (message withheld)")
    return "".join(out)


def _type_name(exc_type) -> str:
    module = getattr(exc_type, "__module__", "")
    name = getattr(exc_type, "__qualname__", str(exc_type))
    return name if module in {"builtins", ""} else f"{module}.{name}"


class PlainFormatter(logging.Formatter):
    """Human-readable lines; the fields a record carries are appended as key=value."""

    def __init__(self, fmt="%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs):
        super().__init__(fmt, **kwargs)

    def formatException(self, ei) -> str:
        return _format_exception(ei)

    def formatMessage(self, record) -> str:
        line = super().formatMessage(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's fields."""

    def formatException(self, ei) -> str:
        return _format_exception(ei)

    def format(self, record) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# --- Requests --------------------------------------------------------------------------------
class RequestLogMiddleware:
    """One line per request. First in MIDDLEWARE, so the duration covers everything."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path, route = _loggable_path(request)
        fields = {
            "method": request.method,
            "path": path,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": _user_id(request),
        }
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        request_log.log(
            level, "%s %s %s", request.method, path, response.status_code, extra={"fields": fields}
        )
        return response


def _loggable_path(request) -> tuple[str, str | None]:
    """The path if it is one of the site's own (routed or a static file), with secret parts
    masked; anything else (a mistyped address may hold anything) is not written down."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        path = request.path
        for name, value in match.kwargs.items():
            if name in _SECRET_KWARGS and value:
                path = path.replace(str(value), MASK)
        return path, match.route
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return request.path, None
    return "(unrouted)", None


def _user_id(request) -> int | None:
    """The signed-in user's id, without loading the user only to log it."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # AuthenticationMiddleware's lazy object
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


# --- Tasks -----------------------------------------------------------------------------------
class TaskLineFilter(logging.Filter):
    """Turns Celery's per-task lines (logger ``celery.app.trace``) into one line per task
    without the arguments, the return value or the exception's message."""

    def filter(self, record) -> bool:
        context = record.args if isinstance(record.args, dict) else None
        if not context or "name" not in context:
            return True
        template = str(record.msg)
        if "succeeded" in template:
            outcome = "succeeded"
        elif "retry" in template:
            outcome = "retry"
        else:
            outcome = str(context.get("description") or "failed")
            outcome = "failed" if "raised" in outcome or "ERROR" in outcome else outcome
        fields = {"task": context["name"], "task_id": context.get("id"), "outcome": outcome}
        if context.get("runtime") is not None:
            fields["duration_ms"] = round(float(context["runtime"]) * 1000, 1)
        record.msg = "task %s %s"
        record.args = (context["name"], outcome)
        record.fields = fields
        record.data = {}  # Celery's copy of the arguments and result, for custom handlers
        return True
