"""The API's endpoints (``/api/v1/``): thin interfaces over cases/access.py (every access
decision), cases/selectors (reads) and cases/services (writes), as the web views are."""

import base64
import datetime as dt
import hashlib
import json

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers as drf
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import access, services
from cases.access import Level
from cases.forms import (
    CaseSearchForm,
    DeadlineForm,
    DocumentForm,
    EventForm,
    PetitionForm,
    PetitionRequestForm,
    PetitionStatusForm,
    StatusForm,
    directory_choices,
)
from cases.models import (
    CASE_TRANSITIONS,
    DEADLINE_TRANSITIONS,
    PETITION_TRANSITIONS,
    AccessLog,
    Authority,
    CaseShare,
    Deadline,
    Document,
    Event,
    Organization,
    Petition,
    PetitionRequest,
    TimelineEntry,
)
from cases.selectors import alerts as alert_selectors
from cases.selectors import timeline as timeline_selectors
from cases.selectors.cases import case_list, cases_as_listed, counted_page
from cases.views.deadlines import _fields as deadline_fields
from cases.views.documents import document_fields, document_file_response
from cases.views.events import event_fields
from cases.views.petitions import _petition_fields

from . import serializers as s
from .history import via_api
from .idempotency import idempotent
from .problems import Problem
from .writes import bind_form, checked, run

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DIRECTORY_CACHE_SECONDS = ROW_CACHE_SECONDS = 24 * 60 * 60


class ApiView(APIView):
    """Every API view: its own authentication (token or verified session, never the web's
    sign-in redirect), and its history rows marked "via API"."""

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def dispatch(self, request, *args, **kwargs):
        with via_api():
            return super().dispatch(request, *args, **kwargs)


def _invalid(detail: str, pointer: str | None = None) -> Problem:
    errors = [{"detail": detail, **({"pointer": pointer} if pointer else {})}]
    return Problem(status_code=400, code="invalid", detail=detail, errors=errors)


def _page_size(request) -> int:
    raw = request.query_params.get("page_size", "")
    if not raw:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise _invalid(_("page_size is a number from 1 to 200."), "page_size")
    return int(raw)


def _page_number(request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100000:
        raise _invalid(_("page is a number from 1."), "page")
    return int(raw)


def _page_links(request, number: int, has_next: bool) -> tuple[str | None, str | None]:
    def link(n):
        query = request.query_params.copy()
        query["page"] = str(n)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return (link(number + 1) if has_next else None, link(number - 1) if number > 1 else None)


def _paged(request, queryset, serializer_class, **context) -> Response:
    page = Paginator(queryset, _page_size(request)).get_page(_page_number(request))
    next_url, previous_url = _page_links(request, page.number, page.has_next())
    return Response(
        {
            "count": page.paginator.count,
            "page": page.number,
            "next": next_url,
            "previous": previous_url,
            "results": serializer_class(page.object_list, many=True, context=context).data,
        }
    )


_PAGES: dict = {}


def page_of(item):
    """The typed page of ``item`` rows, for the schema."""
    name = item.__name__.replace("Serializer", "") + "Page"
    if name not in _PAGES:
        _PAGES[name] = inline_serializer(
            name=name,
            fields={
                "count": drf.IntegerField(),
                "page": drf.IntegerField(),
                "next": drf.URLField(allow_null=True),
                "previous": drf.URLField(allow_null=True),
                "results": item(many=True),
            },
        )
    return _PAGES[name]


PAGE_PARAMS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Rows per page (1-200, default 50)."),
]


def _created(data, url_name: str, pk: int) -> Response:
    return Response(data, status=201, headers={"Location": reverse(url_name, args=[pk])})


def _etag(*parts) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def _not_modified(request, etag: str) -> Response | None:
    wanted = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if etag in tags or "*" in tags:
        return Response(status=304, headers={"ETag": etag})
    return None


# --- Directory ---------------------------------------------------------------------------------
class OrganizationList(ApiView):
    """The installation's organizations (the shared directory every signed-in user sees)."""

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.OrganizationSerializer))
    def get(self, request):
        access.require_signed_in(request.user)
        rows = Organization.objects.order_by("name", "id")
        return _paged(request, rows, s.OrganizationSerializer)


class AuthorityList(ApiView):
    """The installation's authorities (the shared directory every signed-in user sees)."""

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.AuthoritySerializer))
    def get(self, request):
        access.require_signed_in(request.user)
        rows = Authority.objects.order_by("name", "id")
        return _paged(request, rows, s.AuthoritySerializer)


