"""Every form, fed arbitrary data: never a server error, and a refused form saves nothing."""

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services
from tests import factories

SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUES = st.one_of(
    SAFE_TEXT,
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1",
            "2",
            "2026-01-03",
            "2026-13-45",
            "03/01/2026",
            "10:30",
            "25:99",
            "open",
            "filed",
            "acknowledged",
            "closed",
            "done",
            "day",
            "month",
            "year",
            "visit",
            "follow_up_visit",
            "exchange_window",
            "non_refoulement",
            "other",
            "Europe/Kyiv",
            "Mars/Base",
            "3, 1, 0",
            "-5, x",
            "ko",
            "uk",
            "digest",
            "<script>alert(1)</script>",
            "x" * 3000,
            "99999999999999999999",
            "\x00",
        ]
    ),
    st.integers(min_value=-5, max_value=10**6).map(str),
)
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def all_rows() -> int:
    """Rows in every table of the domain (history included), in one query."""
    tables = [
        connection.ops.quote_name(model._meta.db_table)
        for model in apps.get_app_config("cases").get_models()
        # A reader's preferences and list of sessions are about the request, not the form.
        if model.__name__ not in {"UserProfile", "UserSession", "CaseViewSession"}
    ]
    counts = " + ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return cursor.fetchone()[0]


@pytest.fixture
def world(case, coordinator, partner_org):
    petition = factories.make_petition(case=case, by=coordinator)
    deadline = factories.make_deadline(case=case, by=coordinator, petition=petition)
    event = services.event_log(
        case=case, by=coordinator, kind="visit", title="Visit", occurred_on=petition.filed_on
    )
    prisoner = factories.PrisonerFactory(owner=case.lead_organization)
    services.case_add_prisoner(case=case, prisoner=prisoner, by=coordinator)
    return {
        "case-create": reverse("cases:case-create"),
        "case-edit": reverse("cases:case-edit", args=[case.pk]),
        "case-status": reverse("cases:case-status", args=[case.pk]),
        "case-share": reverse("cases:case-share", args=[case.pk]),
        "petition-create": reverse("cases:petition-create", args=[case.pk]),
        "petition-edit": reverse("cases:petition-edit", args=[petition.pk]),
        "petition-status": reverse("cases:petition-status", args=[petition.pk]),
        "event-create": reverse("cases:event-create", args=[case.pk]),
        "event-edit": reverse("cases:event-edit", args=[event.pk]),
        "deadline-create": reverse("cases:deadline-create", args=[case.pk]),
        "deadline-edit": reverse("cases:deadline-edit", args=[deadline.pk]),
        "deadline-status": reverse("cases:deadline-status", args=[deadline.pk]),
        "prisoner-create": reverse("cases:prisoner-create", args=[case.pk]),
        "prisoner-edit": reverse("cases:prisoner-edit", args=[prisoner.pk]),
        "document-upload": reverse("cases:document-upload", args=[case.pk]),
        "settings": reverse("cases:settings"),
    }


def field_names(client, url) -> list[str]:
    context = client.get(url).context
    names = list(context["form"].fields)
    formset = context.get("formset")
    if formset is not None:
        names += [f"{formset.prefix}-{n}" for n in ("TOTAL_FORMS", "INITIAL_FORMS")]
        names += [f"{formset.prefix}-0-{n}" for n in ("kind", "text", "outcome", "DELETE", "id")]
    return names


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        "case-create",
        "case-edit",
        "case-status",
        "case-share",
        "petition-create",
        "petition-edit",
        "petition-status",
        "event-create",
        "event-edit",
        "deadline-create",
        "deadline-edit",
        "deadline-status",
        "prisoner-create",
        "prisoner-edit",
        "document-upload",
        "settings",
    ],
)
def test_arbitrary_form_data_never_breaks_anything(client, coordinator, world, endpoint):
    client.force_login(coordinator)
    url = world[endpoint]
    names = field_names(client, url)
    extra = ["quick"] if endpoint == "event-create" else []

    @EXAMPLES
    @given(data=st.data())
    def check(data):
        post = {}
        for name in names + extra:
            if data.draw(st.booleans()):
                post[name] = data.draw(VALUES, label=name)
        before = all_rows()
        response = client.post(url, post)
        assert response.status_code in (200, 302), (response.status_code, post)
        if response.status_code == 200:
            assert all_rows() == before, post

    check()
