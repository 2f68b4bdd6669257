"""One reminder dispatch round, for installations that run cron instead of Celery beat.

A crontab doing what beat does (advocacy/celery.py)::

    * * * * *   manage.py send_due_reminders            (every minute: send what is due)
    17 * * * *  manage.py send_due_reminders --replan   (hourly: re-plan open deadlines first)
    55 3 * * *  manage.py send_due_reminders --prune    (daily: retention, as prune_reminders)
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from cases.management.commands import prune_reminders
from cases.services import reminders
from cases.services.reminders import delivery


class Command(BaseCommand):
    help = "Send the reminder emails that are due now (one dispatch round), then exit."

    def add_arguments(self, parser):
        parser.add_argument(
            "--replan",
            action="store_true",
            help="First re-plan the reminders of every open deadline (as beat does hourly).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="First apply the retention policy (as prune_reminders and beat daily): sent "
            "reminders older than REMINDER_LOG_AFTER_DAYS to the delivery log, and what is older "
            "than REMINDER_KEEP_DAYS about closed deadlines deleted.",
        )
        parser.add_argument(
            "--batch-size",
            type=prune_reminders.positive_number,
            default=delivery.BATCH_SIZE,
            help=f"Emails sent per SMTP connection (default {delivery.BATCH_SIZE}).",
        )
        parser.add_argument(
            "--time-budget",
            type=prune_reminders.positive_number,
            default=int(delivery.TIME_BUDGET.total_seconds()),
            help="Stop claiming new reminders after this many seconds (default "
            f"{int(delivery.TIME_BUDGET.total_seconds())}); the next run carries on.",
        )

    def handle(
        self, *args, replan: bool, prune: bool, batch_size: int, time_budget: int, **options
    ):
        try:
            if prune:
                self.stdout.write(prune_reminders.report(reminders.reminders_archive()))
            if replan:
                count = reminders.reminders_replan_open()
                self.stdout.write(f"Re-planned the reminders of {count} deadline(s).")
            result = reminders.reminders_dispatch(
                batch_size=batch_size, time_budget=dt.timedelta(seconds=time_budget)
            )
        except DatabaseError as exc:
            raise CommandError(
                f"Could not read the reminder outbox ({exc}). Is the database migrated "
                "(manage.py migrate) and reachable?"
            ) from exc
        self.stdout.write(
            f"Sent {result.sent} email(s) for {result.delivered_rows} reminder(s); "
            f"{result.retrying} to retry, {result.failed} failed, {result.cancelled} cancelled, "
            f"{result.recovered} recovered from a stopped worker, "
            f"{result.revived} sent again now that the mail server answers."
        )
        if result.more:
            self.stdout.write("Stopped at the time budget; run again to send the rest.")
        if result.failed:
            self.stderr.write(
                self.style.ERROR(
                    f"{result.failed} reminder(s) could not be delivered (refused, or after every "
                    "attempt); the coordinators of their cases are told, and the admin lists them."
                )
            )
