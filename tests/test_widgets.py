"""templates/django/forms/widgets/select.html (with cases_tags.select_options) writes the
same HTML as Django's own select widget."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.translation import gettext_lazy as _lazy

CHOICES = [
    ("", "---------"),
    ("a", "Plain <b>label</b>"),
    ("Group", [("b", "In a group"), ("c", 'Quote " mark')]),
    (3, "A number"),
    ("x&y", _lazy("Status")),
]


@pytest.mark.parametrize(
    "widget, value",
    [
        (forms.Select(choices=CHOICES), "b"),
        (forms.Select(choices=CHOICES, attrs={"id": "x", "required": True}), 3),
        (forms.Select(choices=CHOICES), None),
        (forms.SelectMultiple(choices=CHOICES), ["a", "c"]),
        (forms.NullBooleanSelect(), True),
    ],
)
def test_select_renders_as_django_does(widget, value):
    ours = widget.render("field", value, renderer=get_default_renderer())
    django = widget.render("field", value, renderer=DjangoTemplates())
    assert ours == django
    assert "<option" in ours


def test_the_project_template_is_the_one_used():
    from django.template.loader import get_template

    template = get_template("django/forms/widgets/select.html")
    assert "templates/django/forms/widgets/select.html" in template.origin.name
