"""Tamper evidence: verify the audit hash chains and write the grants that protect them.

The chain format (what each row's hash covers) is defined in ``cases/models/chain.py``.
``verify_audit`` recomputes every chain, streaming each table in primary-key order, and names
the first broken row and what is wrong with it. ``audit_grants_sql`` renders
deploy/audit_grants.sql, which leaves the application's PostgreSQL role only INSERT and
SELECT on the chained tables. Both are run by management commands of the same names.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models

from cases.models.chain import GENESIS, ChainedRecord, canonical_content, content_fields, row_hash

CONTENT_CHANGED = "content changed"
ROW_MISSING = "row missing"
REORDERED = "reordered"


@dataclass(frozen=True)
class ChainBreak:
    pk: Any
    problem: str  # CONTENT_CHANGED, ROW_MISSING or REORDERED
    explanation: str


@dataclass(frozen=True)
class ChainResult:
    table: str
    pk_column: str
    rows_checked: int  # all rows when the chain holds, else the rows before the break
    head_pk: Any  # the last row when the chain holds (None for an empty table)
    head_hash: str
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken is None:
            return f"{self.table}: {_rows_text(self.rows_checked)} checked, OK"
        return (
            f"{self.table}: BROKEN at {self.pk_column}={self.broken.pk} "
            f"({self.broken.problem}): {self.broken.explanation} "
            f"[{_rows_text(self.rows_checked)} before it intact]"
        )


def _rows_text(count: int) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def chained_models() -> list[type[models.Model]]:
    """Every chained table: the history tables of the cases app and the access log."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, ChainedRecord) and not model._meta.proxy
    ]
    return sorted(found, key=lambda model: model._meta.db_table)


class AuditedRowError(Exception):
    """Deleting this row would rewrite rows of an audit chain."""


def chained_references(obj: models.Model) -> Iterator[str]:
    """The chained tables whose rows point at ``obj`` through a foreign key that deleting it
    would change (``SET_NULL``, such as who made a history row or viewed a case), one query
    per table, as they are found.

    History keeps a deleted row's own id untouched (``DO_NOTHING``), so only those change.
    """
    for model in chained_models():
        if any(
            field.is_relation
            and field.related_model is type(obj)
            and field.remote_field.on_delete is not models.DO_NOTHING
            and model._base_manager.filter(**{field.name: obj.pk}).exists()
            for field in model._meta.concrete_fields
        ):
            yield model._meta.db_table


def named_in_audit_record(obj: models.Model) -> bool:
    """Whether deleting ``obj`` would change chained rows (stops at the first one found)."""
    return next(chained_references(obj), None) is not None


def refuse_deleting_audited_rows(sender, instance, **kwargs) -> None:
    """pre_delete receiver (connected in apps.py): a user who made history rows or viewed a
    case, or a case that was viewed, stays; deleting them would rewrite chained rows (or, with
    deploy/audit_grants.sql applied, fail half-way). Deactivate users and close cases."""
    tables = list(chained_references(instance))
    if tables:
        raise AuditedRowError(
            f"{sender._meta.verbose_name} {instance.pk} is named in the audit record "
            f"({', '.join(tables)}) and cannot be deleted: deleting it would rewrite those "
            "rows. Deactivate a user, close a case."
        )


def _rows(model: type[models.Model], names: list[str], using: str):
    """The table in primary-key order, streamed: memory stays bounded on any size."""
    return (
        model._base_manager.using(using)
        .order_by(model._meta.pk.attname)
        .values_list(*names)
        .iterator(chunk_size=2000)
    )


def verify_chain(model: type[models.Model], *, using: str = DEFAULT_DB_ALIAS) -> ChainResult:
    """Recompute one table's chain; the first row where it breaks, if any."""
    fields = content_fields(model)
    pk = model._meta.pk
    names = [f.attname for f in fields]
    expected_prev, head_pk, checked = GENESIS, None, 0
    suspect = None
    for chain_prev, chain_hash, *values in _rows(
        model, ["chain_prev", "chain_hash", *names], using
    ):
        row = dict(zip(names, values, strict=True))
        content_ok = row_hash(chain_prev, canonical_content(fields, row)) == chain_hash
        link_ok = chain_prev == expected_prev
        if not (content_ok and link_ok):
            suspect = (row, chain_prev, chain_hash, content_ok, link_ok)
            break
        expected_prev, head_pk, checked = chain_hash, row[pk.attname], checked + 1
    result = ChainResult(model._meta.db_table, pk.column, checked, head_pk, expected_prev)
    if suspect is None:
        return result
    broken = _diagnose(model, fields, *suspect, previous_pk=head_pk, using=using)
    return ChainResult(result.table, pk.column, checked, None, "", broken)


