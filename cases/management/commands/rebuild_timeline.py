from django.core.management.base import BaseCommand

from cases.services.timeline import timeline_rebuild


class Command(BaseCommand):
    help = "Recompute every case timeline from the audited history (safe to run any time)."

    def handle(self, *args, **options):
        count = timeline_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Timeline rebuilt: {count} entries."))
