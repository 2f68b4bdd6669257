"""The case page's parts around the timeline read what the ORM reads, with SQL compiled once
per process (cases/selectors/page_parts.py, timeline.pinned_deadlines), and render the same
HTML as with the ORM's instances and ``{% url %}``.

- Each compiled query returns its queryset's rows, on a case with shares, people, open
  deadlines with assignees (and without), more petitions and documents than the page lists,
  and on a case with none of them; run again, it reads the other case's values.
- The instances made of those rows are the ORM's (``only``, ``select_related``, a prefetch,
  ``counted_page``), field by field.
- The three parts render byte for byte as from the ORM's instances, for every level of
  reader, in every language, with hostile text, without a query inside the templates.
- ``{% id_url %}`` writes what ``{% url %}`` writes, under a URL prefix that needs escaping.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from django.template import engines
from django.template.loader import get_template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from django.utils import translation
from django.utils.html import escape

from cases import services
from cases.access import Level
from cases.models import CASE_TRANSITIONS, CaseShare, DeadlineStatus
from cases.selectors import page_parts, timeline
from cases.selectors.cases import counted_page
from cases.selectors.compiled import compiled, stand_in
from cases.views.cases import PAGE_PARTS
from tests import factories
from tests.test_escaping import hostile_world  # noqa: F401 (a fixture)
from tests.test_timeline_shown import full_case  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 1, 26)


@pytest.fixture
def parts_case(full_case, coordinator, lead_org):  # noqa: F811
    """``full_case`` (people, a read share, a petition, a document, an open and a done
    deadline) with an edit share, assignees out of order, an open deadline by the month and
    one overdue, and more petitions and documents than the page lists."""
    other = factories.OrganizationFactory(name="Second partner", short_name="SP")
    services.case_share(
        case=full_case, organization=other, level="edit", by=coordinator, reason="Partner"
    )
    assignees = [factories.member(lead_org, "editor", username=n) for n in ("zoe", "anna")]
    (open_deadline,) = full_case.deadlines.filter(status=DeadlineStatus.OPEN)
    open_deadline.assignees.add(*assignees, coordinator)
    factories.make_deadline(
        case=full_case, by=coordinator, title="By spring", due_on=dt.date(2026, 4, 30),
        due_precision="month", assignees=[assignees[1]],
    )  # fmt: skip
    factories.make_deadline(
        case=full_case, by=coordinator, title="Late", due_on=dt.date(2026, 1, 2), confirmed=True
    )
    authority = factories.AuthorityFactory(name="Ministry", short_name="")
    for n in range(11):
        factories.make_petition(
            case=full_case, by=coordinator, title=f"Petition {n}", addressed_to=authority,
            filed_on=dt.date(2026, 1, 1) + dt.timedelta(days=n % 4),
        )  # fmt: skip
        services.document_store(
            case=full_case,
            by=coordinator,
            upload=SimpleUploadedFile(f"{n}.txt", b"x" * (n + 1) * 700),
            title=f"Scan {n}",
        )
    return full_case


# The compiled queries, as the selectors compile them: (key, definition).
COMPILED = {
    "case_header": page_parts.case_header_queryset,
    "people_card": page_parts.people_card_queryset,
    "latest_petitions": page_parts.latest_petitions_queryset,
    "latest_documents": page_parts.latest_documents_queryset,
    "pinned_deadlines": timeline.pinned_deadlines_queryset,
}


def test_each_compiled_query_returns_its_querysets_rows(parts_case, lead_org, coordinator):
    empty = factories.make_case(lead_organization=lead_org, by=coordinator)
    for key, definition in COMPILED.items():
        query = compiled(
            (key,), lambda d=definition: d(stand_in(0)), {"case": ("one", stand_in(0))}
        )
        for case in (parts_case, empty, parts_case):  # the values of each run, not the first
            assert query.rows(case=case.pk) == list(definition(case)), (key, case)
        assert len(query.rows(case=parts_case.pk)) > 1, key


def _fields(obj) -> dict:
    """What an instance holds of its own fields (deferred ones left out)."""
    deferred = obj.get_deferred_fields()
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in deferred
    }


def _alike(made: list, orm: list) -> bool:
    """The instances made of the compiled rows hold what the ORM's hold, field by field (the
    fields they hold: a related row only its id and names)."""
    assert len(made) == len(orm)
    for one, other in zip(made, orm, strict=True):
        mine = _fields(one)
        assert mine == {name: _fields(other)[name] for name in mine}, (one, other)
        assert "id" in mine and len(mine) > 1
    return True


def _orm_reads(case, today) -> dict:
    """What the parts show, read through the ORM's instances (the reads compiled now)."""
    users = get_user_model().objects.only("id", "username").order_by("username", "id")
    deadlines = (
        case.deadlines.filter(status=DeadlineStatus.OPEN)
        .prefetch_related(Prefetch("assignees", queryset=users))
        .order_by("due_on", "due_time", "id")
    )
    pinned = [
        timeline.PinnedDeadline(d, d.days_left(today), list(d.assignees.all())) for d in deadlines
    ]
    prefetch_related_objects(
        [case],
        "lead_organization",
        Prefetch(
            "shares", CaseShare.objects.select_related("organization").order_by("organization")
        ),
    )
    return {
        "shares": list(case.shares.all()),
        "pinned": pinned,
        "next_deadline": pinned[0] if pinned else None,
        "prisoners": list(case.prisoners.only(*page_parts.PEOPLE_CARD_FIELDS)),
        "petitions": counted_page(
            case.petitions.select_related("addressed_to").order_by("-filed_on", "-id"),
            1,
            per_page=page_parts.LATEST_ON_CASE_PAGE,
        ),
        "documents": counted_page(
            case.documents.order_by("-created_at", "-id"),
            1,
            per_page=page_parts.LATEST_ON_CASE_PAGE,
        ),
    }


