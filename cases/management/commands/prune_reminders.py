"""The reminder retention policy, for cron installations and by hand (beat runs it daily).

    55 3 * * *  manage.py prune_reminders

Sent rows older than REMINDER_LOG_AFTER_DAYS move to the delivery log; what the outbox and the
log hold about deadlines that are no longer open, older than REMINDER_KEEP_DAYS, is deleted
(docs/reminders.md, "What is kept"). Batched and idempotent: stop it and run it again.
"""

from django.core.management.base import BaseCommand

from cases.services import reminders


def positive_number(value: str) -> int:
    """argparse type of the reminder commands' counts (send_due_reminders uses it too)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Move old sent reminders to the delivery log and delete what is past keeping."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=positive_number,
            default=1000,
            help="Rows moved or deleted per transaction (default 1000).",
        )

    def handle(self, *args, batch_size: int, **options):
        result = reminders.reminders_archive(chunk=batch_size)
        self.stdout.write(report(result))


def report(result: reminders.ArchiveResult) -> str:
    return (
        f"Moved {result.moved_to_log} sent reminder(s) to the delivery log.\n"
        f"Deleted {result.outbox_deleted} cancelled or failed reminder(s) and "
        f"{result.log_deleted} delivery-log row(s) about closed deadlines, past keeping."
    )
