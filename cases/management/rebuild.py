"""What the commands that rebuild a derived column of every case share (rebuild_next_deadlines,
rebuild_search_documents)."""

from django.core.management.base import BaseCommand, CommandError


class RebuildCommand(BaseCommand):
    # Set by each command: the service that rebuilds (cases.services.derived.cases_rebuild
    # with its refresh) and what the closing line calls what was rebuilt.
    rebuild = None
    rebuilt = ""

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
        seen, changed = type(self).rebuild(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(f"{self.rebuilt} rebuilt: {seen} cases, {changed} changed.")
        )
