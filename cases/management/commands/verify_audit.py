from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.services.audit_chain import head_line, heads_compare, verify_audit


class Command(BaseCommand):
    help = (
        "Recompute the hash chains of every history table and the access log, one line per "
        "table; exit status 1 and the first broken row of each broken table otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--heads",
            action="store_true",
            help="Also print the last hash of each chain ('head <table> <pk> <hash>' lines): "
            "keep them somewhere the database's owner cannot write.",
        )
        parser.add_argument(
            "--compare-heads",
            metavar="FILE",
            help="Check that the heads saved in FILE by an earlier --heads run are still in "
            "the chains (catches a chain rewritten as a whole).",
        )

    def handle(self, *args, heads=False, compare_heads=None, **options):
        recorded = None
        if compare_heads:
            try:
                recorded = Path(compare_heads).read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"Cannot read the heads file: {exc}.") from exc

        results = verify_audit()
        for result in results:
            line = result.describe()
            self.stdout.write(line if result.ok else self.style.ERROR(line))
        broken = [r for r in results if not r.ok]
        problems = heads_compare(recorded) if recorded is not None else []
        for problem in problems:
            self.stdout.write(self.style.ERROR(problem))
        if heads:
            for result in results:
                if result.ok:
                    self.stdout.write(head_line(result))

        if broken:
            names = ", ".join(f"{r.table} at {r.pk_column}={r.broken.pk}" for r in broken)
            raise CommandError(
                f"{len(broken)} of {len(results)} audit chains are broken "
                f"(first broken rows: {names})."
            )
        if problems:
            raise CommandError(
                f"The chains hold, but {len(problems)} recorded heads are no longer in them."
            )
        rows = sum(r.rows_checked for r in results)
        summary = f"All {len(results)} audit chains hold ({rows} rows)."
        if recorded is not None:
            summary += " The recorded heads are still in them."
        self.stdout.write(self.style.SUCCESS(summary))
