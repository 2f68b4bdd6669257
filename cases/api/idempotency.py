"""``Idempotency-Key`` on POST: a retried create (the same key, the same request, the same
user) gets the first answer again instead of making a second row.

The key's record is written in the transaction of the create, so a create that fails leaves
no key, and two requests racing with one key cannot both create: the second one's insert of
the key fails on the unique constraint and its whole transaction is rolled back (409).
"""

import datetime as dt
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from cases.models import ApiIdempotencyKey

from .problems import Problem

HEADER = "Idempotency-Key"
KEPT_FOR = dt.timedelta(hours=24)


def _fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a multipart upload: fields, and files by name and size
        fields = sorted(data.lists())
        files = sorted((k, f.name, f.size) for k, f in request.FILES.items())
        payload = {"fields": fields, "files": files}
    else:
        payload = data
    text = json.dumps(
        [request.method, request.path, payload], sort_keys=True, default=str, ensure_ascii=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 200) or not key.isprintable() or not key.isascii():
        raise Problem(
            status_code=400,
            code="invalid_idempotency_key",
            detail=_("An Idempotency-Key is 1 to 200 printable ASCII characters."),
        )
    return key


def idempotent(request, create) -> Response:
    """Answer a POST with ``create()``, or with the stored answer to the same request."""
    key = _key_of(request)
    if key is None:
        return create()
    fingerprint = _fingerprint(request)
    stored = ApiIdempotencyKey.objects.filter(user=request.user, key=key).first()
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise Problem(
                status_code=422,
                code="idempotency_key_reused",
                detail=_("This Idempotency-Key was used for another request."),
            )
        headers = {"Idempotent-Replayed": "true"}
        if stored.location:
            headers["Location"] = stored.location
        return Response(stored.body, status=stored.status_code, headers=headers)
    try:
        with transaction.atomic():
            response = create()
            if 200 <= response.status_code < 300:
                ApiIdempotencyKey.objects.filter(
                    user=request.user, created_at__lt=timezone.now() - KEPT_FOR
                ).delete()
                ApiIdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    body=response.data,
                    location=response.headers.get("Location", ""),
                )
    except IntegrityError:
        raise Problem(
            status_code=409,
            code="idempotency_key_in_use",
            detail=_("A request with this Idempotency-Key is being processed; retry shortly."),
        ) from None
    return response
