"""Reads about urgent alerts: what a case page shows."""

from dataclasses import dataclass

from django.db.models import Prefetch

from cases.models import Alert, AlertCheck, Case


@dataclass
class AlertView:
    """An open alert with its checklist. The person by code only, for everyone: identities are
    read on the person's page, through a reveal that is logged (docs/security.md), never on
    the case page, not even for those who may see them."""

    alert: Alert
    checks: list[AlertCheck]

    @property
    def all_done(self) -> bool:
        return all(check.done for check in self.checks)


def open_alerts(case: Case) -> list[AlertView]:
    """The case's open alerts (partial index alert_open_idx), newest first, with their
    checklists; the caller has checked that the reader may see the case."""
    alerts = (
        Alert.objects.filter(case=case, closed_at__isnull=True)
        .select_related("prisoner", "raised_by")
        .prefetch_related(
            Prefetch("checks", AlertCheck.objects.select_related("done_by").order_by("position"))
        )
    )
    views = []
    for alert in alerts:
        checks = list(alert.checks.all())
        for check in checks:
            check.alert = alert  # the label reads the kind
        views.append(AlertView(alert=alert, checks=checks))
    return views
