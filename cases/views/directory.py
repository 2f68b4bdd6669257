"""The directory: organizations and authorities, readable by everyone signed in."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases import access
from cases.forms import AuthorityForm, MergeForm, OrganizationForm, apply_service_errors
from cases.models import Authority, Organization
from cases.services import directory as directory_services

from .common import run_service

PER_PAGE = 50


def _search(queryset, q: str):
    if q:
        queryset = queryset.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(country__icontains=q)
        )
    return queryset.order_by("name")


def _list(request, model, template):
    q = request.GET.get("q", "").strip()[:200]
    rows = _search(model.objects.all(), q)
    if model is Organization:
        rows = rows.select_related("parent")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "may_add": model is Authority and access.may_edit_authorities(request.user),
    }
    return render(request, template, context)


@require_safe
def organization_list(request):
    return _list(request, Organization, "directory/organization_list.html")


@require_safe
def authority_list(request):
    return _list(request, Authority, "directory/authority_list.html")


@require_safe
def organization_detail(request, pk):
    organization = get_object_or_404(Organization.objects.select_related("parent"), pk=pk)
    context = {
        "organization": organization,
        "affiliates": organization.affiliates.order_by("name"),
        "may_edit": access.may_edit_organization(request.user, organization),
        "may_merge": access.may_merge_directory(request.user),
        "history": organization.history.select_related("history_user")[:20],
    }
    return render(request, "directory/organization_detail.html", context)


@require_safe
def authority_detail(request, pk):
    authority = get_object_or_404(Authority, pk=pk)
    context = {
        "authority": authority,
        "may_edit": access.may_edit_authorities(request.user),
        "may_merge": access.may_merge_directory(request.user),
        "history": authority.history.select_related("history_user")[:20],
    }
    return render(request, "directory/authority_detail.html", context)


def _safe_next(request) -> str:
    target = request.GET.get("next") or request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def authority_create(request):
    """A new authority. From a petition or event form: inline with htmx (``?inline=<id>``),
    or on this page and back to the form (``?next=``) without JavaScript."""
    if not access.may_edit_authorities(request.user):
        raise PermissionDenied
    inline = request.GET.get("inline", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", inline):
        inline = ""  # the id of the form's field to add the new authority to
    prefix = "new_authority" if inline else None
    form = AuthorityForm(request.POST or None, prefix=prefix)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                authority = directory_services.authority_create(
                    by=request.user, **form.cleaned_data
                )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if inline:
                context = {"authority": authority, "target": inline}
                return render(request, "directory/authority_inline_added.html", context)
            messages.success(request, _("Authority added to the directory."))
            return redirect(
                _safe_next(request) or reverse("cases:authority-detail", args=[authority.pk])
            )
    template = "directory/authority_inline_form.html" if inline else "directory/authority_form.html"
    context = {"form": form, "next": _safe_next(request), "inline": inline, "authority": None}
    return render(request, template, context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def authority_edit(request, pk):
    authority = get_object_or_404(Authority, pk=pk)
    if not access.may_edit_authorities(request.user):
        raise PermissionDenied
    form = AuthorityForm(request.POST or None, instance=authority)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: directory_services.authority_update(
                authority=authority, by=request.user, **form.cleaned_data
            ),
            success=_("Saved."),
            request=request,
            redirect_to=reverse("cases:authority-detail", args=[authority.pk]),
        )
        if response:
            return response
    context = {"form": form, "authority": authority}
    return render(
        request, "directory/authority_form.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def organization_edit(request, pk):
    organization = get_object_or_404(Organization, pk=pk)
    if not access.may_edit_organization(request.user, organization):
        raise PermissionDenied
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: directory_services.organization_update(
                organization=organization, by=request.user, **form.cleaned_data
            ),
            success=_("Saved."),
            request=request,
            redirect_to=reverse("cases:organization-detail", args=[organization.pk]),
        )
        if response:
            return response
    context = {"form": form, "organization": organization}
    return render(
        request, "directory/organization_form.html", context, status=400 if form.errors else 200
    )


def _merge(request, keep, service, detail_name):
    if not access.may_merge_directory(request.user):
        raise PermissionDenied
    form = MergeForm(request.POST or None, keep=keep)
    if request.method == "POST" and form.is_valid():
        duplicate = form.cleaned_data["duplicate"]
        response = run_service(
            form,
            lambda: service(
                keep=keep, duplicate=duplicate, by=request.user, reason=form.cleaned_data["reason"]
            ),
            success=_("%(duplicate)s was merged into %(keep)s; every reference moved.")
            % {"duplicate": duplicate, "keep": keep},
            request=request,
            redirect_to=reverse(detail_name, args=[keep.pk]),
        )
        if response:
            return response
    return render(
        request,
        "directory/merge.html",
        {"form": form, "keep": keep, "back": reverse(detail_name, args=[keep.pk])},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def authority_merge(request, pk):
    keep = get_object_or_404(Authority, pk=pk)
    return _merge(request, keep, directory_services.authority_merge, "cases:authority-detail")


@require_http_methods(["GET", "POST"])
def organization_merge(request, pk):
    keep = get_object_or_404(Organization, pk=pk)
    return _merge(request, keep, directory_services.organization_merge, "cases:organization-detail")