# --- Cases -------------------------------------------------------------------------------------
CASE_LIST_PARAMS = [
    OpenApiParameter("q", str, description="Search words, as the case list's search box."),
    OpenApiParameter("status", str),
    OpenApiParameter("priority", str),
    OpenApiParameter("organization", int, description="Led by or shared with."),
    OpenApiParameter("authority", int, description="Petitioned or met."),
    OpenApiParameter("risk_level", str, description="Of a person on the case."),
    OpenApiParameter("overdue", bool, description="Only cases with an overdue deadline."),
    OpenApiParameter("sort", str, description="-opened_on (default), opened_on, reference, ..."),
    OpenApiParameter("page", int, description="Page number, from 1 (50 cases a page)."),
]


class CaseList(ApiView):
    """Cases you may see, with the web list's search and filters."""

    @extend_schema(parameters=CASE_LIST_PARAMS, responses=s.CaseListPageSerializer)
    def get(self, request):
        version = timeline_selectors.everywhere_version()
        directory = cache.get_or_set(
            f"directory:{version}", directory_choices, DIRECTORY_CACHE_SECONDS
        )
        form = CaseSearchForm(request.query_params, directory=directory)
        if not form.is_valid():
            raise Problem(
                status_code=400,
                code="invalid",
                detail=_("The request was refused; see errors."),
                errors=[
                    {"detail": str(m), "pointer": name}
                    for name, messages in form.errors.items()
                    for m in messages
                ],
            )
        filters = form.filters()
        cases = case_list(request.user, filters, today=timezone.localdate())
        page = counted_page(
            cases.select_related(None).prefetch_related(None).only("pk"),
            _page_number(request),
            per_page=PAGE_SIZE,
            window=bool(filters.q.strip()),
        )
        next_url, previous_url = _page_links(request, page.number, page.has_next())
        return Response(
            {
                "count": page.paginator.count,
                "page": page.number,
                "next": next_url,
                "previous": previous_url,
                "results": _case_rows([case.pk for case in page]),
            }
        )


def _case_rows(ids: list[int]) -> list[dict]:
    """The list's rows for these cases, in order: each serialized once per version of its
    case and then taken from the cache, as the web list's rows are (cases/views/cases.py).

    A row shows the same to everyone who may see the case (access was checked by the query
    that found ``ids``); the version changes with anything the row shows.
    """
    versions = timeline_selectors.timeline_versions(ids)
    keys = {pk: f"api-case-row:{pk}:{versions[pk]}" for pk in ids}
    cached = cache.get_many(keys.values())
    missing = [pk for pk in ids if keys[pk] not in cached]
    if missing:
        fresh = {
            keys[case.pk]: dict(s.CaseListItemSerializer(case).data)
            for case in cases_as_listed(missing)
        }
        cache.set_many(fresh, ROW_CACHE_SECONDS)
        cached.update(fresh)
    return [cached[keys[pk]] for pk in ids if keys[pk] in cached]


class CaseDetail(ApiView):
    """One case. Each read is on the case's access log, as a view of the case page is.
    Answers 304 to ``If-None-Match`` with the ETag of an unchanged case."""

    @extend_schema(responses={200: s.CaseSerializer, 304: None})
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        prefetch_related_objects(
            [case], Prefetch("shares", CaseShare.objects.select_related("organization"))
        )
        level = access.case_level(request.user, case)
        services.access_log_record(
            user=request.user, action=AccessLog.Action.VIEW_CASE, case=case, target=case.reference
        )
        etag = _etag("case", case.pk, timeline_selectors.timeline_version(case), level)
        if (unchanged := _not_modified(request, etag)) is not None:
            return unchanged
        next_statuses = (
            [value for value, _label in services.allowed_next(case, CASE_TRANSITIONS)]
            if level >= Level.MANAGE
            else []
        )
        prefetch_related_objects([case], "prisoners")
        data = s.CaseSerializer(case, context={"level": level, "next_statuses": next_statuses}).data
        return Response(data, headers={"ETag": etag})


