from django.db import DatabaseError, migrations, transaction

# The case list's search finds people of concern by any part of their code
# (code__icontains, i.e. UPPER(code) LIKE '%...%'), which no B-tree index serves: on PostgreSQL
# it read every person on every search. A trigram index on UPPER(code) serves it; it needs the
# pg_trgm extension, which ships with PostgreSQL and which a database owner may create
# (a "trusted" extension since PostgreSQL 13). Where it cannot be created the search still
# works, only without the index, and the migration says so. SQLite: nothing to do.

INDEX = "prisoner_code_trgm_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON cases_prisoner "
                "USING gin (UPPER(code) gin_trgm_ops)"
            )
    except DatabaseError as exc:
        print(
            f"\n  The pg_trgm extension could not be created ({exc}); searching people by "
            "code works without the index, more slowly. A database superuser can run "
            "'CREATE EXTENSION pg_trgm;' and then 'manage.py migrate cases 0008' and "
            "'manage.py migrate' again."
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_timeline_version"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
