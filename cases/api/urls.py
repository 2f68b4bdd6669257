"""/api/: the OpenAPI document, its browsable docs, and version 1 of the API."""

import functools

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import schema, views  # noqa: F401 (schema: the authentication described)

app_name = "api"


@functools.cache
def _spectacular_view(name: str):
    # drf-spectacular's views pull in its schema generator, YAML and Pygments: a second of
    # start-up for every web process (bench/startup.py). Imported when the document or the
    # docs are first asked for instead.
    from drf_spectacular import views as spectacular

    if name == "docs":
        return spectacular.SpectacularSwaggerSplitView.as_view(url_name="api:schema")
    return spectacular.SpectacularAPIView.as_view()


@login_not_required
@csrf_exempt  # as DRF's own views: its authentication checks CSRF for sessions itself
def schema_document(request, *args, **kwargs):
    return _spectacular_view("schema")(request, *args, **kwargs)


@login_not_required
@csrf_exempt
def schema_docs(request, *args, **kwargs):
    return _spectacular_view("docs")(request, *args, **kwargs)


v1 = [
    path("organizations/", views.OrganizationList.as_view(), name="organization-list"),
    path("authorities/", views.AuthorityList.as_view(), name="authority-list"),
    path("cases/", views.CaseList.as_view(), name="case-list"),
    path("cases/<int:pk>/", views.CaseDetail.as_view(), name="case-detail"),
    path("cases/<int:pk>/status/", views.CaseStatusChange.as_view(), name="case-status"),
    path("cases/<int:pk>/timeline/", views.CaseTimeline.as_view(), name="case-timeline"),
    path("cases/<int:pk>/people/", views.CasePeople.as_view(), name="case-people"),
    path("cases/<int:pk>/petitions/", views.CasePetitions.as_view(), name="case-petitions"),
    path("cases/<int:pk>/events/", views.CaseEvents.as_view(), name="case-events"),
    path("cases/<int:pk>/deadlines/", views.CaseDeadlines.as_view(), name="case-deadlines"),
    path("cases/<int:pk>/documents/", views.CaseDocuments.as_view(), name="case-documents"),
    path("cases/<int:pk>/alerts/", views.CaseAlerts.as_view(), name="case-alerts"),
    path("people/<int:pk>/", views.PersonDetail.as_view(), name="person-detail"),
    path("petitions/<int:pk>/", views.PetitionDetail.as_view(), name="petition-detail"),
    path(
        "petitions/<int:pk>/status/",
        views.PetitionStatusChange.as_view(),
        name="petition-status",
    ),
    path("events/<int:pk>/", views.EventDetail.as_view(), name="event-detail"),
    path("deadlines/<int:pk>/", views.DeadlineDetail.as_view(), name="deadline-detail"),
    path(
        "deadlines/<int:pk>/status/",
        views.DeadlineStatusChange.as_view(),
        name="deadline-status",
    ),
    path("documents/<int:pk>/", views.DocumentDetail.as_view(), name="document-detail"),
    path(
        "documents/<int:pk>/download/",
        views.DocumentDownload.as_view(),
        name="document-download",
    ),
]

urlpatterns = [
    # The document and the docs need a signed-in user (session or token), like the API.
    path("schema/", schema_document, name="schema"),
    path("docs/", schema_docs, name="docs"),
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
]
