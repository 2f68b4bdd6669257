"""Celery tasks: interfaces over the reminder services, each safe to run twice.

They take ids (or nothing), load rows and call a service; the outbox rows say what is due, so
a task that runs twice, late or concurrently sends nothing twice (the dispatcher claims rows).
Schedules are declared once, in advocacy/celery.py.
"""

import logging
from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_ready

from cases.models import Deadline
from cases.services import reminders

log = logging.getLogger(__name__)


@shared_task(name="cases.dispatch_due_reminders")
def dispatch_due_reminders() -> dict:
    """One dispatch round: claim due reminders, send them, record the outcome."""
    result = reminders.reminders_dispatch()
    if result.sent or result.failed or result.retrying:
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


@worker_ready.connect
def _catch_up_on_start(sender=None, **kwargs) -> None:
    """A worker coming back after an outage sends what is due first, then plans what changed
    meanwhile and sends that, instead of waiting for the next scheduled runs."""
    dispatch_due_reminders.delay()
    replan_reminders.delay()
    dispatch_due_reminders.delay()


@shared_task(name="cases.build_export")
def build_export(export_id: int) -> str | None:
    """Build one export (a big dossier); nothing if another run already has it."""
    from cases.services.exports import export_build

    export = export_build(export_id=export_id)
    return export.status if export is not None else None
