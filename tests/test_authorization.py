"""Who gets what: every URL pattern, for every persona and method, against a declared policy.

A new URL without sample arguments and a policy here makes this test fail, so nothing can
be added without saying who may use it. Another organization's case is seeded with marker
strings; they must never appear in any response, and its ids must answer 404.
"""

import datetime as dt
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases import services
from cases.models import CaseShare, Membership, PersonLinkRequest, Reminder, ReminderStatus
from cases.services import developments, exports
from tests import factories

MARKER = "ZZMARKER"

# --- Policies: the status each persona gets --------------------------------------------------
PERSONAS = [
    "coordinator",
    "editor",
    "viewer",
    "partner_edit",
    "partner_read",
    "outsider",
    "former_partner",  # had an edit share on the case, which the lead ended
    "anonymous",
]
# What only the owner's coordinators may ever read about our people (legal name, notes,
# health notes): no other persona's response may carry it, on any URL.
NEED_TO_KNOW = "NEEDTOKNOW"
SEES_IDENTITY = {"coordinator"}


def policy(ok, *, allowed):
    """``allowed`` personas get ``ok``; other members of the case's organizations get 403;
    outsiders 404 (they must not learn the case exists); anonymous visitors go to sign-in."""
    members = {"coordinator", "editor", "viewer", "partner_edit", "partner_read"}
    table = {}
    for persona in PERSONAS:
        if persona == "anonymous":
            table[persona] = 302
        elif persona in allowed:
            table[persona] = ok
        elif persona in members:
            table[persona] = 403
        else:
            table[persona] = 404
    return table


READERS = {"coordinator", "editor", "viewer", "partner_edit", "partner_read"}
WRITERS = {"coordinator", "editor", "partner_edit"}
MANAGERS = {"coordinator"}
SIGNED_IN = {p: 200 for p in PERSONAS} | {"anonymous": 302}
NOT_ALLOWED = {p: 405 for p in PERSONAS} | {"anonymous": 302}

# The persona's own account pages (two-factor sign-in): editor and viewer have no device.
ALREADY_VERIFIED = {p: 302 for p in PERSONAS}
TWO_FACTOR_OPTIONAL = {p: 403 for p in PERSONAS} | {"editor": 302, "viewer": 302, "anonymous": 302}
HAS_DEVICE = SIGNED_IN | {"editor": 302, "viewer": 302}


def team_policy(ok):
    """An organization's team: its coordinators get ``ok``; its other members 403; members of
    other organizations (partners of its cases too) 404, so they cannot learn about it."""
    return {
        "coordinator": ok,
        "editor": 403,
        "viewer": 403,
        "partner_edit": 404,
        "partner_read": 404,
        "outsider": 404,
        "former_partner": 404,
        "anonymous": 302,
    }


POST_ONLY = {p: 405 for p in PERSONAS} | {"anonymous": 302}

# The directory is shared, so refusals are 403 (nothing to hide), not 404.
DIRECTORY_EDITORS = {p: 200 for p in PERSONAS} | {"viewer": 403, "anonymous": 302}
DIRECTORY_COORDINATOR = {p: 403 for p in PERSONAS} | {"coordinator": 200, "anonymous": 302}
STAFF_ONLY = {p: 403 for p in PERSONAS} | {"anonymous": 302}

READ = policy(200, allowed=READERS)
EXPORTER = {p: 404 for p in PERSONAS} | {"coordinator": 200, "anonymous": 302}
EDIT = policy(200, allowed=WRITERS)
MANAGE = policy(200, allowed=MANAGERS)
OWNER_EDIT = policy(200, allowed={"coordinator", "editor"})


# The API (cases/api/): who is not signed in gets 401 (no sign-in page to go to). The POST
# here sends an empty form body: the JSON routes refuse its media type (415) and the upload
# route its missing fields (400), but only once the access check has let the persona by.
def api_policy(ok, *, allowed):
    return policy(ok, allowed=allowed) | {"anonymous": 401}


