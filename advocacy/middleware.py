"""HTTP-level protections that are not about the domain."""

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.utils.cache import patch_cache_control


class NoStoreForSignedInMiddleware:
    """Pages shown to a signed-in user are never kept by browsers or proxies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True, max_age=0)
        return response


# What a form adds around the largest document: the other fields and multipart boundaries.
FORM_OVERHEAD_BYTES = 1024 * 1024


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than the largest document (plus a form's overhead) from
    its Content-Length, before a byte of it is read: a 25 MB upload is answered 413 at once
    instead of being received whole and refused afterwards."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DOCUMENT_MAX_BYTES + FORM_OVERHEAD_BYTES:
            return _too_large()
        return self.get_response(request)


def _too_large():
    from django.conf import settings
    from django.http import HttpResponse
    from django.template.defaultfilters import filesizeformat
    from django.utils.html import escape
    from django.utils.translation import gettext as _

    message = _(
        "This upload is too large: this installation stores documents of up to %(limit)s. "
        "Go back and choose a smaller file."
    ) % {"limit": filesizeformat(settings.DOCUMENT_MAX_BYTES)}
    response = HttpResponse(
        f'<!doctype html><meta charset="utf-8"><title>413</title><p>{escape(message)}</p>',
        status=413,
    )
    response["Connection"] = "close"
    return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the header built once instead of on every response.

    The policy is the same for every response that asks for no nonce and carries no per-view
    policy (``@csp_update`` and the like): all of this application's pages. Building it anew
    was a tenth of the Python a one-line signed-in page runs. Any response that does ask for
    a nonce or a per-view policy goes through django-csp unchanged.
    """

    _PER_RESPONSE = (
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_exempt",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
        "_csp_exempt_ro",
    )
    _built: tuple[object, object, str, str] | None = None

    def process_response(self, request, response):
        from django.conf import settings

        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in self._PER_RESPONSE
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # as django-csp: Django's debug pages use inline scripts
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = ContentSecurityPolicyMiddleware._built
        # Keyed on the settings objects themselves, so that a changed setting (a test's
        # override_settings) builds the header again.
        if built is None or built[0] is not policy or built[1] is not report_only:
            built = (policy, report_only, build_policy(), build_policy(report_only=True))
            ContentSecurityPolicyMiddleware._built = built
        for header, value, config in (
            (HEADER, built[2], policy),
            (HEADER_REPORT_ONLY, built[3], report_only),
        ):
            prefixes = tuple((config or {}).get("EXCLUDE_URL_PREFIXES") or ())
            if value and header not in response and not request.path_info.startswith(prefixes):
                response[header] = value
        # As django-csp: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
