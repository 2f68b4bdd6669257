from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
        from simple_history.signals import (
            post_create_historical_record,
            pre_create_historical_record,
        )

        from cases.api.history import mark_via_api
        from cases.services.audit_chain import refuse_deleting_audited_rows
        from cases.services.team import (
            on_preferences_changed,
            on_signed_in,
            on_signed_out,
            on_two_factor_changed,
        )
        from cases.services.timeline import on_history_row, on_user_saved
        from cases.services.tokens import on_user_changed

        post_create_historical_record.connect(on_history_row, dispatch_uid="cases.timeline")
        post_save.connect(
            on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="cases.timeline.users"
        )
        # API tokens end when their user is deactivated or changes password.
        pre_save.connect(
            on_user_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="cases.tokens.users"
        )
        # History written through the API says so ("via API").
        pre_create_historical_record.connect(mark_via_api, dispatch_uid="cases.api.history")
        for model in (settings.AUTH_USER_MODEL, "cases.Case"):
            pre_delete.connect(
                refuse_deleting_audited_rows, sender=model, dispatch_uid=f"cases.audit.{model}"
            )
        # A new session goes on the user's list of sessions as it starts.
        user_logged_in.connect(on_signed_in, dispatch_uid="cases.team.sessions")
        user_logged_out.connect(on_signed_out, dispatch_uid="cases.team.sessions.end")
        # Sessions keep the reader's preferences and two-factor state; a change made anywhere
        # in the application drops them from the user's open sessions at once.
        for signal in (post_save, post_delete):
            signal.connect(
                on_preferences_changed, sender="cases.UserProfile", dispatch_uid="cases.prefs"
            )
            for model in ("cases.Membership", "otp_totp.TOTPDevice"):
                signal.connect(
                    on_two_factor_changed, sender=model, dispatch_uid=f"cases.2fa.{model}"
                )
