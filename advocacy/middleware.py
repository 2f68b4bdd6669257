"""HTTP-level protections that are not about the domain."""

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