API_SIGNED_IN = SIGNED_IN | {"anonymous": 401}
API_NOT_ALLOWED = NOT_ALLOWED | {"anonymous": 401}
API_READ = api_policy(200, allowed=READERS)
API_WRITE = api_policy(415, allowed=WRITERS)
API_UPLOAD = api_policy(400, allowed=WRITERS)
API_MANAGE = api_policy(415, allowed=MANAGERS)


def _token_of(user):
    """A token of the coordinator's, for the revoke URL: no one else's to revoke."""
    from cases.services.tokens import api_token_create

    token, _raw = api_token_create(
        user=user, name="tool", scope="read", expires_on=dt.date.today() + dt.timedelta(days=9)
    )
    return token


API_POLICIES = {
    "api:schema": (lambda w: {}, API_SIGNED_IN, API_NOT_ALLOWED),
    "api:docs": (lambda w: {}, API_SIGNED_IN, API_NOT_ALLOWED),
    "api:organization-list": (lambda w: {}, API_SIGNED_IN, API_NOT_ALLOWED),
    "api:authority-list": (lambda w: {}, API_SIGNED_IN, API_NOT_ALLOWED),
    "api:case-list": (lambda w: {}, API_SIGNED_IN, API_NOT_ALLOWED),
    "api:case-detail": (lambda w: {"pk": w["case"].pk}, API_READ, API_NOT_ALLOWED),
    "api:case-status": (lambda w: {"pk": w["case"].pk}, API_NOT_ALLOWED, API_MANAGE),
    "api:case-timeline": (lambda w: {"pk": w["case"].pk}, API_READ, API_NOT_ALLOWED),
    "api:case-people": (lambda w: {"pk": w["case"].pk}, API_READ, API_NOT_ALLOWED),
    "api:case-petitions": (lambda w: {"pk": w["case"].pk}, API_READ, API_WRITE),
    "api:case-events": (lambda w: {"pk": w["case"].pk}, API_READ, API_WRITE),
    "api:case-deadlines": (lambda w: {"pk": w["case"].pk}, API_READ, API_WRITE),
    "api:case-documents": (lambda w: {"pk": w["case"].pk}, API_READ, API_UPLOAD),
    "api:case-alerts": (lambda w: {"pk": w["case"].pk}, API_READ, API_NOT_ALLOWED),
    "api:person-detail": (lambda w: {"pk": w["prisoner"].pk}, API_READ, API_NOT_ALLOWED),
    "api:petition-detail": (lambda w: {"pk": w["petition"].pk}, API_READ, API_NOT_ALLOWED),
    "api:petition-status": (lambda w: {"pk": w["petition"].pk}, API_NOT_ALLOWED, API_WRITE),
    "api:event-detail": (lambda w: {"pk": w["event"].pk}, API_READ, API_NOT_ALLOWED),
    "api:deadline-detail": (lambda w: {"pk": w["deadline"].pk}, API_READ, API_NOT_ALLOWED),
    "api:deadline-status": (lambda w: {"pk": w["deadline"].pk}, API_NOT_ALLOWED, API_WRITE),
    "api:document-detail": (lambda w: {"pk": w["document"].pk}, API_READ, API_NOT_ALLOWED),
    "api:document-download": (lambda w: {"pk": w["document"].pk}, API_READ, API_NOT_ALLOWED),
}