def _diagnose(
    model, fields, row, chain_prev, chain_hash, content_ok, link_ok, *, previous_pk, using
) -> ChainBreak:
    """Say what is wrong with the first broken row: changed, after a gap, or moved.

    A row whose content (or whole row, chain columns included) hashes correctly at another
    primary key was moved there from that key; a row whose chain_prev is the hash of a row
    other than the one before it was moved too. Otherwise a wrong hash means changed content
    and a wrong chain_prev means a deleted row before it. This costs one more pass over the
    table, only for a broken chain.
    """
    pk = model._meta.pk
    this_pk = row[pk.attname]

    def content_at(other_pk) -> str:
        return canonical_content(fields, {**row, pk.attname: other_pk})

    content_of = whole_row_of = follows = None
    for other_pk, other_prev, other_hash in _rows(
        model, [pk.attname, "chain_prev", "chain_hash"], using
    ):
        if other_pk == this_pk:
            continue
        if not content_ok:
            if content_of is None and row_hash(other_prev, content_at(other_pk)) == other_hash:
                content_of = other_pk
            if whole_row_of is None and row_hash(chain_prev, content_at(other_pk)) == chain_hash:
                whole_row_of = other_pk
        if not link_ok and follows is None and other_hash == chain_prev and other_pk != previous_pk:
            follows = other_pk

    column = pk.column
    if content_of is not None:
        return ChainBreak(
            this_pk,
            REORDERED,
            f"rows were reordered: it holds the content written as {column}={content_of}",
        )
    if whole_row_of is not None:
        return ChainBreak(
            this_pk,
            REORDERED,
            f"rows were reordered: it holds the row written as {column}={whole_row_of}, "
            "chain columns included",
        )
    if not content_ok:
        also = "" if link_ok else ", and its chain_prev does not match the row before it"
        return ChainBreak(
            this_pk,
            CONTENT_CHANGED,
            f"its content was changed after it was written (its hash does not match{also})",
        )
    if follows is not None:
        return ChainBreak(
            this_pk,
            REORDERED,
            f"rows were reordered: its chain_prev is the hash of {column}={follows}, "
            "not of the row before it",
        )
    before = f"{column}={previous_pk}" if previous_pk is not None else "none: it is the first row"
    return ChainBreak(
        this_pk,
        ROW_MISSING,
        f"a row is missing before it: its chain_prev does not match the hash of the row "
        f"before it ({before})",
    )


def verify_audit(*, using: str = DEFAULT_DB_ALIAS) -> list[ChainResult]:
    return [verify_chain(model, using=using) for model in chained_models()]


# --- Chain heads kept elsewhere ---------------------------------------------------------------
HEAD_LINE = re.compile(r"^head (?P<table>\S+) (?P<pk>\S+) (?P<hash>[0-9a-f]{64})$")


def head_line(result: ChainResult) -> str:
    """``head <table> <last primary key, - if empty> <its chain_hash>``, for a holding chain."""
    pk = "-" if result.head_pk is None else result.head_pk
    return f"head {result.table} {pk} {result.head_hash}"


