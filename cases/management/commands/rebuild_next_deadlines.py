from django.core.management.base import BaseCommand, CommandError

from cases.services.deadlines import cases_rebuild_next_deadlines


class Command(BaseCommand):
    help = (
        "Recompute each case's next open deadline (Case.next_deadline_on, what the case list "
        "shows and sorts on) from its deadlines. Safe to run any time; a second run changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help="cases read and written per transaction (default 2000)",
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError(
                f"--batch-size must be a whole number of at least 1, not {batch_size}."
            )
        seen, changed = cases_rebuild_next_deadlines(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(f"Next deadlines rebuilt: {seen} cases, {changed} changed.")
        )