# name: (sample kwargs from the world, GET policy, POST policy with an empty body)
POLICIES = {
    **API_POLICIES,
    # One's own API tokens: only one's own can be revoked (anyone else's is a 404).
    "cases:tokens": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    "cases:token-revoke": (
        lambda w: {"pk": _token_of(w["users"]["coordinator"]).pk},
        {p: 405 for p in PERSONAS} | {"anonymous": 302},
        {p: 404 for p in PERSONAS} | {"coordinator": 302, "anonymous": 302},
    ),
    "cases:home": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:settings": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    # Where signing out lands; a signed-in visitor is sent home.
    "cases:signed-out": (
        lambda w: {},
        {p: 302 for p in PERSONAS} | {"anonymous": 200},
        {p: 405 for p in PERSONAS},
    ),
    # One's own calendar address and sessions.
    "cases:calendar-new": (lambda w: {}, NOT_ALLOWED, {p: 302 for p in PERSONAS}),
    "cases:sessions-end-others": (lambda w: {}, NOT_ALLOWED, {p: 302 for p in PERSONAS}),
    "cases:set-language": (
        lambda w: {},
        {p: 405 for p in PERSONAS},
        {p: 302 for p in PERSONAS},
    ),
    "cases:case-list": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:case-create": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    "cases:case-detail": (lambda w: {"pk": w["case"].pk}, READ, NOT_ALLOWED),
    "cases:case-edit": (lambda w: {"pk": w["case"].pk}, EDIT, EDIT),
    "cases:case-status": (lambda w: {"pk": w["case"].pk}, MANAGE, MANAGE),
    "cases:case-share": (lambda w: {"pk": w["case"].pk}, MANAGE, MANAGE),
    "cases:case-unshare": (
        lambda w: {"pk": w["case"].pk, "share_pk": w["share"].pk},
        {p: 405 for p in PERSONAS} | {"anonymous": 302},
        policy(302, allowed=MANAGERS),
    ),
    # Muting is one's own choice, for any case one may read.
    "cases:case-mute": (
        lambda w: {"pk": w["case"].pk},
        POST_ONLY,
        policy(302, allowed=READERS),
    ),
    "cases:case-access-log": (lambda w: {"pk": w["case"].pk}, MANAGE, NOT_ALLOWED),
    "cases:case-timeline": (lambda w: {"pk": w["case"].pk}, READ, NOT_ALLOWED),
    "cases:petition-create": (lambda w: {"case_pk": w["case"].pk}, EDIT, EDIT),
    "cases:event-create": (lambda w: {"case_pk": w["case"].pk}, EDIT, EDIT),
    "cases:deadline-create": (lambda w: {"case_pk": w["case"].pk}, EDIT, EDIT),
    "cases:prisoner-create": (lambda w: {"case_pk": w["case"].pk}, EDIT, EDIT),
    "cases:document-upload": (lambda w: {"case_pk": w["case"].pk}, EDIT, EDIT),
    "cases:petition-detail": (lambda w: {"pk": w["petition"].pk}, READ, NOT_ALLOWED),
    "cases:petition-edit": (lambda w: {"pk": w["petition"].pk}, EDIT, EDIT),
    "cases:petition-status": (lambda w: {"pk": w["petition"].pk}, EDIT, EDIT),
    "cases:event-edit": (lambda w: {"pk": w["event"].pk}, EDIT, EDIT),
    "cases:deadline-edit": (lambda w: {"pk": w["deadline"].pk}, EDIT, EDIT),
    "cases:deadline-status": (lambda w: {"pk": w["deadline"].pk}, EDIT, EDIT),
    "cases:reminder-retry": (
        lambda w: {"pk": w["reminder"].pk},
        {p: 405 for p in PERSONAS} | {"anonymous": 302},
        policy(302, allowed=MANAGERS),
    ),
    # Urgent alerts: ticking the checklist and closing are for those who may edit the case.
    "cases:alert-check": (
        lambda w: {"pk": w["alert"].pk, "item": "contact_icrc"},
        NOT_ALLOWED,
        policy(302, allowed=WRITERS),
    ),
    "cases:alert-close": (lambda w: {"pk": w["alert"].pk}, EDIT, EDIT),
    "cases:prisoner-detail": (lambda w: {"pk": w["prisoner"].pk}, READ, NOT_ALLOWED),
    # Rights on a person come from the organization that registered them (the lead here),
    # never from a case that contains them: a partner with an edit share may not edit them.
    "cases:prisoner-edit": (lambda w: {"pk": w["prisoner"].pk}, OWNER_EDIT, OWNER_EDIT),
    "cases:prisoner-link": (lambda w: {"pk": w["prisoner"].pk}, OWNER_EDIT, OWNER_EDIT),
    "cases:prisoner-access-log": (lambda w: {"pk": w["prisoner"].pk}, MANAGE, NOT_ALLOWED),
    # Asking the owner to put the person on a case of one's own: the edit partner has one.
    "cases:prisoner-link-request": (
        lambda w: {"pk": w["prisoner"].pk},
        policy(200, allowed={"partner_edit"}),
        policy(200, allowed={"partner_edit"}),
    ),
    "cases:link-request-decide": (
        lambda w: {"pk": w["link_request"].pk},
        {p: 405 for p in PERSONAS} | {"anonymous": 302},
        policy(302, allowed=MANAGERS),
    ),
    "cases:prisoner-unlink": (
        lambda w: {"case_pk": w["case"].pk, "pk": w["prisoner"].pk},
        OWNER_EDIT,
        OWNER_EDIT,
    ),
    "cases:prisoner-reveal": (
        lambda w: {"pk": w["prisoner"].pk},
        {p: 405 for p in PERSONAS} | {"anonymous": 302},
        policy(200, allowed=MANAGERS),
    ),
    "cases:document-detail": (lambda w: {"pk": w["document"].pk}, READ, NOT_ALLOWED),
    # Exports: any reader may open the form (an empty POST re-renders it with errors); who may
    # export for which audience is tested in tests/test_dossiers.py. An export's page and
    # file are the exporter's alone: anyone else gets 404, as for something that is not there.
    "cases:case-export": (lambda w: {"pk": w["case"].pk}, READ, READ),
    "cases:case-list-export": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    "cases:export-verify": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    "cases:export-detail": (lambda w: {"pk": w["export"].pk}, EXPORTER, NOT_ALLOWED),
    "cases:export-download": (lambda w: {"pk": w["export"].pk}, EXPORTER, NOT_ALLOWED),
    "cases:document-download": (lambda w: {"pk": w["document"].pk}, READ, NOT_ALLOWED),
    # The feed's secret is its URL: a wrong token is a 404 for everyone, signed in or not.
    # One's own two-factor settings. Every persona here has passed the second step (see
    # tests/conftest.py); coordinators (of any organization) must keep two-factor sign-in on,
    # and those without a device are sent to set one up.
    "cases:two-factor": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:two-factor-verify": (lambda w: {}, ALREADY_VERIFIED, ALREADY_VERIFIED),
    "cases:two-factor-setup": (lambda w: {}, SIGNED_IN, SIGNED_IN),
    "cases:two-factor-disable": (lambda w: {}, TWO_FACTOR_OPTIONAL, TWO_FACTOR_OPTIONAL),
    "cases:two-factor-recovery-codes": (lambda w: {}, HAS_DEVICE, NOT_ALLOWED),
    "cases:two-factor-recovery-codes-new": (lambda w: {}, NOT_ALLOWED, ALREADY_VERIFIED),
    # For load balancers: no sign-in, no data; 200 or 503 depending on the services (its own
    # tests are in tests/test_health.py).
    "healthz": (lambda w: {}, {p: {200, 503} for p in PERSONAS}, {p: 405 for p in PERSONAS}),
    "cases:calendar-feed": (
        lambda w: {"token": "not-a-real-token"},
        {p: 404 for p in PERSONAS},
        {p: 405 for p in PERSONAS},
    ),
    # Teams: the organization's coordinators only. Every persona but editor and viewer
    # coordinates exactly one organization, so the index sends them straight to its team.
    "cases:team-index": (
        lambda w: {},
        {p: 302 for p in PERSONAS} | {"editor": 200, "viewer": 200},
        NOT_ALLOWED,
    ),
    "cases:team": (lambda w: {"pk": w["organization"].pk}, team_policy(200), team_policy(200)),
    "cases:team-member-role": (
        lambda w: {"pk": w["organization"].pk, "member_pk": w["membership"].pk},
        POST_ONLY,
        team_policy(302),
    ),
    "cases:team-member-deactivate": (
        lambda w: {"pk": w["organization"].pk, "member_pk": w["membership"].pk},
        team_policy(200),
        team_policy(200),
    ),
    "cases:team-invitation-resend": (
        lambda w: {"pk": w["organization"].pk, "invitation_pk": w["invitation"].pk},
        POST_ONLY,
        team_policy(302),
    ),
    "cases:team-invitation-revoke": (
        lambda w: {"pk": w["organization"].pk, "invitation_pk": w["invitation"].pk},
        POST_ONLY,
        team_policy(302),
    ),
    # The directory: everyone signed in reads it; editors and coordinators (of any
    # organization) keep authorities up to date; an organization's coordinators edit it; staff
    # merge duplicates (tests/test_directory.py).
    "cases:organization-list": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:organization-detail": (lambda w: {"pk": w["organization"].pk}, SIGNED_IN, NOT_ALLOWED),
    "cases:organization-edit": (
        lambda w: {"pk": w["organization"].pk},
        DIRECTORY_COORDINATOR,
        DIRECTORY_COORDINATOR,
    ),
    "cases:organization-merge": (lambda w: {"pk": w["organization"].pk}, STAFF_ONLY, STAFF_ONLY),
    "cases:authority-list": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:authority-detail": (lambda w: {"pk": w["authority"].pk}, SIGNED_IN, NOT_ALLOWED),
    "cases:authority-create": (lambda w: {}, DIRECTORY_EDITORS, DIRECTORY_EDITORS),
    "cases:authority-edit": (
        lambda w: {"pk": w["authority"].pk},
        DIRECTORY_EDITORS,
        DIRECTORY_EDITORS,
    ),
    "cases:authority-merge": (lambda w: {"pk": w["authority"].pk}, STAFF_ONLY, STAFF_ONLY),
    # The link from the email: its token is the secret (a wrong one is 404 for everyone,
    # tests/test_team.py). A visitor sets a password; a signed-in user may join only with the
    # invited address, which none of these has (the page again, with the refusal).
    "cases:invitation-accept": (
        lambda w: {"pk": w["invitation"].pk, "token": w["invitation_token"]},
        {p: 200 for p in PERSONAS},
        {p: 200 for p in PERSONAS},
    ),
    # Developments (issue 17): the list is everyone's own view; recording one takes edit
    # rights in some organization. One is seen by its owner's members and by whoever sees a
    # case it is linked to (the partners here, not the former partner); its owner's editors
    # change it. Linking from the development needs only sight of it (the form offers the
    # cases one may edit); unlinking needs edit rights on the case. A deadline move is
    # undone by whoever made it (the coordinator here).
    "cases:development-list": (lambda w: {}, SIGNED_IN, NOT_ALLOWED),
    "cases:development-create": (lambda w: {}, DIRECTORY_EDITORS, DIRECTORY_EDITORS),
    "cases:development-detail": (lambda w: {"pk": w["development"].pk}, READ, NOT_ALLOWED),
    "cases:development-edit": (lambda w: {"pk": w["development"].pk}, OWNER_EDIT, OWNER_EDIT),
    "cases:development-link": (lambda w: {"pk": w["development"].pk}, READ, READ),
    "cases:development-unlink": (
        lambda w: {"pk": w["development"].pk, "link_pk": w["development_link"].pk},
        POST_ONLY,
        policy(302, allowed=WRITERS),
    ),
    "cases:development-move": (lambda w: {"pk": w["development"].pk}, READ, READ),
    "cases:deadline-move-detail": (lambda w: {"pk": w["deadline_move"].pk}, READ, NOT_ALLOWED),
    "cases:deadline-move-undo": (
        lambda w: {"pk": w["deadline_move"].pk},
        POST_ONLY,
        policy(302, allowed=MANAGERS),
    ),
    "cases:case-development-link": (lambda w: {"pk": w["case"].pk}, EDIT, EDIT),
}
# Views with their own rules, tested elsewhere: Django's sign-in, sign-out and password
# pages (tests/test_views.py, tests/test_sign_in.py) and the staff-only admin
# (test_admin_is_for_staff_only below).
OUT_OF_SCOPE_PREFIXES = ("admin:", "login", "logout", "password_", "^admin/")


