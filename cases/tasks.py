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

from cases.models import Deadline
from cases.services import reminders

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
def prune_reminders() -> int:
    """Move old sent reminders from the outbox to the compact delivery log."""
    return reminders.reminders_prune()


@worker_ready.connect
def _catch_up_on_start(sender=None, **kwargs) -> None:
    """A worker coming back after an outage first takes back the rows it held when it stopped
    (killed mid-send), then sends what is due, plans what changed meanwhile and sends that,
    instead of waiting for the next scheduled runs."""
    hostname = getattr(sender, "hostname", "") or ""
    if hostname:
        recover_worker_reminders.delay(hostname, timezone.now().isoformat())
    dispatch_due_reminders.delay()
    replan_reminders.delay()
    dispatch_due_reminders.delay()
