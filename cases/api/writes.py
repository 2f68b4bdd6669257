"""Writes through the API are the web forms' writes: the JSON is checked for its shape by the
serializer, then bound to the same Django form the web page uses (its choices limited to the
case, its cross-field rules), then handed to the same service, in one transaction. No rule is
written twice, and a refusal at any step leaves nothing behind."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .problems import Problem, django_errors, pointer_errors


def _form_value(value):
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_form_value(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return value


def bind_form(form_class, payload: dict, *, files=None, renames=None, **kwargs) -> forms.Form:
    """The form bound to the API's input: each field the client left out keeps the value the
    web form would start with. Raises a 400 problem with the form's own messages."""
    renames = renames or {}
    blank = form_class(**kwargs)
    data = {name: blank.get_initial_for_field(field, name) for name, field in blank.fields.items()}
    for key, value in payload.items():
        data[renames.get(key, key)] = value
    data = {name: _form_value(value) for name, value in data.items()}
    form = form_class(data=data, files=files, **kwargs)
    if not form.is_valid():
        back = {v: k for k, v in renames.items()}
        errors = {back.get(name, name): list(messages) for name, messages in form.errors.items()}
        raise Problem(
            status_code=400,
            code="invalid",
            detail=_("The request was refused; see errors."),
            errors=pointer_errors(errors),
        )
    return form


def checked(serializer_class, data, **context):
    """The serializer's validated data, or a 400 problem naming each field."""
    if not isinstance(data, dict):
        raise Problem(
            status_code=400,
            code="invalid",
            detail=_("Send a JSON object."),
        )
    serializer = serializer_class(data=data, context=context)
    if not serializer.is_valid():
        raise Problem(
            status_code=400,
            code="invalid",
            detail=_("The request was refused; see errors."),
            errors=pointer_errors(serializer.errors),
        )
    return serializer.validated_data


def run(call):
    """The service call in one transaction; its refusal as a 400 problem with field paths."""
    try:
        with transaction.atomic():
            return call()
    except ValidationError as error:
        raise Problem(
            status_code=400,
            code="invalid",
            detail=_("The request was refused; see errors."),
            errors=django_errors(error),
        ) from None
