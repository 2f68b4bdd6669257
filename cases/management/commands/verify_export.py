"""Tell whether a file is an export this installation made, and which one.

    manage.py verify_export dossier.pdf

Exits 0 and describes the export when the file's SHA-256 and size match a recorded export
(with its access-log entry); exits 1 when they match none (a changed or foreign file).
"""

from django.core.management.base import BaseCommand, CommandError

from cases.services.exports import export_identify


class Command(BaseCommand):
    help = "Recompute a file's SHA-256 and say which recorded export it is, if any."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The exported file (PDF, CSV or XLSX).")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as handle:
                found = export_identify(handle)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        export = found.export
        if export is None:
            raise CommandError(
                f"NOT RECOGNISED: SHA-256 {found.sha256} ({found.size} bytes) matches no "
                "recorded export. The file was changed, or it was not made here."
            )
        entry = export.access_log
        self.stdout.write(
            f"RECOGNISED: export {export.pk} ({export.kind}, {export.format.upper()}), "
            f"case {export.case.reference if export.case else '—'}, "
            f"profile {export.profile}, prepared for {export.audience} "
            f"by {export.organization.name}, "
            f"exported by {entry.username if entry else '—'} "
            f"on {export.finished_at:%Y-%m-%d %H:%M} UTC; "
            f"access log entry {entry.pk if entry else '—'}; "
            f"SHA-256 {found.sha256}, {found.size} bytes."
        )
