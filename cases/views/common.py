"""Helpers shared by the views."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect

from cases.forms import apply_service_errors


def run_service(form, call, *, success: str | None, request, redirect_to):
    """Call a service inside one transaction; on refusal, show why on the form.

    Returns a redirect on success, or None so the view re-renders the form with the input kept.
    """
    try:
        with transaction.atomic():
            result = call()
    except ValidationError as error:
        apply_service_errors(form, error)
        return None
    if success:
        messages.success(request, success)
    target = redirect_to(result) if callable(redirect_to) else redirect_to
    return redirect(target)