def _compiled_reads(case, today) -> dict:
    pinned = timeline.pinned_deadlines(case, today=today)
    return {
        "shares": page_parts.case_header(case),
        "pinned": pinned,
        "next_deadline": pinned[0] if pinned else None,
        "prisoners": page_parts.people_card(case),
        "petitions": page_parts.latest_petitions(case),
        "documents": page_parts.latest_documents(case),
    }


def _fresh(case):
    return type(case).objects.get(pk=case.pk)


def test_the_instances_are_the_orms(parts_case, django_assert_num_queries):
    orm_case, case = _fresh(parts_case), _fresh(parts_case)
    orm = _orm_reads(orm_case, TODAY)
    with django_assert_num_queries(5):
        fast = _compiled_reads(case, TODAY)
        assert case.lead_organization.name == orm_case.lead_organization.name
    assert _alike(fast["shares"], orm["shares"]) and len(fast["shares"]) == 2
    assert _alike([s.organization for s in fast["shares"]], [s.organization for s in orm["shares"]])
    for got, expected in zip(fast["pinned"], orm["pinned"], strict=True):
        assert not got.deadline.get_deferred_fields()  # every field, as before
        assert _alike([got.deadline], [expected.deadline])
        assert got.days_left == expected.days_left
        assert _alike(got.assignees, expected.assignees)
    assert [(p.deadline.title, len(p.assignees)) for p in fast["pinned"]] == [
        ("Late", 0),
        ("By spring", 1),
        ("Open window", 3),
    ]
    assert _alike(fast["prisoners"], orm["prisoners"])
    assert [p.get_deferred_fields() for p in fast["prisoners"]] == [
        p.get_deferred_fields() for p in orm["prisoners"]
    ]
    for name in ("petitions", "documents"):
        got, expected = fast[name], orm[name]
        assert _alike(got.object_list, list(expected))
        assert not any(o.get_deferred_fields() for o in got.object_list)
        assert (got.paginator.count, got.has_next()) == (expected.paginator.count, True)
    assert _alike(
        [p.addressed_to for p in fast["petitions"]], [p.addressed_to for p in orm["petitions"]]
    )


def _render_parts(context: dict) -> dict[str, str]:
    return {
        name: get_template(template).render(context) for name, (template, _) in PAGE_PARTS.items()
    }


def _contexts(case):
    for level in (Level.READ, Level.EDIT, Level.MANAGE):
        yield {
            "case": case,
            "level": level,
            "can_edit": level >= Level.EDIT,
            "can_manage": level >= Level.MANAGE,
            "status_choices": services.allowed_next(case, CASE_TRANSITIONS),
            "today": TODAY,
        }


@pytest.mark.parametrize("which", ["parts_case", "hostile_world"])
def test_the_parts_render_as_from_the_orms_instances(which, request):
    found = request.getfixturevalue(which)
    case = found["case"] if which == "hostile_world" else found
    orm_case, fast_case = _fresh(case), _fresh(case)
    orm = _orm_reads(orm_case, TODAY)
    fast = _compiled_reads(fast_case, TODAY)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for orm_context, fast_context in zip(
                _contexts(orm_case), _contexts(fast_case), strict=True
            ):
                expected = _render_parts({**orm_context, **orm})
                with CaptureQueriesContext(connection) as ctx:
                    got = _render_parts({**fast_context, **fast})
                assert ctx.captured_queries == []  # everything shown was read before
                assert got == expected, (language, fast_context["level"])
    assert (
        reverse("cases:deadline-edit", args=[orm["pinned"][0].deadline.pk]) in got["deadlines_html"]
    )


def _with_url_tags(template_name: str):
    """The template with ``{% url %}`` where it says ``{% id_url %}``."""
    source = get_template(template_name).template.source
    assert "{% id_url " in source
    return engines["django"].from_string(source.replace("{% id_url ", "{% url "))


def test_id_url_writes_what_url_writes(parts_case, lead_org, coordinator):
    empty = factories.make_case(lead_organization=lead_org, by=coordinator)
    rendered = {}
    for prefix in ("/", "/ngo & co's <tracker>/"):
        set_script_prefix(prefix)
        try:
            for case in (parts_case, empty):
                case = _fresh(case)
                reads = _compiled_reads(case, TODAY)
                for context in _contexts(case):
                    context.update(reads)
                    for name, (template_name, _) in PAGE_PARTS.items():
                        expected = _with_url_tags(template_name).render(context)
                        got = get_template(template_name).render(context)
                        assert got == expected, (prefix, name, context["level"])
                        rendered[name] = got
                export = reverse("cases:case-export", args=[case.pk])
                assert export.startswith(prefix.replace(" ", "%20").replace("<", "%3C")[:8])
                assert f'href="{escape(export)}"' in rendered["top_html"]
        finally:
            set_script_prefix("/")
