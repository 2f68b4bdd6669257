"""The page frame's header is kept per reader, language and section (cases/rendering.py):
what it shows is each reader's own, on every page, as if rendered afresh.

- one reader's kept header (name, Team and Admin links) never shows for another;
- the CSRF token in its forms is the reader's own, never the placeholder;
- the language form comes back to the page it was sent from, address escaped;
- the menu marks the page's own section, and follows the reader's language.
"""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from cases.rendering import csrf_placeholder, placeholder
from tests import factories

pytestmark = pytest.mark.django_db


def _header(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index('<header class="topbar">') : page.index("</header>")]


def test_each_reader_sees_their_own_header(client, lead_org, coordinator, editor, staff):
    other_editor = factories.member(lead_org, "editor", username="second-editor")
    url = reverse("cases:case-list")
    seen = {}
    for user in (editor, other_editor, coordinator, staff, editor):
        client.force_login(user)
        seen[user.username] = _header(client, url)
        assert (
            f'class="username" href="{reverse("cases:settings")}">{user.username}<'
            in (seen[user.username])
        )
    assert reverse("cases:team-index") in seen["coordinator"]
    assert reverse("cases:team-index") not in seen["editor"]
    assert reverse("admin:index") in seen["staff"]
    assert reverse("admin:index") not in seen["editor"]
    assert reverse("admin:index") not in seen["coordinator"]


def test_the_forms_carry_the_readers_own_token_and_page(client, editor):
    client.force_login(editor)
    for url in (reverse("cases:case-list") + "?q=%3Cb%3E&sort=title", reverse("cases:home")):
        header = _header(client, url)
        assert csrf_placeholder() not in header and placeholder("next") not in header
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', header)
        assert len(tokens) == 2 and all(len(t) == 64 for t in tokens)
        (back,) = re.findall(r'name="next" value="([^"]*)"', header)
        assert back == url.replace("&", "&amp;")
    # The token works: the language form, sent from the kept header, is accepted.
    client_with_checks = client.__class__(enforce_csrf_checks=True)
    client_with_checks.force_login(editor)
    header = _header(client_with_checks, reverse("cases:home"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', header).group(1)
    response = client_with_checks.post(
        reverse("cases:set-language"),
        {"language": "uk", "next": reverse("cases:home"), "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_the_menu_marks_the_section_in_the_readers_language(client, editor):
    client.force_login(editor)
    current = re.compile(r'<a href="([^"]+)" aria-current="page">')
    assert current.findall(_header(client, reverse("cases:case-list"))) == [
        reverse("cases:case-list")
    ]
    assert current.findall(_header(client, reverse("cases:home"))) == [reverse("cases:home")]
    assert current.findall(_header(client, reverse("cases:organization-list"))) == [
        reverse("cases:organization-list")
    ]
    assert current.findall(_header(client, reverse("cases:settings"))) == []
    english = _header(client, reverse("cases:home"))
    with translation.override("uk"):
        ukrainian_word = translation.gettext("Sign out")
    assert ukrainian_word != "Sign out"
    client.post(reverse("cases:set-language"), {"language": "uk", "next": "/"})
    ukrainian = _header(client, reverse("cases:home"))
    assert "Sign out" in english and ukrainian_word in ukrainian
    assert "Sign out" not in ukrainian
