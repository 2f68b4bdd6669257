"""An organization's team page, for its coordinators; accepting an invitation."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import access
from cases.forms import (
    AcceptInvitationForm,
    DeactivateForm,
    InvitationForm,
    RoleForm,
    apply_service_errors,
)
from cases.models import Invitation, Membership
from cases.services import team as team_services

from .common import run_service

RECENT_CHANGES = 30


def _what(row) -> str:
    if row.history_change_reason:
        return row.history_change_reason
    return {"+": _("added"), "~": _("changed"), "-": _("removed")}.get(row.history_type, "")


@require_safe
def team_index(request):
    """The teams the user runs: straight to it when there is one."""
    organizations = list(access.organizations_coordinated_by(request.user).order_by("name"))
    if len(organizations) == 1:
        return redirect("cases:team", pk=organizations[0].pk)
    return render(request, "team/index.html", {"organizations": organizations})


def _members(organization):
    two_factor = TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
    return (
        organization.memberships.select_related("user")
        .annotate(two_factor=Exists(two_factor))
        .order_by("user__username")
    )


def _recent_changes(organization) -> list[dict]:
    """Who joined, left, changed role, was invited: newest first, from history."""
    rows = []
    members = Membership.history.filter(organization_id=organization.pk).select_related(
        "history_user", "user"
    )
    for row in members.order_by("-history_date")[:RECENT_CHANGES]:
        rows.append(
            {
                "at": row.history_date,
                "by": row.history_user,
                "subject": row.user.get_username() if row.user else "",
                "what": _what(row),
                "kind": _("Membership"),
            }
        )
    invitations = Invitation.history.filter(organization_id=organization.pk).select_related(
        "history_user"
    )
    for row in invitations.order_by("-history_date")[:RECENT_CHANGES]:
        rows.append(
            {
                "at": row.history_date,
                "by": row.history_user,
                "subject": row.email,
                "what": _what(row),
                "kind": _("Invitation"),
            }
        )
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows[:RECENT_CHANGES]


@require_http_methods(["GET", "POST"])
def team(request, pk):
    organization = access.get_team_for(request.user, pk)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: team_services.invitation_create(
                organization=organization, by=request.user, **form.cleaned_data
            ),
            success=_("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
            request=request,
            redirect_to=reverse("cases:team", args=[organization.pk]),
        )
        if response:
            return response
    invitations = organization.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")
    context = {
        "organization": organization,
        "members": _members(organization),
        "invitations": invitations,
        "form": form,
        "roles": Membership.Role.choices,
        "changes": _recent_changes(organization),
    }
    return render(request, "team/team.html", context, status=400 if form.errors else 200)


@require_POST
def member_role(request, pk, member_pk):
    membership = access.get_member_of_team(request.user, pk, member_pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                team_services.membership_change_role(
                    membership=membership, by=request.user, **form.cleaned_data
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("%(user)s is now %(role)s.")
                % {
                    "user": membership.user.get_username(),
                    "role": Membership.Role(form.cleaned_data["role"]).label,
                },
            )
    else:
        messages.error(request, _("Choose a role."))
    return redirect("cases:team", pk=membership.organization_id)


@require_http_methods(["GET", "POST"])
def member_deactivate(request, pk, member_pk):
    membership = access.get_member_of_team(request.user, pk, member_pk)
    form = DeactivateForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        response = run_service(
            form,
            lambda: team_services.member_deactivate(
                membership=membership, by=request.user, **form.cleaned_data
            ),
            success=_("%(user)s is no longer on the team; their sessions have ended.")
            % {"user": membership.user.get_username()},
            request=request,
            redirect_to=reverse("cases:team", args=[membership.organization_id]),
        )
        if response:
            return response
    context = {
        "organization": membership.organization,
        "membership": membership,
        "deadlines": team_services.open_deadlines_of(membership),
        "form": form,
    }
    return render(request, "team/deactivate.html", context, status=400 if form.errors else 200)


def _invitation_action(request, pk, invitation_pk, action, success):
    invitation = access.get_invitation_of_team(request.user, pk, invitation_pk)
    try:
        action(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success % {"email": invitation.email})
    return redirect("cases:team", pk=invitation.organization_id)


@require_POST
def invitation_resend(request, pk, invitation_pk):
    return _invitation_action(
        request,
        pk,
        invitation_pk,
        team_services.invitation_resend,
        _("A new link was sent to %(email)s; the earlier one no longer works."),
    )


@require_POST
def invitation_revoke(request, pk, invitation_pk):
    return _invitation_action(
        request,
        pk,
        invitation_pk,
        team_services.invitation_revoke,
        _("The invitation to %(email)s is revoked."),
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, pk, token):
    """From the email: set a password (new account) or join with one's own account."""
    invitation = team_services.invitation_get_open(pk=pk, token=token)
    if invitation is None:
        return render(request, "team/invitation_invalid.html", status=404)
    user = request.user
    existing = (
        get_user_model().objects.filter(email__iexact=invitation.email, is_active=True).first()
    )
    context = {"invitation": invitation, "existing": existing}
    if user.is_authenticated:
        # Signed in: join with this account, if it is the invited one.
        if request.method == "POST":
            try:
                team_services.invitation_accept_as(invitation=invitation, user=user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request, _("You joined %(org)s.") % {"org": invitation.organization}
                )
                return redirect("cases:home")
        return render(request, "team/invitation_join.html", context)
    form = AcceptInvitationForm(request.POST or None)
    if existing is None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team_services.invitation_accept(
                invitation=invitation,
                username=data["username"],
                password=data["password1"],
                full_name=data["full_name"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Your account is ready. Sign in with your user name and password."),
            )
            return redirect(reverse("login"))
    context["form"] = form
    status = 400 if form.errors else 200
    return render(request, "team/invitation_accept.html", context, status=status)
