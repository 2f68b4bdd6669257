"""Helpers shared by the views."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import redirect

from cases.forms import apply_service_errors
from cases.models.constraints import constraint_error, constraint_named_in


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
    except IntegrityError as error:
        # A constraint the checks before did not catch (two people at once, say): its
        # sentence on its field, never its name. Anything else is a bug and stays a 500.
        name = constraint_named_in(str(error))
        if name is None:
            raise
        apply_service_errors(form, constraint_error(name))
        return None
    if success:
        messages.success(request, success)
    target = redirect_to(result) if callable(redirect_to) else redirect_to
    return redirect(target)
