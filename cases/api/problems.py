"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API gives has ``type``, ``title``, ``status`` and ``detail``; a refused input
also has ``errors``: one item per problem with a JSON pointer to the field
(``"#/requests/0/kind"``) or none for the request as a whole.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

# Problem types are named, not located (docs/api.md lists them).
PROBLEM_TYPE = "urn:advocacy:problem:"
CONTENT_TYPE = "application/problem+json"


class Problem(exceptions.APIException):
    """A refusal with its own status, code and (optionally) field errors."""

    def __init__(self, *, status_code: int, code: str, detail: str, errors=None, headers=None):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.code = code
        self.errors = errors or []
        self.headers = headers or {}


def _titles() -> dict[int, str]:
    return {
        400: _("Your request is not valid"),
        401: _("Sign-in needed"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        406: _("Not acceptable"),
        409: _("Conflict"),
        412: _("Precondition failed"),
        413: _("Request too large"),
        415: _("Unsupported media type"),
        422: _("Cannot be processed"),
        429: _("Too many requests"),
    }


def pointer_errors(detail, path: str = "#") -> list[dict]:
    """DRF's nested error structure as a flat list of {pointer, detail}."""
    found = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__", None):
                found += pointer_errors(value, path)
            else:
                found += pointer_errors(value, f"{path}/{key}")
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            found += [_item(path, item) for item in detail]
        else:
            for index, value in enumerate(detail):
                if value:
                    found += pointer_errors(value, f"{path}/{index}")
    elif detail is not None:
        found.append(_item(path, detail))
    return found


def _item(path: str, message) -> dict:
    item = {"detail": str(message)}
    if path != "#":
        item["pointer"] = path
    return item


def django_errors(error: DjangoValidationError) -> list[dict]:
    if hasattr(error, "error_dict"):
        return pointer_errors({k: [str(m) for m in v] for k, v in error.message_dict.items()})
    return pointer_errors(list(error.messages))


def problem_response(
    *, status_code: int, code: str, detail: str, errors=None, instance: str = "", headers=None
) -> Response:
    body = {
        "type": PROBLEM_TYPE + code.replace("_", "-"),
        "title": _titles().get(status_code, _("Error")),
        "status": status_code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=CONTENT_TYPE)
    return response


def problem_exception_handler(exc, context):
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            status_code=400,
            code="invalid",
            detail=_("The request was refused; see errors."),
            errors=django_errors(exc),
            instance=instance,
        )
    if isinstance(exc, Problem):
        return problem_response(
            status_code=exc.status_code,
            code=exc.code,
            detail=str(exc.detail),
            errors=exc.errors,
            instance=instance,
            headers=exc.headers,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found, or not yours to see."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real fault: Django's 500
    if isinstance(exc, exceptions.ValidationError):
        detail = _("The request was refused; see errors.")
        errors = pointer_errors(exc.detail)
        code = "invalid"
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc)
        errors = None
        code = getattr(exc, "default_code", "error")
    headers = {
        k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After")
    }
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    return problem_response(
        status_code=response.status_code,
        code=code,
        detail=detail,
        errors=errors,
        instance=instance,
        headers=headers,
    )