class CaseStatusChange(ApiView):
    """Move the case to another status, with the reason on record (the lead's coordinators)."""

    @extend_schema(request=s.StatusInput, responses={200: s.CaseSerializer})
    def post(self, request, pk):
        case = access.get_case_for(request.user, pk, level=Level.MANAGE)
        return idempotent(request, lambda: self._change(request, case))

    def _change(self, request, case):
        payload = checked(s.StatusInput, request.data)
        choices = services.allowed_next(case, CASE_TRANSITIONS)
        form = bind_form(StatusForm, payload, choices=choices)
        data = form.cleaned_data
        case = run(
            lambda: services.case_change_status(
                case=case, to=data["to"], by=request.user, reason=data["reason"], **form.happened()
            )
        )
        level = access.case_level(request.user, case)
        nexts = [v for v, _label in services.allowed_next(case, CASE_TRANSITIONS)]
        return Response(
            s.CaseSerializer(case, context={"level": level, "next_statuses": nexts}).data
        )


# --- The timeline ------------------------------------------------------------------------------
def _encode_cursor(entry: TimelineEntry) -> str:
    key = [
        entry.happened_on.isoformat(),
        entry.happened_at.isoformat() if entry.happened_at else None,
        entry.pk,
    ]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> timeline_selectors.TimelineCursor:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        day, at, pk = json.loads(text)
        at = dt.datetime.fromisoformat(at) if at is not None else None
        if at is not None and timezone.is_naive(at):
            raise ValueError
        if not isinstance(pk, int) or not 0 < pk < 2**63:
            raise ValueError
        return dt.date.fromisoformat(day), at, pk
    except (ValueError, TypeError, UnicodeDecodeError):
        raise _invalid(_("The cursor is not one this API gave."), "cursor") from None


class CaseTimeline(ApiView):
    """The case's story, newest first, a page at a time: follow ``next`` (a cursor, stable
    while entries are added). ETag and ``If-None-Match`` for polling tools."""

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, description="From the previous page's next link."),
            OpenApiParameter(
                "kind", str, many=True, enum=TimelineEntry.Kind.values, description="Only these."
            ),
            OpenApiParameter("order", str, enum=["newest", "oldest"]),
            OpenApiParameter("page_size", int, description="1-200, default 50."),
        ],
        responses={200: s.TimelinePageSerializer, 304: None},
    )
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        params = request.query_params
        kinds = params.getlist("kind")
        unknown = [k for k in kinds if k not in TimelineEntry.Kind.values]
        if unknown:
            raise _invalid(_("Unknown kind: %(kinds)s.") % {"kinds": ", ".join(unknown)}, "kind")
        order = params.get("order", "newest")
        if order not in ("newest", "oldest"):
            raise _invalid(_("order is newest or oldest."), "order")
        cursor = _decode_cursor(params["cursor"]) if params.get("cursor") else None
        page_size = _page_size(request)
        version = timeline_selectors.timeline_version(case)
        etag = _etag("timeline", case.pk, version, sorted(kinds), order, cursor, page_size)
        if (unchanged := _not_modified(request, etag)) is not None:
            return unchanged
        page = timeline_selectors.case_timeline_after(
            case,
            cursor=cursor,
            kinds=kinds or None,
            newest_first=order == "newest",
            page_size=page_size,
        )
        next_url = None
        if page.has_more and page.entries:
            query = params.copy()
            query["cursor"] = _encode_cursor(page.entries[-1])
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        data = {
            "next": next_url,
            "results": s.TimelineEntrySerializer(page.entries, many=True).data,
        }
        return Response(data, headers={"ETag": etag})


# --- People of concern -------------------------------------------------------------------------
class CasePeople(ApiView):
    """The people of concern on a case, by code."""

    @extend_schema(responses=s.PersonRefSerializer(many=True))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        people = case.prisoners.order_by("code", "id")
        return Response(s.PersonRefSerializer(people, many=True).data)


class CaseAlerts(ApiView):
    """The case's open urgent alerts with their checklists (the red banner of the case page).
    Ticking and closing are done on the case page."""

    @extend_schema(responses=s.AlertSerializer(many=True))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        return Response(s.AlertSerializer(alert_selectors.open_alerts(case), many=True).data)


class PersonDetail(ApiView):
    """A person of concern, known by code. Their identity (legal name, notes, health notes, a
    need-to-know place of detention) only with ``?identity=1``, only for those who may see
    it, and each such read is on the owner's access log."""

    @extend_schema(
        parameters=[OpenApiParameter("identity", bool, description="Reveal the identity.")],
        responses=s.PersonSerializer,
    )
    def get(self, request, pk):
        prisoner = access.get_prisoner_for(request.user, pk)
        reveal = request.query_params.get("identity") in ("1", "true")
        if reveal:
            if not access.may_see_identity(request.user, prisoner):
                raise Problem(
                    status_code=403,
                    code="permission_denied",
                    detail=_("Only those with identity access may see who this is."),
                )
            services.access_log_record(
                user=request.user,
                action=AccessLog.Action.REVEAL_IDENTITY,
                case=None,
                prisoner=prisoner,
                target=prisoner.code,
            )
        return Response(s.PersonSerializer(prisoner, context={"reveal": reveal}).data)


