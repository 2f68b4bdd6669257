from django.core.management.base import BaseCommand, CommandError

from cases.services.search import cases_rebuild_search


class Command(BaseCommand):
    help = (
        "Recompute each case's search document (Case.search_names and search_petitions: its "
        "people's codes, its authorities' names, its petitions' references and titles, which "
        "the case list's search reads) from those rows. Safe to run any time; a second run "
        "changes nothing."
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
        seen, changed = cases_rebuild_search(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(f"Search documents rebuilt: {seen} cases, {changed} changed.")
        )
