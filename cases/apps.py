from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save, pre_delete, pre_save
        from simple_history.signals import (
            post_create_historical_record,
            pre_create_historical_record,
        )

        from cases.api.history import mark_via_api
        from cases.services.audit_chain import refuse_deleting_audited_rows
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
