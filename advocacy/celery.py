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
# The beat heartbeat task lives outside any Django app (advocacy/tasks.py); /healthz reads it.
app.autodiscover_tasks(["advocacy"])

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
    # Urgent alerts (a person at imminent risk, or put in an exchange pool) must reach people
    # within minutes. Each alert asks a worker at once; this sweep is the safety net for an
    # enqueue that was lost (the broker was down at commit) and for rows a killed worker left
    # "sending" (taken back when their one-minute lease runs out). Every minute bounds that
    # delay to about two minutes; a sweep that finds nothing is one index lookup. Dropped if
    # not picked up within 50 seconds, like the reminders' dispatch: the next one does the same.
    "send-alert-emails": {
        "task": "cases.send_alert_emails",
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
    # The summary emails of deadline moves (issue 17) are asked for when the move commits;
    # this catches any whose request was lost (broker down at that moment). Every 10 minutes:
    # a summary is news, not a reminder on the minute. It reads pending rows by index.
    "send-pending-deadline-move-notices": {
        "task": "cases.send_pending_deadline_move_notices",
        "schedule": 600.0,
        "options": {"expires": 300},
    },
    # Access review: coordinators get a summary of unusual access to their organization's
    # cases for the week before. Weekly, Monday 06:30 UTC, so it is read at the start of the
    # working week in Europe and Asia. A rerun sends nothing twice (one AccessReviewDigest row
    # per organization and week). A run not picked up within a day is dropped; each run covers
    # the seven days before its own day, so a missed week is sent by running the task by hand
    # (`celery -A advocacy call cases.access_review_weekly`) that week.
    "access-review-weekly": {
        "task": "cases.access_review_weekly",
        "schedule": crontab(minute=30, hour=6, day_of_week=1),
        "options": {"expires": 24 * 3600},
    },
    # The list of where each user is signed in (My settings) keeps ended sessions for a month;
    # once a day is plenty to forget older ones, at a quiet hour.
    "purge-session-list": {
        "task": "cases.purge_session_list",
        "schedule": crontab(minute=41, hour=3),
        "options": {"expires": 6 * 3600},
    },
    # Sent reminders older than REMINDER_LOG_AFTER_DAYS move to the compact delivery log, so
    # the outbox that planning and dispatch read stays small, and what is older than
    # REMINDER_KEEP_DAYS about closed deadlines is deleted (reminders_archive). Daily is
    # plenty: the ages are counted in days, and a day's rows are a small part of the table;
    # 03:55 UTC keeps its deletes away from the 03:40 audit check and the hourly re-plan at
    # :17. Batched and idempotent, so a run dropped after 6 hours is done by the next one.
    "prune-reminders": {
        "task": "cases.prune_reminders",
        "schedule": crontab(hour=3, minute=55),
        "options": {"expires": 6 * 60 * 60},
    },
    # The audit record (history, access log) is checked once a night: the check reads every
    # chained row (minutes on years of data), records the chain heads outside the chains and
    # in the log, and emails staff on a break. Tampering shows within a day; 03:40 UTC keeps it
    # away from the hourly re-plan and working hours in Europe and Asia.
    "verify-audit-chains": {
        "task": "cases.verify_audit_chains",
        "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 6 * 3600},
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