# URLs that are not about one case's rows (no ids of another organization to try).
NOT_ABOUT_ONE_CASE = {
    "api:schema",
    "api:docs",
    "api:organization-list",
    "api:authority-list",
    "api:case-list",
    "cases:tokens",
    "cases:token-revoke",
    "cases:home",
    "cases:settings",
    "cases:set-language",
    "cases:case-list",
    "cases:case-list-export",
    "cases:export-verify",
    "cases:case-create",
    "cases:calendar-feed",
    "cases:two-factor",
    "cases:two-factor-verify",
    "cases:two-factor-setup",
    "cases:two-factor-disable",
    "cases:two-factor-recovery-codes",
    "cases:two-factor-recovery-codes-new",
    "cases:team-index",
    "cases:invitation-accept",
    "cases:calendar-new",
    "cases:sessions-end-others",
    "cases:signed-out",
    # The shared directory: organizations and authorities are not any one case's data.
    "cases:organization-list",
    "cases:organization-detail",
    "cases:organization-edit",
    "cases:organization-merge",
    "cases:authority-list",
    "cases:authority-detail",
    "cases:authority-create",
    "cases:authority-edit",
    "cases:authority-merge",
    "cases:development-list",
    "cases:development-create",
    "healthz",
}


def _all_url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _all_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            # Every pattern needs a name, so that it can be listed here.
            yield f"{namespace}{pattern.name or pattern.pattern}"


