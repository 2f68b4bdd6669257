"""The Celery application. Settings come from Django settings under the CELERY_ namespace.

Run a worker and beat with ``celery -A advocacy worker`` and ``celery -A advocacy beat``
(``make demo`` starts both). Every periodic job is declared here, and only here.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "advocacy.settings")

app = Celery("advocacy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The beat heartbeat task lives outside any Django app, beside /healthz which reads it.
app.autodiscover_tasks(["advocacy"], related_name="health")

app.conf.beat_schedule = {
    # Reminders are due on the minute (08:00 in each reader's time zone, retries 1 minute to
    # 1 hour apart), so a dispatch every minute sends each one at most a minute late. A round
    # that finds nothing costs one index lookup. A message not picked up within 50 seconds is
    # dropped: the next minute's round does the same work, so a stopped worker does not come
    # back to a pile of identical rounds.
    "dispatch-due-reminders": {
        "task": "cases.dispatch_due_reminders",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Re-planning catches what no service call announced (a deadline edited in the admin, a new
    # coordinator, a changed time zone or mute). Hourly keeps such a change at most an hour
    # from the plan without re-reading every open deadline every minute.
    "replan-reminders": {
        "task": "cases.replan_reminders",
        "schedule": crontab(minute=17),
        "options": {"expires": 30 * 60},
    },
    # Sent reminders older than REMINDER_LOG_AFTER_DAYS move to the compact delivery log, so
    # the outbox that planning and dispatch read stays small. Daily is plenty: the age is
    # counted in days, and a day's sent rows are a small part of the table.
    "prune-reminders": {
        "task": "cases.prune_reminders",
        "schedule": crontab(hour=3, minute=41),
        "options": {"expires": 6 * 60 * 60},
    },
    # /healthz (advocacy/health.py) fails when the last heartbeat is older than 150 s. A
    # load balancer acts on that, so it must be fresh: every 30 s gives five chances before a
    # failure, so a worker restart does not flap the check. The task is one Redis write. A
    # heartbeat not picked up within 25 s is dropped: run late, it would claim a freshness
    # that the schedule no longer has.
    "beat-heartbeat": {
        "task": "advocacy.beat_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}
