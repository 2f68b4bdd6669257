"""Reads about urgent alerts: what a case page shows."""

from dataclasses import dataclass

from django.db.models import Prefetch

from cases import access
from cases.models import Alert, AlertCheck, Case


@dataclass
class AlertView:
    """An open alert as one reader sees it: the person's identity only if they may see it."""

    alert: Alert
    checks: list[AlertCheck]
    legal_name: str

    @property
    def all_done(self) -> bool:
        return all(check.done for check in self.checks)


def open_alerts(case: Case, *, user) -> list[AlertView]:
    """The case's open alerts (partial index alert_open_idx), newest first, with their
    checklists; the caller has checked that ``user`` may see the case."""
    alerts = (
        Alert.objects.filter(case=case, closed_at__isnull=True)
        .select_related("prisoner", "raised_by")
        .prefetch_related(
            Prefetch("checks", AlertCheck.objects.select_related("done_by").order_by("position"))
        )
    )
    views = []
    identity: dict[int, bool] = {}
    for alert in alerts:
        prisoner = alert.prisoner
        if prisoner.owner_id not in identity:
            identity[prisoner.owner_id] = access.may_see_identity(user, prisoner)
        checks = list(alert.checks.all())
        for check in checks:
            check.alert = alert  # the label reads the kind
        views.append(
            AlertView(
                alert=alert,
                checks=checks,
                legal_name=prisoner.legal_name if identity[prisoner.owner_id] else "",
            )
        )
    return views
