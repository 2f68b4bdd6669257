"""The OpenAPI document validates, every route is typed, and the docs need no CDN."""

import re

import pytest
import yaml
from django.urls import reverse
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, editor):
    client.force_login(editor)
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_openapi_document_validates(schema):
    validate(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {"token", "session"}


def test_every_route_is_versioned_and_typed(schema):
    for path, operations in schema["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            ok = [c for c in operation["responses"] if c.startswith("2")]
            assert ok, where
            for code in ok:
                content = operation["responses"][code].get("content")
                assert content, f"{where} {code} has no typed body"
                for media in content.values():
                    assert media.get("schema"), where
            if method == "post":
                body = operation["requestBody"]["content"]
                assert all(media.get("schema") for media in body.values()), where


def test_the_docs_page_uses_our_own_static_files(client, editor):
    client.force_login(editor)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(not s.startswith(("http://", "https://", "//")) for s in sources)
    assert "<script>" not in page  # no inline script: the CSP (script-src 'self') allows it
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
