"""A timeline entry written in Python (cases/views/timeline_entry.py) is the template's
text, byte for byte: every kind of entry, for editors and readers, in every language and in
another time zone, with hostile text, and with the edge values the template prints as
nothing."""

import dataclasses
import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.loader import get_template
from django.utils import timezone, translation

from cases.models import Case
from cases.selectors.timeline import (
    DeadlineShown,
    DevelopmentShown,
    DocumentShown,
    EntryShown,
    EventShown,
    Named,
    PetitionShown,
    RequestShown,
    case_timeline_shown,
)
from cases.views.timeline_entry import entry_html
from tests.test_escaping import hostile_world  # noqa: F401 (a fixture)
from tests.test_timeline_shown import full_case  # noqa: F401 (a fixture)

TEMPLATE = "cases/partials/timeline_entry.html"


def _all_entries(case) -> list[EntryShown]:
    """Every entry of the case, the open deadlines too (shown when asked for by kind)."""
    entries = case_timeline_shown(case, page_size=10_000).entries
    return entries + case_timeline_shown(case, page_size=10_000, kinds=["deadline"]).entries


def _assert_same(entries) -> None:
    template = get_template(TEMPLATE)
    for language, _name in settings.LANGUAGES:
        for zone in ("UTC", "Asia/Seoul"):
            with translation.override(language), timezone.override(zone):
                for entry in entries:
                    for can_edit in (True, False):
                        expected = template.render({"entry": entry, "can_edit": can_edit})
                        assert entry_html(entry, can_edit=can_edit) == expected, (language, entry)


@pytest.mark.django_db
def test_the_reference_scenario_renders_as_the_template_does():
    call_command("load_demo", stdout=io.StringIO())
    entries = [e for case in Case.objects.all() for e in _all_entries(case)]
    assert {e.kind for e in entries} >= {"event", "petition", "status", "deadline"}
    _assert_same(entries)


@pytest.mark.django_db
def test_every_kind_renders_as_the_template_does(full_case):  # noqa: F811
    _assert_same(_all_entries(full_case))


@pytest.mark.django_db
def test_hostile_text_is_escaped_as_the_template_does(hostile_world):  # noqa: F811
    entries = _all_entries(hostile_world["case"])
    html = "".join(entry_html(e, can_edit=True) for e in entries)
    assert "<script>" not in html and "&lt;script&gt;" in html
    _assert_same(entries)


def _variants() -> list[EntryShown]:
    """Records no fixture makes: every optional part present or missing, lists of one and
    of several, links in sources, developments, a missing event or deadline."""
    court, ngo = Named("District <court>", "DC"), Named("Helpers & Co", "")
    event = EventShown(
        id=7, kind_label="Visit", title="Title <b>", description="Body\nline", source="",
        occurred_at_time=None, people=(), authorities=(), organizations=(),
    )  # fmt: skip
    base = EntryShown(
        pk=1, kind="event", kind_label="Event", subject="case", happened_on=dt.date(2025, 3, 1),
        precision="day", prisoner_id=None, prisoner_code="", event=event, petition=None,
        deadline=None, document=None, development=None, field_label="", old_label="",
        new_label="", reason="", recorded_when=None, recorded_by="",
    )  # fmt: skip
    recorded = dt.datetime(2025, 3, 2, 9, 5, tzinfo=dt.UTC)
    events = [
        dataclasses.replace(event, **changes)
        for changes in (
            {},
            {"description": "", "source": "see https://example.org/a?b=1&c=<2>"},
            {"occurred_at_time": dt.time(14, 30), "people": ("POW-1",)},
            {"people": ("POW-1", "POW-2"), "authorities": (court,), "organizations": (ngo,)},
            {"authorities": (court, ngo)},
            {"organizations": (ngo, court)},
            {"people": ("A",), "organizations": (ngo,)},
            {"authorities": (court,), "organizations": (ngo, ngo)},
        )
    ]
    petition = PetitionShown(
        id=3, title="Petition <x>", filed_on=None, addressed_to=None, filed_by=(), requests=()
    )
    petitions = [
        petition,
        dataclasses.replace(
            petition,
            filed_on=dt.date(2025, 1, 1),
            addressed_to=court,
            filed_by=(ngo, court),
            requests=(
                RequestShown("Lawyer", "pending", "Pending"),
                RequestShown("ICRC", "granted", "Granted"),
            ),
        ),
        dataclasses.replace(petition, addressed_to=ngo, filed_by=(ngo,)),
    ]
    deadline = DeadlineShown("Reply <due>", "done", "Done", "Legal", "by 3 April 2025")
    development = DevelopmentShown(
        id=9, kind_label="Law", title="New law", description="", source="", authorities=()
    )
    variants = [dataclasses.replace(base, event=e) for e in events]
    variants += [
        dataclasses.replace(base, event=None),
        dataclasses.replace(base, recorded_when=recorded),
        dataclasses.replace(base, recorded_when=recorded, recorded_by="ed<itor>"),
        dataclasses.replace(base, kind="case_opened", event=None, recorded_when=recorded),
        dataclasses.replace(base, kind="other", event=None),
    ]
    variants += [
        dataclasses.replace(base, kind="petition", event=None, petition=p, recorded_when=recorded)
        for p in petitions
    ]
    for kind in ("status", "change"):
        for subject, extra in (
            ("case", {}),
            ("petition", {"petition": petition}),
            ("prisoner", {"prisoner_id": 4, "prisoner_code": "POW<4>"}),
            ("deadline", {"deadline": deadline}),
            ("deadline", {}),
            ("other", {}),
        ):
            variants.append(
                dataclasses.replace(
                    base, kind=kind, subject=subject, event=None, field_label="Status",
                    old_label="", new_label="Closed <now>", reason="Because & so", **extra,
                )
            )  # fmt: skip
        variants.append(
            dataclasses.replace(base, kind=kind, event=None, old_label="Open", reason="")
        )
    variants += [
        dataclasses.replace(
            base, kind="deadline", event=None, deadline=deadline, precision="month"
        ),
        dataclasses.replace(base, kind="deadline", event=None),
        dataclasses.replace(
            base, kind="document", event=None,
            document=DocumentShown(id=5, title="Scan <1>", dated_on=None, sha256="ab" * 32),
        ),
        dataclasses.replace(
            base, kind="document", event=None,
            document=DocumentShown(id=5, title="Scan", dated_on=dt.date(2025, 1, 2), sha256=""),
        ),
    ]  # fmt: skip
    for changes in (
        {},
        {"description": "What <changed>", "authorities": (court,)},
        {"authorities": (court, ngo), "source": "https://example.org/law"},
    ):
        variants.append(
            dataclasses.replace(
                base,
                kind="development",
                event=None,
                development=dataclasses.replace(development, **changes),
                recorded_when=recorded,
            )
        )
    return variants


def test_every_variant_renders_as_the_template_does():
    _assert_same(_variants())
