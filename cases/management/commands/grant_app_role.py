"""Give the application its own PostgreSQL role, which cannot rewrite the audit record.

Run as the owner of the tables (the role migrations run with), after every migrate:

    DATABASE_URL=postgres://owner:...@db/advocacy \\
    DATABASE_APP_URL=postgres://advocacy_app:...@db/advocacy \\
        python manage.py grant_app_role

docker-compose.yml runs it in its ``migrate`` service, before the web server, the worker and
beat start with DATABASE_URL set to the application role's address.
"""

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cases.services.audit_chain import AppRoleError, app_role_grant


class Command(BaseCommand):
    help = (
        "Create (or update the password of) the application's PostgreSQL role named in "
        "DATABASE_APP_URL, grant it the usual rights on every table, and only INSERT and "
        "SELECT on the audit tables. Run as the tables' owner."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are a PostgreSQL matter: DATABASE_URL is not one.")
        if not settings.DATABASE_APP_URL:
            raise CommandError(
                "Set DATABASE_APP_URL to the application role's address, e.g. "
                "postgres://advocacy_app:<password>@db:5432/advocacy."
            )
        try:
            app = dj_database_url.parse(settings.DATABASE_APP_URL)
        except ValueError as exc:
            raise CommandError(f"DATABASE_APP_URL is not a database address: {exc}") from None
        role, password = app.get("USER"), app.get("PASSWORD")
        if not role or not password:
            raise CommandError("DATABASE_APP_URL must name the role and its password.")
        owner = connection.settings_dict.get("USER")
        if role == owner:
            raise CommandError(
                f"DATABASE_APP_URL names the owner ({owner}): the application needs a role of "
                "its own, or it could grant itself the rights back."
            )
        if app.get("NAME") and app["NAME"] != connection.settings_dict["NAME"]:
            raise CommandError(
                f"DATABASE_APP_URL names the database {app['NAME']!r}, but DATABASE_URL "
                f"{connection.settings_dict['NAME']!r}: they must be the same database."
            )
        try:
            app_role_grant(role=role, password=password)
        except AppRoleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Role {role} may read and write the application's tables, and only add to "
                "and read the audit tables."
            )
        )
