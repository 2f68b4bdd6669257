"""The Korean and Ukrainian catalogs: complete, compiled, and in step with the source.

A developer who adds a user-facing string without translating it learns it here, with the
list of strings to translate. To update the catalogs:

    DEBUG=1 .venv/bin/python manage.py makemessages -l ko -l uk --no-location \
        --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=.uv
    (translate the new entries in locale/<lang>/LC_MESSAGES/django.po, then)
    DEBUG=1 .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=.uv
"""

import ast
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ["ko", "uk"]
# What makemessages skips, as in the command above (it also skips dot-directories itself).
IGNORED_DIRS = {".venv", "var", "bench", "tests", ".uv"}
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
UPDATE_HINT = (
    "Run `DEBUG=1 .venv/bin/python manage.py makemessages -l ko -l uk --no-location "
    + " ".join(f"--ignore={name}" for name in sorted(IGNORED_DIRS))
    + "`, translate the new entries, then "
    "`DEBUG=1 .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=.uv`."
)


def po_path(root: Path, lang: str) -> Path:
    return root / "locale" / lang / "LC_MESSAGES" / "django.po"


# --- A small PO reader -----------------------------------------------------------------------
@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None
    msgctxt: str | None
    msgstr: dict[int, str]  # form index → text; a singular entry has form 0 only
    flags: set[str] = field(default_factory=set)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"{context}{self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')


def parse_po(path: Path) -> list[Entry]:
    """Every live entry of a PO file, header first. Obsolete (``#~``) entries are left out."""
    entries: list[Entry] = []
    flags: set[str] = set()
    fields: dict[tuple[str, int | None], str] = {}
    last: tuple[str, int | None] | None = None

    def flush() -> None:
        nonlocal flags, fields, last
        if ("msgid", None) in fields:
            plural = ("msgid_plural", None) in fields
            forms = {(index or 0): text for (kw, index), text in fields.items() if kw == "msgstr"}
            entries.append(
                Entry(
                    msgid=fields[("msgid", None)],
                    msgid_plural=fields.get(("msgid_plural", None)) if plural else None,
                    msgctxt=fields.get(("msgctxt", None)),
                    msgstr=forms,
                    flags=flags,
                )
            )
        flags, fields, last = set(), {}, None

    def has_msgstr() -> bool:
        return any(kw == "msgstr" for kw, _ in fields)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                flush()
            continue
        if line.startswith("#"):
            if has_msgstr():
                flush()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            if keyword in ("msgctxt", "msgid") and has_msgstr():
                flush()
            last = (keyword, int(index) if index is not None else None)
            fields[last] = ast.literal_eval(text)
        elif line.startswith('"') and last is not None:
            fields[last] += ast.literal_eval(line)
        else:
            raise ValueError(f"{path}:{number}: cannot read {raw!r}")
    flush()
    return entries


def nplurals(header: Entry) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", header.msgstr.get(0, ""))
    assert match, "the catalog header has no Plural-Forms"
    return int(match.group(1))


def untranslated(entries: list[Entry]) -> list[Entry]:
    """Entries with an empty msgstr (any plural form) or marked fuzzy."""
    header, *rest = entries
    forms = nplurals(header)
    missing = []
    for entry in rest:
        if entry.msgid_plural is None:
            texts = [entry.msgstr.get(0, "")]
        else:
            texts = [entry.msgstr.get(index, "") for index in range(forms)]
        if entry.fuzzy or not all(texts):
            missing.append(entry)
    return missing


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


