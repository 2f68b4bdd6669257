"""Celery tasks: thin entry points over the services, each safe to run twice.

They take ids (or nothing), load rows and call a service; the outbox rows say what is due, so
a task that runs twice, late or concurrently sends nothing twice (the dispatcher claims rows).
Schedules are declared once, in advocacy/celery.py. No logic lives here: the reminder services
(cases/services/reminders/) never import this module.
"""

import datetime as dt
import logging
from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

import advocacy.celery  # noqa: F401 (the configured app, before any task is defined or sent)
from cases.models import Deadline
from cases.services import access_review, alerts, reminders, team

log = logging.getLogger(__name__)


@shared_task(name="cases.dispatch_due_reminders", bind=True)
def dispatch_due_reminders(self) -> dict:
    """One dispatch round: claim due reminders, send them, record the outcome."""
    result = reminders.reminders_dispatch(worker=self.request.hostname or "")
    if result.sent or result.failed or result.retrying or result.recovered or result.revived:
        log.info("Reminder dispatch: %s", asdict(result))
    return asdict(result)


@shared_task(name="cases.plan_deadline_reminders")
def plan_deadline_reminders(deadline_id: int) -> dict | None:
    """Re-plan one deadline's reminders (nothing if it was deleted meanwhile)."""
    deadline = Deadline.objects.select_related("case").filter(pk=deadline_id).first()
    if deadline is None:
        return None
    return asdict(reminders.reminders_plan(deadline=deadline))


@shared_task(name="cases.replan_reminders")
def replan_reminders() -> int:
    """Re-plan every open deadline: picks up changes no service announced."""
    return reminders.reminders_replan_open()


@shared_task(name="cases.recover_worker_reminders")
def recover_worker_reminders(worker: str, started_at: str) -> int:
    """Take back what a worker held when it stopped (it has just started again)."""
    return reminders.reminders_recover_worker(
        worker=worker, started_at=dt.datetime.fromisoformat(started_at)
    )


@shared_task(name="cases.prune_reminders")
def prune_reminders() -> dict:
    """Move old sent reminders to the delivery log; forget what is past keeping."""
    return asdict(reminders.reminders_archive())


@shared_task(name="cases.send_alert_emails", bind=True)
def send_alert_emails(self) -> dict:
    """Send due urgent-alert emails (enqueued when an alert is raised, and swept every minute
    by beat); takes back first what a dead sender left."""
    result = alerts.alert_emails_send(worker=self.request.hostname or "")
    if result.sent or result.failed or result.retrying or result.recovered:
        log.info("Alert emails: %s", asdict(result))
    return asdict(result)


@shared_task(name="cases.recover_worker_alert_emails")
def recover_worker_alert_emails(worker: str, started_at: str) -> int:
    """Take back the alert emails a worker held when it stopped (it has just started again)."""
    return alerts.alert_emails_recover_worker(
        worker=worker, started_at=dt.datetime.fromisoformat(started_at)
    )


@worker_ready.connect
def _catch_up_on_start(sender=None, **kwargs) -> None:
    """A worker coming back after an outage first takes back the rows it held when it stopped
    (killed mid-send), then sends what is due, plans what changed meanwhile and sends that,
    instead of waiting for the next scheduled runs."""
    hostname = getattr(sender, "hostname", "") or ""
    if hostname:
        recover_worker_alert_emails.delay(hostname, timezone.now().isoformat())
        recover_worker_reminders.delay(hostname, timezone.now().isoformat())
    send_alert_emails.delay()
    dispatch_due_reminders.delay()
    replan_reminders.delay()
    dispatch_due_reminders.delay()


@shared_task(name="cases.send_password_reset")
def send_password_reset(email: str) -> int:
    """The password-reset email asked for on the sign-in page (nothing for an unknown
    address). Safe to run twice: a second email carries another valid link."""
    from cases.services.accounts import password_reset_send

    return password_reset_send(email=email)


@shared_task(name="cases.verify_audit_chains")
def verify_audit_chains() -> bool:
    """Verify the audit chains and record their heads; alerts staff on a break."""
    from cases.services.audit_chain import audit_check

    return audit_check().ok


@shared_task(name="cases.notify_link_request")
def notify_link_request(link_request_id: int) -> int:
    """Tell the person's owner about a request to put them on another case."""
    from cases.services.links import person_link_request_notify

    return person_link_request_notify(link_request_id=link_request_id)


# A mail server that is down (OSError, SMTPException) is tried again 1, 2, 4 ... minutes later.
@shared_task(
    name="cases.send_invitation", autoretry_for=(OSError,), retry_backoff=60, max_retries=8
)
def send_invitation(invitation_id: int) -> bool:
    """Email an invitation whose email is due (the row says so; sending twice is refused)."""
    return team.invitation_send(invitation_id=invitation_id)


@shared_task(name="cases.access_review_weekly")
def access_review_weekly() -> int:
    """The weekly access-review emails to coordinators (each organization and week once)."""
    return access_review.access_review_weekly()


@shared_task(name="cases.purge_session_list")
def purge_session_list() -> int:
    """Forget the session list's rows a month after the sessions ended."""
    return team.sessions_purge()


@shared_task(name="cases.build_export")
def build_export(export_id: int) -> str | None:
    """Build one export (a big dossier); nothing if another run already has it."""
    from cases.services.exports import export_build

    export = export_build(export_id=export_id)
    return export.status if export is not None else None


# A mail server that is down is tried again 1, 2, 4 ... minutes later; notices already sent
# are not sent again (the service marks each one sent in the transaction that sends it).
@shared_task(
    name="cases.send_deadline_move_notices",
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=8,
)
def send_deadline_move_notices(move_id: int) -> int:
    """The summary emails of one deadline move (or its undo): one per assignee."""
    from cases.services.developments import deadline_move_notify

    return deadline_move_notify(move_id=move_id)


@shared_task(name="cases.send_pending_deadline_move_notices")
def send_pending_deadline_move_notices() -> int:
    """The summary emails whose request was lost (the periodic catch-up)."""
    from cases.services.developments import deadline_move_notify_pending

    return deadline_move_notify_pending()
