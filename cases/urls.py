from django.urls import path

from cases.views import (
    account,
    alerts,
    calendar,
    cases,
    deadlines,
    developments,
    directory,
    documents,
    events,
    exports,
    home,
    petitions,
    prisoners,
    team,
    tokens,
    two_factor,
)

app_name = "cases"

urlpatterns = [
    path("", home.home, name="home"),
    path("settings/", account.settings_view, name="settings"),
    path("settings/calendar/new/", account.calendar_new, name="calendar-new"),
    path("settings/sessions/end-others/", account.sessions_end_others, name="sessions-end-others"),
    path("language/", account.set_language, name="set-language"),
    path("signed-out/", account.signed_out, name="signed-out"),
    path("settings/tokens/", tokens.token_list, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("two-factor/", two_factor.manage, name="two-factor"),
    path("two-factor/verify/", two_factor.verify, name="two-factor-verify"),
    path("two-factor/setup/", two_factor.setup, name="two-factor-setup"),
    path("two-factor/disable/", two_factor.disable, name="two-factor-disable"),
    path(
        "two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path(
        "two-factor/recovery-codes/new/",
        two_factor.recovery_codes_new,
        name="two-factor-recovery-codes-new",
    ),
    path("cases/", cases.case_list_view, name="case-list"),
    path("cases/new/", cases.case_create, name="case-create"),
    path("cases/<int:pk>/", cases.case_detail, name="case-detail"),
    path("cases/<int:pk>/edit/", cases.case_edit, name="case-edit"),
    path("cases/<int:pk>/status/", cases.case_status, name="case-status"),
    path("cases/<int:pk>/share/", cases.case_share, name="case-share"),
    path("cases/<int:pk>/timeline/", cases.case_timeline, name="case-timeline"),
    path("cases/<int:pk>/share/<int:share_pk>/end/", cases.case_unshare, name="case-unshare"),
    path("cases/<int:pk>/mute/", account.case_mute, name="case-mute"),
    path("cases/<int:pk>/access-log/", cases.case_access_log, name="case-access-log"),
    path("cases/<int:case_pk>/petitions/new/", petitions.petition_create, name="petition-create"),
    path("cases/<int:case_pk>/events/new/", events.event_create, name="event-create"),
    path("cases/<int:case_pk>/deadlines/new/", deadlines.deadline_create, name="deadline-create"),
    path("cases/<int:case_pk>/people/new/", prisoners.prisoner_create, name="prisoner-create"),
    path("cases/<int:case_pk>/documents/new/", documents.document_upload, name="document-upload"),
    path("petitions/<int:pk>/", petitions.petition_detail, name="petition-detail"),
    path("petitions/<int:pk>/edit/", petitions.petition_edit, name="petition-edit"),
    path("petitions/<int:pk>/status/", petitions.petition_status, name="petition-status"),
    path("events/<int:pk>/edit/", events.event_edit, name="event-edit"),
    path("deadlines/<int:pk>/edit/", deadlines.deadline_edit, name="deadline-edit"),
    path("deadlines/<int:pk>/status/", deadlines.deadline_status, name="deadline-status"),
    path("alerts/<int:pk>/checks/<slug:item>/", alerts.alert_check, name="alert-check"),
    path("alerts/<int:pk>/close/", alerts.alert_close, name="alert-close"),
    path("reminders/<int:pk>/retry/", deadlines.reminder_retry, name="reminder-retry"),
    path("people/<int:pk>/", prisoners.prisoner_detail, name="prisoner-detail"),
    path("people/<int:pk>/edit/", prisoners.prisoner_edit, name="prisoner-edit"),
    path("people/<int:pk>/reveal/", prisoners.prisoner_reveal, name="prisoner-reveal"),
    path("people/<int:pk>/link/", prisoners.prisoner_link, name="prisoner-link"),
    path("people/<int:pk>/ask/", prisoners.prisoner_link_request, name="prisoner-link-request"),
    path(
        "link-requests/<int:pk>/decide/", prisoners.link_request_decide, name="link-request-decide"
    ),
    path("people/<int:pk>/access-log/", prisoners.prisoner_access_log, name="prisoner-access-log"),
    path(
        "cases/<int:case_pk>/people/<int:pk>/remove/",
        prisoners.prisoner_unlink,
        name="prisoner-unlink",
    ),
    path("documents/<int:pk>/", documents.document_detail, name="document-detail"),
    path("documents/<int:pk>/download/", documents.document_download, name="document-download"),
    # Teams (issue 12): an organization's coordinators run its team.
    path("team/", team.team_index, name="team-index"),
    path("organizations/<int:pk>/team/", team.team, name="team"),
    path(
        "organizations/<int:pk>/team/<int:member_pk>/role/",
        team.member_role,
        name="team-member-role",
    ),
    path(
        "organizations/<int:pk>/team/<int:member_pk>/deactivate/",
        team.member_deactivate,
        name="team-member-deactivate",
    ),
    path(
        "organizations/<int:pk>/invitations/<int:invitation_pk>/resend/",
        team.invitation_resend,
        name="team-invitation-resend",
    ),
    path(
        "organizations/<int:pk>/invitations/<int:invitation_pk>/revoke/",
        team.invitation_revoke,
        name="team-invitation-revoke",
    ),
    path("invitations/<int:pk>/<str:token>/", team.invitation_accept, name="invitation-accept"),
    # The directory (issue 12): readable by everyone signed in.
    path("directory/organizations/", directory.organization_list, name="organization-list"),
    path(
        "directory/organizations/<int:pk>/",
        directory.organization_detail,
        name="organization-detail",
    ),
    path(
        "directory/organizations/<int:pk>/edit/",
        directory.organization_edit,
        name="organization-edit",
    ),
    path(
        "directory/organizations/<int:pk>/merge/",
        directory.organization_merge,
        name="organization-merge",
    ),
    path("directory/authorities/", directory.authority_list, name="authority-list"),
    path("directory/authorities/new/", directory.authority_create, name="authority-create"),
    path("directory/authorities/<int:pk>/", directory.authority_detail, name="authority-detail"),
    path("directory/authorities/<int:pk>/edit/", directory.authority_edit, name="authority-edit"),
    path(
        "directory/authorities/<int:pk>/merge/", directory.authority_merge, name="authority-merge"
    ),
    path("cases/<int:pk>/export/", exports.case_export, name="case-export"),
    path("cases/export/", exports.case_list_export, name="case-list-export"),
    path("exports/verify/", exports.export_verify, name="export-verify"),
    path("exports/<int:pk>/", exports.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", exports.export_download, name="export-download"),
    # Developments (issue 17): one event, many cases.
    path("developments/", developments.development_list, name="development-list"),
    path("developments/new/", developments.development_create, name="development-create"),
    path("developments/<int:pk>/", developments.development_detail, name="development-detail"),
    path("developments/<int:pk>/edit/", developments.development_edit, name="development-edit"),
    path("developments/<int:pk>/link/", developments.development_link, name="development-link"),
    path(
        "developments/<int:pk>/links/<int:link_pk>/unlink/",
        developments.development_unlink,
        name="development-unlink",
    ),
    path(
        "developments/<int:pk>/deadlines/",
        developments.development_move,
        name="development-move",
    ),
    path(
        "deadline-moves/<int:pk>/", developments.deadline_move_detail, name="deadline-move-detail"
    ),
    path(
        "deadline-moves/<int:pk>/undo/", developments.deadline_move_undo, name="deadline-move-undo"
    ),
    path(
        "cases/<int:pk>/developments/link/",
        developments.case_development_link,
        name="case-development-link",
    ),
    path("calendar/<str:token>.ics", calendar.calendar_feed, name="calendar-feed"),
]