# --- The catalogs are complete ---------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    path = po_path(ROOT, lang)
    entries = parse_po(path)
    assert len(entries) > 100, f"{path} looks empty: {len(entries)} entries"
    header = entries[0]
    assert header.msgid == "", f"{path} has no header entry"
    assert not header.fuzzy, f"{path}: the header is still marked fuzzy"
    missing = untranslated(entries)
    assert not missing, (
        f"{len(missing)} entries in {path.relative_to(ROOT)} are empty or fuzzy:\n"
        + "\n".join(f"  {entry.label}" for entry in missing)
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_entries_have_every_form_and_placeholders_match(lang):
    path = po_path(ROOT, lang)
    header, *entries = parse_po(path)
    forms = nplurals(header)
    problems = []
    for entry in entries:
        if entry.msgid_plural is not None and sorted(entry.msgstr) != list(range(forms)):
            problems.append(f"{entry.label}: {len(entry.msgstr)} plural forms, not {forms}")
        # A placeholder the source does not pass is a KeyError at run time; one left out
        # loses information (a plural form may drop the number, as in "tomorrow").
        known = set(_PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        for index, text in entry.msgstr.items():
            used = set(_PLACEHOLDER.findall(text))
            if used - known or (entry.msgid_plural is None and used != known):
                problems.append(f"{entry.label} form {index}: uses {sorted(used)}")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


# --- The compiled catalogs say what the PO files say -----------------------------------------
def read_mo(path: Path) -> dict[tuple[str | None, str], list[str]]:
    """(context, msgid) → translated forms, from a GNU .mo file."""
    data = path.read_bytes()
    order = {0x950412DE: "<", 0xDE120495: ">"}.get(struct.unpack("<I", data[:4])[0])
    assert order, f"{path} is not a .mo file"
    count, originals, translations = struct.unpack(order + "3I", data[8:20])
    catalog = {}
    for i in range(count):
        o_len, o_at = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        t_len, t_at = struct.unpack(
            order + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        original = data[o_at : o_at + o_len].decode("utf-8")
        context, _, msgid = original.rpartition("\x04")
        catalog[(context or None, msgid.split("\x00")[0])] = (
            data[t_at : t_at + t_len].decode("utf-8").split("\x00")
        )
    return catalog


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(lang):
    po = po_path(ROOT, lang)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} is missing. {UPDATE_HINT}"
    compiled = read_mo(mo)
    _header, *entries = parse_po(po)
    stale = []
    for entry in entries:
        if entry.fuzzy:
            continue
        expected = [entry.msgstr[index] for index in sorted(entry.msgstr)]
        if compiled.get((entry.msgctxt, entry.msgid)) != expected:
            stale.append(entry.label)
    assert not stale, (
        f"{mo.relative_to(ROOT)} is older than {po.name}: {len(stale)} entries differ, e.g. "
        + ", ".join(stale[:10])
        + f". {UPDATE_HINT}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_django_serves_the_translations(lang):
    known = ["My work", "Cases", "Sign in", "Log a petition", "by end of %(month)s %(year)s"]
    with translation.override(lang):
        left_in_english = [msgid for msgid in known if gettext(msgid) == msgid]
        days = [ngettext("%(n)d day left", "%(n)d days left", n) % {"n": n} for n in (1, 2, 5)]
    assert not left_in_english, f"{lang}: still English: {left_in_english}"
    assert not any("day" in text for text in days), days


@pytest.mark.parametrize(
    ("lang", "sign_in"), [("ko", "로그인"), ("uk", "Увійти"), ("en", "Sign in")]
)
def test_the_language_selector_switches_the_sign_in_page(client, lang, sign_in):
    login = reverse("login")
    client.post(reverse("cases:set-language"), {"language": lang, "next": login})
    page = client.get(login).content.decode()
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{sign_in}</h1>" in page
    if lang != "en":
        assert "This tracker holds sensitive information" not in page


# --- Every string in the source is in the catalogs -------------------------------------------
def _copy_sources(destination: Path) -> None:
    """The files makemessages reads (and the catalogs), without anything it would skip."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            path = Path(directory, name)
            if path.is_dir():
                if name.startswith(".") or name in IGNORED_DIRS or name == "__pycache__":
                    skipped.add(name)
            elif path.suffix not in SOURCE_SUFFIXES and path.suffix != ".po":
                skipped.add(name)
        return skipped

    shutil.copytree(ROOT, destination, ignore=ignore)


def test_every_source_string_is_in_the_catalogs(tmp_path):
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        missing_service(
            "GNU gettext",
            "install gettext (xgettext, msgmerge) to compare the catalogs to the source",
        )
    copy = tmp_path / "src"
    _copy_sources(copy)
    # Run against the copy: its settings put LOCALE_PATHS (and DATA_DIR) inside it, so the
    # repository's catalogs are never rewritten by the test.
    env = {**os.environ, "DEBUG": "1", "DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "manage.py",
        "makemessages",
        "--no-location",
        *(f"--ignore={name}" for name in sorted(IGNORED_DIRS)),
        *(f"--locale={lang}" for lang in LANGUAGES),
    ]
    # The command is built from constants above, not from input.
    result = subprocess.run(  # noqa: S603
        command, cwd=copy, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    report = []
    for lang in LANGUAGES:
        missing = untranslated(parse_po(po_path(copy, lang)))
        if missing:
            report.append(
                f"{lang}: {len(missing)} strings in the source have no translation in "
                f"locale/{lang}/LC_MESSAGES/django.po:\n"
                + "\n".join(f"  {entry.label}" for entry in missing)
            )
    assert not report, "\n".join(report) + f"\n{UPDATE_HINT}"


def test_a_share_level_and_an_edit_link_are_told_apart():
    """Ukrainian names an access level with a noun and an action with a verb."""
    from django.utils import translation

    from cases.models import CaseShare

    with translation.override("uk"):
        assert str(CaseShare.Level.EDIT.label) == "Редагування"
        assert translation.gettext("Edit") == "Редагувати"