def in_scope_names():
    return sorted({n for n in _all_url_names() if not n.startswith(OUT_OF_SCOPE_PREFIXES)})


def test_every_url_has_sample_arguments_and_a_policy():
    missing = [name for name in in_scope_names() if name not in POLICIES]
    assert not missing, f"Declare who may use these URLs in POLICIES: {missing}"
    stale = [name for name in POLICIES if name not in in_scope_names()]
    assert not stale, f"POLICIES names URLs that no longer exist: {stale}"


# --- The world -------------------------------------------------------------------------------
def _seed_case(lead, by, *, marker=""):
    case = factories.make_case(
        lead_organization=lead, by=by, title=f"{marker}Case title", summary=f"{marker}summary"
    )
    secret = marker or NEED_TO_KNOW
    prisoner = factories.PrisonerFactory(
        owner=lead,
        code=f"{marker}POW-{lead.pk}",
        legal_name=f"{secret}Legal Name",
        notes=f"{secret}notes",
        health_notes=f"{secret}health",
        place_of_detention=f"{marker}camp",
    )
    services.case_add_prisoner(case=case, prisoner=prisoner, by=by)
    # An urgent alert on the case (its banner shows on the case page, without the identity
    # to those who may not see it).
    services.prisoner_update(prisoner=prisoner, by=by, risk_level="imminent")
    alert = case.alerts.get()
    petition = factories.make_petition(
        case=case, by=by, title=f"{marker}Petition", summary=f"{marker}asks"
    )
    event = services.event_log(
        case=case,
        by=by,
        kind="visit",
        title=f"{marker}Visit",
        description=f"{marker}description",
        occurred_on=dt.date(2026, 1, 5),
        prisoners=[prisoner],
    )
    deadline = factories.make_deadline(
        case=case, by=by, petition=petition, title=f"{marker}Deadline", notes=f"{marker}n"
    )
    document = services.document_store(
        case=case,
        by=by,
        upload=SimpleUploadedFile("letter.txt", f"{marker} letter".encode()),
        title=f"{marker}Document",
    )
    # A reminder the outbox gave up on (shown on the case page, sent again by coordinators).
    reminder = deadline.reminders.order_by("pk").first()
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.FAILED, attempts=8, last_error=f"{marker}550 mailbox unavailable"
    )
    invitation = services.team.invitation_create(
        organization=lead, email=f"new{lead.pk}@example.org", role="viewer", by=by
    )
    # An export of the case's timeline (a table: no PDF renderer needed here).
    export = exports.export_build(
        export_id=exports.export_request(
            by=by,
            case=case,
            kind="timeline",
            fmt="csv",
            profile_key="internal",
            audience=f"{marker}audience",
            language="en",
        ).pk
    )
    # A development linked to the case, and a move of the case's deadline made with it.
    development = developments.development_create(
        by=by,
        owner=lead,
        title=f"{marker}Exchange announced",
        kind="exchange_announced",
        happened_on=dt.date(2026, 1, 5),
        description=f"{marker}what happened",
    )
    development_link = developments.development_link_case(development=development, case=case, by=by)
    deadline_move = developments.deadline_move_apply(
        development=development,
        by=by,
        new_on=dt.date.today() + dt.timedelta(days=60),
        new_precision="day",
        reason=f"{marker}announced",
    )
    return {
        "development": development,
        "development_link": development_link,
        "deadline_move": deadline_move,
        "organization": lead,
        "authority": petition.addressed_to,
        "membership": Membership.objects.get(user=by, organization=lead),
        "invitation": invitation,
        "invitation_token": services.team.invitation_token(invitation),
        "export": export,
        "case": case,
        "prisoner": prisoner,
        "petition": petition,
        "event": event,
        "deadline": deadline,
        "document": document,
        "reminder": reminder,
        "alert": alert,
    }