# --- Petitions ---------------------------------------------------------------------------------
def _petitions():
    return Petition.objects.prefetch_related(
        "filed_by", "copied_to", Prefetch("requests", PetitionRequest.objects.order_by("position"))
    )


class CasePetitions(ApiView):
    """The case's petitions with what they ask; POST files a new one (editors)."""

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.PetitionSerializer))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        rows = _petitions().filter(case=case).order_by("-filed_on", "-id")
        return _paged(request, rows, s.PetitionSerializer)

    @extend_schema(
        request=s.PetitionInput,
        responses={201: s.PetitionSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request, pk):
        case = access.get_case_for(request.user, pk, level=Level.EDIT)

        def create():
            payload = dict(checked(s.PetitionInput, request.data))
            requests = payload.pop("requests", [])
            form = bind_form(PetitionForm, payload, case=case)
            specs = []
            for index, item in enumerate(requests):
                item_form = PetitionRequestForm(data={"outcome": "pending", **item})
                if not item_form.is_valid():
                    raise Problem(
                        status_code=400,
                        code="invalid",
                        detail=_("The request was refused; see errors."),
                        errors=[
                            {"detail": str(m), "pointer": f"#/requests/{index}/{name}"}
                            for name, messages in item_form.errors.items()
                            for m in messages
                        ],
                    )
                data = item_form.cleaned_data
                specs.append(
                    services.RequestSpec(
                        kind=data["kind"], text=data["text"], outcome=data["outcome"]
                    )
                )
            data = form.cleaned_data

            petition = run(
                lambda: services.petition_create(
                    case=case,
                    by=request.user,
                    status=data["status"],
                    requests=specs,
                    confirmed=data["confirmed"],
                    **_petition_fields(data),
                )
            )
            body = s.PetitionSerializer(_petitions().get(pk=petition.pk)).data
            return _created(body, "api:petition-detail", petition.pk)

        return idempotent(request, create)


class PetitionDetail(ApiView):
    @extend_schema(responses=s.PetitionSerializer)
    def get(self, request, pk):
        petition = access.get_for(request.user, _petitions(), pk)
        return Response(s.PetitionSerializer(petition).data)


class PetitionStatusChange(ApiView):
    """Move a petition along (filed, acknowledged, answered ...), with the reason on record."""

    @extend_schema(request=s.PetitionStatusInput, responses={200: s.PetitionSerializer})
    def post(self, request, pk):
        petition = access.get_for(request.user, Petition.objects.all(), pk, level=Level.EDIT)

        def change():
            payload = checked(s.PetitionStatusInput, request.data)
            form = bind_form(
                PetitionStatusForm,
                payload,
                choices=services.allowed_next(petition, PETITION_TRANSITIONS),
            )
            data = form.cleaned_data
            run(
                lambda: services.petition_change_status(
                    petition=petition,
                    to=data["to"],
                    by=request.user,
                    reason=data["reason"],
                    response_received_on=data["response_received_on"],
                    response_summary=data["response_summary"],
                    expect_reply_by=data["expect_reply_by"],
                    **form.happened(),
                )
            )
            return Response(s.PetitionSerializer(_petitions().get(pk=petition.pk)).data)

        return idempotent(request, change)


# --- Events ------------------------------------------------------------------------------------
def _events():
    return Event.objects.select_related("created_by").prefetch_related(
        "organizations", "authorities", "prisoners"
    )


class CaseEvents(ApiView):
    """The case's events (visits, letters, hearings ...); POST logs one (editors)."""

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.EventSerializer))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        rows = _events().filter(case=case).order_by("-occurred_on", "-id")
        return _paged(request, rows, s.EventSerializer)

    @extend_schema(
        request=s.EventInput,
        responses={201: s.EventSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request, pk):
        case = access.get_case_for(request.user, pk, level=Level.EDIT)

        def create():
            payload = checked(s.EventInput, request.data)
            form = bind_form(EventForm, payload, case=case, renames={"people": "prisoners"})
            data = form.cleaned_data
            event = run(
                lambda: services.event_log(case=case, by=request.user, **event_fields(data))
            )
            body = s.EventSerializer(_events().get(pk=event.pk)).data
            return _created(body, "api:event-detail", event.pk)

        return idempotent(request, create)


class EventDetail(ApiView):
    @extend_schema(responses=s.EventSerializer)
    def get(self, request, pk):
        return Response(s.EventSerializer(access.get_for(request.user, _events(), pk)).data)


# --- Deadlines ---------------------------------------------------------------------------------
def _deadlines():
    return Deadline.objects.prefetch_related("assignees")


class CaseDeadlines(ApiView):
    """The case's deadlines, open and closed; POST sets one (editors)."""

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.DeadlineSerializer))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        rows = _deadlines().filter(case=case).order_by("due_on", "id")
        return _paged(request, rows, s.DeadlineSerializer)

    @extend_schema(
        request=s.DeadlineInput,
        responses={201: s.DeadlineSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request, pk):
        case = access.get_case_for(request.user, pk, level=Level.EDIT)

        def create():
            payload = dict(checked(s.DeadlineInput, request.data))
            if payload.get("reminder_days") is not None:
                payload["reminder_days"] = ", ".join(str(d) for d in payload["reminder_days"])
            form = bind_form(DeadlineForm, payload, case=case)
            data = form.cleaned_data
            deadline = run(
                lambda: services.deadline_create(
                    case=case, by=request.user, **deadline_fields(data)
                )
            )
            body = s.DeadlineSerializer(_deadlines().get(pk=deadline.pk)).data
            return _created(body, "api:deadline-detail", deadline.pk)

        return idempotent(request, create)


class DeadlineDetail(ApiView):
    @extend_schema(responses=s.DeadlineSerializer)
    def get(self, request, pk):
        deadline = access.get_for(request.user, _deadlines(), pk)
        return Response(s.DeadlineSerializer(deadline).data)


class DeadlineStatusChange(ApiView):
    """Mark a deadline met, missed, cancelled ... (or reopen it), with the reason on record."""

    @extend_schema(request=s.StatusInput, responses={200: s.DeadlineSerializer})
    def post(self, request, pk):
        deadline = access.get_for(request.user, Deadline.objects.all(), pk, level=Level.EDIT)

        def change():
            payload = checked(s.StatusInput, request.data)
            form = bind_form(
                StatusForm, payload, choices=services.allowed_next(deadline, DEADLINE_TRANSITIONS)
            )
            data = form.cleaned_data
            run(
                lambda: services.deadline_change_status(
                    deadline=deadline,
                    to=data["to"],
                    by=request.user,
                    reason=data["reason"],
                    **form.happened(),
                )
            )
            return Response(s.DeadlineSerializer(_deadlines().get(pk=deadline.pk)).data)

        return idempotent(request, change)


# --- Documents ---------------------------------------------------------------------------------
class CaseDocuments(ApiView):
    """The case's documents (metadata); POST uploads one (multipart/form-data, editors)."""

    parser_classes = [MultiPartParser]

    @extend_schema(parameters=PAGE_PARAMS, responses=page_of(s.DocumentSerializer))
    def get(self, request, pk):
        case = access.get_case_for(request.user, pk)
        rows = case.documents.select_related("uploaded_by").order_by("-created_at", "-id")
        return _paged(request, rows, s.DocumentSerializer)

    @extend_schema(
        request={"multipart/form-data": s.DocumentInput},
        responses={201: s.DocumentSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request, pk):
        case = access.get_case_for(request.user, pk, level=Level.EDIT)

        def create():
            names = ("title", "description", "petition", "event", "dated_on", "dated_precision")
            fields = {k: request.data.get(k) for k in (*names, "confirmed")}
            payload = {k: v for k, v in fields.items() if v is not None}
            form = bind_form(DocumentForm, payload, files=request.FILES, case=case)
            data = form.cleaned_data
            document = run(
                lambda: services.document_store(case=case, by=request.user, **document_fields(data))
            )
            body = s.DocumentSerializer(document).data
            return _created(body, "api:document-detail", document.pk)

        return idempotent(request, create)


class DocumentDetail(ApiView):
    @extend_schema(responses=s.DocumentSerializer)
    def get(self, request, pk):
        document = access.get_for(request.user, Document.objects.select_related("uploaded_by"), pk)
        return Response(s.DocumentSerializer(document).data)


class AnyRenderer(BaseRenderer):
    """Lets a client that asks for the file's own type (or anything) get it."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class DocumentDownload(ApiView):
    """The file itself, after the same access check as the web, on the case's access log."""

    renderer_classes = [JSONRenderer, AnyRenderer]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        document = access.get_for(request.user, Document.objects.all(), pk)
        return document_file_response(request.user, document)