def heads_compare(lines: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Check heads recorded earlier (``verify_audit --heads``) against the tables now.

    A chain that verifies but no longer contains a recorded head was rewritten (or cut back)
    after that record was taken. Returns one sentence per problem; lines that are not head
    lines are ignored, so a whole saved output can be passed in.
    """
    by_table = {model._meta.db_table: model for model in chained_models()}
    problems = []
    for line in lines:
        match = HEAD_LINE.match(line.strip())
        if not match or match["pk"] == "-":
            continue
        table, pk, recorded = match["table"], match["pk"], match["hash"]
        model = by_table.get(table)
        if model is None:
            problems.append(f"{table}: the recorded table is no longer chained.")
            continue
        current = (
            model._base_manager.using(using)
            .filter(pk=pk)
            .values_list("chain_hash", flat=True)
            .first()
        )
        if current is None:
            problems.append(
                f"{table}: the recorded head {model._meta.pk.column}={pk} is gone "
                "(rows were deleted)."
            )
        elif current != recorded:
            problems.append(
                f"{table}: {model._meta.pk.column}={pk} no longer has the recorded hash "
                "(the chain was rewritten)."
            )
    return problems


# --- Grants on PostgreSQL ----------------------------------------------------------------------
def audit_grants_sql() -> str:
    """The psql script that makes the chained tables insert-and-read-only for the app's role."""
    chained = [(m._meta.db_table, m._meta.pk.column) for m in chained_models()]
    tables = ",\n    ".join(table for table, _ in chained)
    values = ",\n    ".join(f"('{table}', '{column}')" for table, column in chained)
    quoted = ",\n        ".join(f"'{table}'" for table, _ in chained)
    return f"""\
-- Audit tables are insert-and-read-only for the application's database role.
--
-- Generated by `manage.py audit_grants_sql` from the models: do not edit by hand
-- (tests/test_audit_chain.py checks this file is up to date). See docs/security.md.
--
-- Run it as the owner of the tables (the role that runs migrations), after the
-- application's role has been given its usual rights on the other tables, and again after
-- every migration that adds a history table:
--
--     psql "$OWNER_DATABASE_URL" -v app_role=advocacy_app -f deploy/audit_grants.sql
--
-- The application's role must not own the tables nor be a member of their owner:
-- an owner can always grant itself the rights back. The script refuses such a role.

\\set ON_ERROR_STOP on
\\if :{{?app_role}}
\\else
  DO $$ BEGIN RAISE EXCEPTION
    'Name the application role: psql -v app_role=<role> -f deploy/audit_grants.sql'; END $$;
\\endif

BEGIN;

SELECT set_config('audit_grants.app_role', :'app_role', true) AS app_role_set \\gset

DO $$
DECLARE
  app_role text := current_setting('audit_grants.app_role');
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = app_role) THEN
    RAISE EXCEPTION 'Role % is a superuser: no grant can restrict it.', app_role;
  END IF;
  IF EXISTS (
    SELECT FROM pg_tables
    WHERE schemaname = current_schema() AND tablename IN (
        {quoted}
      )
      AND pg_has_role(app_role::name, tableowner, 'USAGE')
  ) THEN
    RAISE EXCEPTION 'Role % owns the audit tables (or is a member of their owner).', app_role;
  END IF;
END
$$;

-- No changing or removing rows, also not through PUBLIC.
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE
    {tables}
FROM PUBLIC, :"app_role";

-- Adding and reading rows.
GRANT SELECT, INSERT ON TABLE
    {tables}
TO :"app_role";

-- New rows take their primary key from the table's sequence (cases/models/chain.py).
SELECT format('GRANT USAGE ON SEQUENCE %s TO %I', pg_get_serial_sequence(t, c), :'app_role')
FROM (VALUES
    {values}
) AS chained (t, c)
\\gexec

COMMIT;"""  # noqa: S608 (the names come from the models, not from input)


class AppRoleError(Exception):
    """The role named for the application cannot be restricted (a superuser, or the owner)."""


def app_role_grant(*, role: str, password: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """As the tables' owner: create the application's role (or set its password), give it
    the usual rights on every table and sequence of the schema, and leave it only INSERT and
    SELECT on the chained tables, as deploy/audit_grants.sql does. Run after every migrate:
    new tables get their rights here."""
    from django.db import connections, transaction

    connection = connections[using]
    quote = connection.ops.quote_name
    chained = ", ".join(quote(m._meta.db_table) for m in chained_models())
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found and found[0]:
            raise AppRoleError(f"Role {role} is a superuser: no grant can restrict it.")
        verb = "ALTER" if found else "CREATE"
        cursor.execute(
            f"{verb} ROLE {quote(role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s",
            [password],
        )
        cursor.execute(
            "SELECT pg_has_role(%s, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'cases_accesslog'",
            [role],
        )
        owns = cursor.fetchone()
        if owns and owns[0]:
            raise AppRoleError(f"Role {role} owns the tables (or is a member of their owner).")
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        role_q, schema_q = quote(role), quote(schema)
        cursor.execute(f"GRANT CONNECT ON DATABASE {quote(database)} TO {role_q}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema_q} TO {role_q}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q} TO {role_q}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {role_q}")
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {chained} FROM PUBLIC, {role_q}")
        cursor.execute(f"GRANT SELECT, INSERT ON TABLE {chained} TO {role_q}")


# --- The periodic check ------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditCheck:
    results: list[ChainResult]
    lost_heads: list[str]  # recorded heads no longer in their chains

    @property
    def ok(self) -> bool:
        return not self.lost_heads and all(r.ok for r in self.results)


def audit_check(*, using: str = DEFAULT_DB_ALIAS) -> AuditCheck:
    """Verify every chain and the heads recorded by the previous check; record the new heads
    (in AuditChainHead and, one line each, in the log); on any break, log an error and tell
    the installation's staff by email. Run by beat (cases.verify_audit_chains)."""
    import logging

    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    from cases.models import AuditChainHead

    log = logging.getLogger("cases.audit")
    recorded = list(AuditChainHead.objects.using(using).values_list("line", flat=True))
    results = verify_audit(using=using)
    check = AuditCheck(results=results, lost_heads=heads_compare(recorded, using=using))
    for result in results:
        if result.ok:
            line = head_line(result)
            log.info("audit chain %s", line)
            AuditChainHead.objects.using(using).update_or_create(
                table=result.table, defaults={"line": line}
            )
    if check.ok:
        return check
    problems = [r.describe() for r in results if not r.ok] + check.lost_heads
    for problem in problems:
        log.error("AUDIT CHAIN BROKEN: %s", problem)
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    recipients = list(staff.values_list("email", flat=True))
    if recipients:
        send_mail(
            subject="[Case tracker] The audit record was changed",
            message=(
                "The periodic check of the audit record (history and access log) found rows "
                "changed, removed or rewritten behind the application's back:\n\n"
                + "\n".join(f"- {p}" for p in problems)
                + "\n\nSee docs/security.md, 'Tamper evidence', for what to do next."
            ),
            from_email=None,
            recipient_list=recipients,
        )
    return check
