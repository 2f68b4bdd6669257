"""The shared directory: organizations and authorities, kept up to date by their users.

Editors add and edit authorities, an organization's coordinators edit their organization, and
staff merge duplicates: every reference to the duplicate moves to the one kept, each move on
the history of the row that changed, and the duplicate is deleted with the merge as reason.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from cases.models import Authority, Organization

from .search import cases_naming_authority, cases_refresh_search
from .transitions import save_tracked

AUTHORITY_FIELDS = ("name", "short_name", "kind", "country", "contact_details", "notes")
ORGANIZATION_FIELDS = ("name", "short_name", "kind", "country", "parent", "website", "notes")


def _save(instance, *, by, reason, fields: dict, allowed: tuple[str, ...]) -> None:
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{name} is not a directory field")
        setattr(instance, name, value)
    instance.full_clean()
    save_tracked(instance, by=by, reason=reason)


@transaction.atomic
def authority_create(*, by: AbstractBaseUser, **fields) -> Authority:
    authority = Authority()
    _save(
        authority, by=by, reason="Added to the directory", fields=fields, allowed=AUTHORITY_FIELDS
    )
    return authority


@transaction.atomic
def authority_update(*, authority: Authority, by: AbstractBaseUser, **fields) -> Authority:
    _save(
        authority, by=by, reason="Directory entry edited", fields=fields, allowed=AUTHORITY_FIELDS
    )
    if {"name", "short_name"} & fields.keys():  # the cases' search documents hold them
        cases_refresh_search(case_ids=cases_naming_authority(authority.pk))
    return authority


@transaction.atomic
def organization_update(
    *, organization: Organization, by: AbstractBaseUser, **fields
) -> Organization:
    parent = fields.get("parent")
    while parent is not None:  # no loops of affiliates
        if parent.pk == organization.pk:
            raise ValidationError({"parent": _("An organization cannot belong to itself.")})
        parent = parent.parent
    _save(
        organization,
        by=by,
        reason="Directory entry edited",
        fields=fields,
        allowed=ORGANIZATION_FIELDS,
    )
    return organization


def _move_references(*, keep, duplicate, by, reason: str) -> int:
    """Point every row that refers to ``duplicate`` at ``keep``; returns how many rows moved.

    A row that cannot move because ``keep`` already has its twin (a membership of the same
    person, a share of the same case) is deleted instead, with the reason on its history.
    """
    moved = 0
    for relation in type(keep)._meta.related_objects:
        field = relation.field
        model = relation.related_model
        if relation.many_to_many:
            if not field.remote_field.through._meta.auto_created:
                continue  # through a model of ours (CaseShare): moved as that model's rows
            for row in model.objects.filter(**{field.name: duplicate}):
                manager = getattr(row, field.name)
                row._history_user = by
                row._change_reason = reason
                manager.remove(duplicate)
                manager.add(keep)
                moved += 1
            continue
        for row in model._default_manager.filter(**{field.name: duplicate}):
            setattr(row, field.name, keep)
            try:
                with transaction.atomic():
                    save_tracked(row, by=by, reason=reason)
            except IntegrityError:
                row = model._default_manager.get(pk=row.pk)
                row._history_user = by
                row._change_reason = f"{reason} (already there)"
                row.delete()
            moved += 1
    return moved


def _merge(*, keep: models.Model, duplicate: models.Model, by, reason: str) -> int:
    if keep.pk == duplicate.pk:
        raise ValidationError({"duplicate": _("Choose another entry than the one kept.")})
    reason = (reason or "").strip() or "Duplicate merged"
    text = f"Merged {duplicate} (#{duplicate.pk}) into {keep} (#{keep.pk}): {reason}"
    moved = _move_references(keep=keep, duplicate=duplicate, by=by, reason=text)
    duplicate._history_user = by
    duplicate._change_reason = text
    duplicate.delete()
    save_tracked(keep, by=by, reason=text)
    return moved


@transaction.atomic
def authority_merge(
    *, keep: Authority, duplicate: Authority, by: AbstractBaseUser, reason: str = ""
) -> int:
    moved = _merge(keep=keep, duplicate=duplicate, by=by, reason=reason)
    # The duplicate's cases now name the one kept (in their search documents too).
    cases_refresh_search(case_ids=cases_naming_authority(keep.pk))
    return moved


@transaction.atomic
def organization_merge(
    *, keep: Organization, duplicate: Organization, by: AbstractBaseUser, reason: str = ""
) -> int:
    from cases.models import CaseShare

    if keep.parent_id == duplicate.pk:  # an affiliate merged with its parent: no self-loop
        keep.parent = duplicate.parent
        save_tracked(keep, by=by, reason="Parent merged into this organization")
    moved = _merge(keep=keep, duplicate=duplicate, by=by, reason=reason)
    # A case the kept organization leads is not also shared with it.
    for share in CaseShare.objects.filter(organization=keep, case__lead_organization=keep):
        share._history_user = by
        share._change_reason = "Merged organization leads the case"
        share.delete()
    return moved
