from django.core.management.base import BaseCommand

from cases.services.audit_chain import audit_grants_sql


class Command(BaseCommand):
    help = (
        "Print the psql script that leaves the application's PostgreSQL role only INSERT and "
        "SELECT on the history tables and the access log (deploy/audit_grants.sql is its output)."
    )

    def handle(self, *args, **options):
        self.stdout.write(audit_grants_sql())