@pytest.fixture
def world(db, settings, tmp_path, lead_org, coordinator, editor, viewer, partner_org, outsider):
    settings.MEDIA_ROOT = tmp_path
    users = {
        "coordinator": coordinator,
        "editor": editor,
        "viewer": viewer,
        "partner_edit": factories.member(partner_org, "coordinator", username="partner_edit"),
        "partner_read": factories.member(
            factories.OrganizationFactory(name="Reading partner"),
            "coordinator",
            username="partner_read",
        ),
        "outsider": outsider,
        "former_partner": factories.member(
            factories.OrganizationFactory(name="Former partner"),
            "coordinator",
            username="former_partner",
        ),
        "anonymous": None,
    }
    ours = _seed_case(lead_org, coordinator)
    # A partner worked on the case with an edit share, registered a person of its own on it
    # and was assigned a deadline; then the lead ended the share.
    former_org = users["former_partner"].memberships.get().organization
    former_share = services.case_share(
        case=ours["case"],
        organization=former_org,
        level=CaseShare.Level.EDIT,
        by=coordinator,
        reason="worked with us",
    )
    services.prisoner_register(
        case=ours["case"], by=users["former_partner"], code="FORMER-1", notes="theirs"
    )
    services.deadline_update(
        deadline=ours["deadline"],
        by=coordinator,
        assignees=[coordinator, users["former_partner"]],
    )
    services.case_unshare(share=former_share, by=coordinator, reason="the work ended")
    share = services.case_share(
        case=ours["case"],
        organization=partner_org,
        level=CaseShare.Level.EDIT,
        by=coordinator,
        reason="works with us",
    )
    services.case_share(
        case=ours["case"],
        organization=users["partner_read"].memberships.get().organization,
        level=CaseShare.Level.READ,
        by=coordinator,
        reason="follows",
    )
    # The edit partner leads a case of its own and asked us to put our person on it.
    partner_case = factories.make_case(lead_organization=partner_org, by=users["partner_edit"])
    link_request = services.person_link_request(
        prisoner=ours["prisoner"], case=partner_case, by=users["partner_edit"], reason="ask"
    )
    # Organizations and authorities are the installation's shared directory (a petition may
    # be filed with any of them), so only the other organization's case data carries markers.
    other_org = factories.OrganizationFactory(name="Other organization")
    other_user = factories.member(other_org, "coordinator", username="other")
    theirs = _seed_case(other_org, other_user, marker=MARKER)
    their_partner_case = factories.make_case(
        lead_organization=factories.OrganizationFactory(name="Their asking partner"), by=other_user
    )
    theirs["link_request"] = PersonLinkRequest.objects.create(
        prisoner=theirs["prisoner"], case=their_partner_case, requested_by=other_user, reason="x"
    )
    theirs["share"] = services.case_share(
        case=theirs["case"],
        organization=factories.OrganizationFactory(name="Their partner"),
        level=CaseShare.Level.READ,
        by=other_user,
        reason="theirs",
    )
    return {**ours, "share": share, "users": users, "theirs": theirs, "link_request": link_request}


def _request(client, user, method, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    # Each request runs in a savepoint that is rolled back, so a POST that changes something
    # (ending a share, say) does not change what the next persona sees.
    with transaction.atomic():
        response = getattr(client, method)(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response, body.decode(errors="replace")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy(client, world, name):
    kwargs_for, get_policy, post_policy = POLICIES[name]
    url = reverse(name, kwargs=kwargs_for(world))
    failures = []
    for persona, method in itertools.product(PERSONAS, ("get", "post")):
        expected = get_policy if method == "get" else post_policy
        response, body = _request(client, world["users"][persona], method, url)
        allowed = expected[persona]
        if response.status_code not in (allowed if isinstance(allowed, set) else {allowed}):
            failures.append(
                f"{method.upper()} {persona}: {response.status_code} (expected {allowed})"
            )
        if MARKER in body:
            failures.append(f"{method.upper()} {persona}: another organization's data shown")
        if NEED_TO_KNOW in body and persona not in SEES_IDENTITY:
            failures.append(f"{method.upper()} {persona}: a need-to-know identity shown")
    assert not failures, f"{url}: " + "; ".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(POLICIES) - NOT_ABOUT_ONE_CASE))
def test_another_organizations_ids_give_404_and_nothing_of_theirs(client, world, name):
    kwargs_for, _get, _post = POLICIES[name]
    url = reverse(name, kwargs=kwargs_for(world["theirs"]))
    for persona, user in world["users"].items():
        for method in ("get", "post"):
            response, body = _request(client, user, method, url)
            not_signed_in = {401} if name.startswith("api:") else {302}
            expected = not_signed_in if user is None else {404, 405}
            assert response.status_code in expected, (persona, method, url, response.status_code)
            assert MARKER not in body, (persona, method, url)


@pytest.mark.django_db
def test_search_lists_and_dashboards_never_show_another_organization(client, world):
    pages = [
        reverse("cases:home"),
        reverse("cases:case-list"),
        reverse("cases:case-list") + "?q=Case+title",  # their case's title contains it too
        reverse("cases:case-list") + "?q=Petition",
        reverse("cases:case-list") + "?q=POW",
        reverse("cases:case-detail", args=[world["case"].pk]),
    ]
    for persona, user in world["users"].items():
        if user is None:
            continue
        for url in pages:
            _response, body = _request(client, user, "get", url)
            assert MARKER not in body, (persona, url)
            assert NEED_TO_KNOW not in body, (persona, url)


@pytest.mark.django_db
def test_admin_is_for_staff_only(client, world, staff):
    for persona, user in world["users"].items():
        response, _body = _request(client, user, "get", reverse("admin:index"))
        assert response.status_code == 302, persona
        assert "/admin/login/" in response.url
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200
