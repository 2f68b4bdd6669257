"""Tamper evidence: history and access-log rows are chained per table with SHA-256.

``ChainedRecord`` is the abstract base of every chained table. simple_history's historical
models get it through ``bases=`` / ``m2m_bases=`` (``history()`` in ``base.py``); ``AccessLog``
inherits it. Every row carries

    chain_prev = chain_hash of the row with the greatest primary key below it
                 (64 zeros for the first row of the table)
    chain_hash = SHA-256 hex of chain_prev followed by the row's canonical content

The canonical content (``canonical_content``) is a JSON object of every column except the
two chain columns, keyed by column name, with sorted keys and values turned to strings by
``canonical_value``. docs/security.md states the rule; ``manage.py verify_audit`` recomputes
the chains (``cases/services/audit_chain.py``).

The chain is computed as the row is inserted, so the rows stay append-only: no UPDATE is
ever needed, and on PostgreSQL the application's role may only insert and read these tables
(deploy/audit_grants.sql). Both ways rows reach the database are covered:

- ``save()`` (history rows, access-log entries): ``_do_insert`` stamps the row;
- ``objects.bulk_create()`` (simple_history's many-to-many history rows and its
  ``bulk_history_create``): ``ChainedQuerySet.bulk_create`` stamps the rows in order.

To keep one chain per table when transactions insert at once, the stamping takes a
transaction-scoped advisory lock per table on PostgreSQL (held until commit), and allocates
the primary keys itself, under that lock, so key order is chain order. SQLite runs write
transactions one at a time (``BEGIN IMMEDIATE`` in settings), which serializes them as well.
"""

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, models, transaction
from django.utils import timezone

GENESIS = "0" * 64
CHAIN_FIELDS = ("chain_prev", "chain_hash")


class AppendOnlyError(PermissionError):
    """A chained row was about to be changed or deleted."""


# --- The canonical content and the hash ------------------------------------------------------
def canonical_value(field: models.Field, value: Any) -> str | None:
    """One column's value as a string, the same before the INSERT and when read back."""
    if value is None:
        return None
    value = field.to_python(value)  # "2026-01-03" -> date, "7" -> 7 for an id, ...
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):  # as Django stores a naive value (with a warning)
            value = timezone.make_aware(value, timezone.get_default_timezone())
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        if getattr(field, "decimal_places", None) is not None:
            value = value.quantize(decimal.Decimal(1).scaleb(-field.decimal_places))
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def content_fields(model: type[models.Model]) -> list[models.Field]:
    """The columns a row's hash covers: every column except the two chain columns."""
    return [f for f in model._meta.concrete_fields if f.attname not in CHAIN_FIELDS]


# Columns added to a chained table after its chain began (migration 0006), with the value the
# rows already there were given. A row whose value in such a column is that value leaves the
# column out of its canonical content, so the rows written before the column existed keep
# their hashes; any other value is covered like every other column. A column added to a
# chained table must be listed here (tests/test_audit_chain.py compares the tables with their
# state at 0006). Keyed by table, then column; values as ``canonical_value`` writes them.
_HAPPENED = {"status_changed_on": None, "status_changed_precision": None}  # 0011
LATE_COLUMNS: dict[str, dict[str, str | None]] = {
    "cases_accesslog": {"prisoner_id": None},
    "cases_historicalcase": _HAPPENED,
    "cases_historicaldeadline": _HAPPENED,
    "cases_historicaldocument": {"dated_on": None, "dated_precision": None},
    "cases_historicalpetition": _HAPPENED,
    "cases_historicalprisoner": {
        **_HAPPENED,
        "owner_id": None,
        "place_of_detention_sensitive": "false",
    },
}


def canonical_content(fields: Sequence[models.Field], values: Mapping[str, Any]) -> str:
    """The row as compact JSON, keys (column names) sorted; ``values`` is keyed by attname."""
    row = {}
    for f in fields:
        value = canonical_value(f, values[f.attname])
        late = LATE_COLUMNS.get(f.model._meta.db_table, {})
        if f.column in late and late[f.column] == value:
            continue
        row[f.column] = value
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(chain_prev: str, content: str) -> str:
    return hashlib.sha256((chain_prev + content).encode("utf-8")).hexdigest()


def chain_lock_id(table: str) -> int:
    """A stable signed 64-bit id for the table's advisory lock on PostgreSQL."""
    digest = hashlib.sha256(f"audit-chain:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# --- Stamping new rows ------------------------------------------------------------------------
def _allocate(model: type[models.Model], count: int, using: str) -> tuple[list[int], str]:
    """Lock the table's chain; the next ``count`` primary keys and the hash before them.

    Call inside a transaction: on PostgreSQL the lock is held until it ends.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [chain_lock_id(table)])
            # The keys and the hash before them in one statement, after the lock: its
            # snapshot, taken when it starts, sees every row the lock's earlier holders wrote.
            # The table and column names are the model's own, quoted.
            sql = (
                "WITH new AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS pk "  # noqa: S608
                "FROM generate_series(1, %s)) "
                f"SELECT pk, (SELECT chain_hash FROM {quote(table)} "
                f"WHERE {quote(pk)} < (SELECT MIN(pk) FROM new) "
                f"ORDER BY {quote(pk)} DESC LIMIT 1) FROM new"
            )
            cursor.execute(sql, [quote(table), pk, count])
            rows = cursor.fetchall()
            return sorted(row[0] for row in rows), rows[0][1] or GENESIS
        if connection.vendor == "sqlite":
            # The write lock is already held (BEGIN IMMEDIATE). Keys are never reused, as with
            # AUTOINCREMENT: a deleted last row still counts in sqlite_sequence.
            cursor.execute(
                f"SELECT MAX(COALESCE((SELECT MAX({quote(pk)}) FROM {quote(table)}), 0), "  # noqa: S608
                "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [table],
            )
            start = cursor.fetchone()[0] + 1
            cursor.execute(
                f"SELECT chain_hash FROM {quote(table)} WHERE {quote(pk)} < %s "  # noqa: S608
                f"ORDER BY {quote(pk)} DESC LIMIT 1",
                [start],
            )
            previous = cursor.fetchone()
            return list(range(start, start + count)), previous[0] if previous else GENESIS
        raise NotImplementedError(
            f"Audit chains support PostgreSQL and SQLite, not {connection.vendor}."
        )


def chain_stamp(model: type[models.Model], objs: Sequence[models.Model], using: str) -> None:
    """Give new rows of one chained table their primary keys and chain columns, in order.

    Field values are settled first (``pre_save``, e.g. ``auto_now_add``), so the hash covers
    exactly what is inserted. Call inside ``transaction.atomic(using=using)``.
    """
    fields = content_fields(model)
    pk_field = model._meta.pk
    pks, previous = _allocate(model, len(objs), using)
    for obj, pk in zip(objs, pks, strict=True):
        setattr(obj, pk_field.attname, pk)
        values = {f.attname: pk if f is pk_field else f.pre_save(obj, add=True) for f in fields}
        obj.chain_prev = previous
        obj.chain_hash = previous = row_hash(previous, canonical_content(fields, values))


def _settles_values_on_insert(model: type[models.Model]) -> bool:
    return any(
        getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        for f in model._meta.concrete_fields
    )


class ChainedQuerySet(models.QuerySet):
    """Append-only: ``bulk_create`` chains the rows; ``update`` and ``delete`` refuse."""

    def bulk_create(self, objs: Iterable[models.Model], batch_size=None, **kwargs):
        objs = list(objs)
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError("Chained rows are inserted in chain order, without conflicts.")
        if _settles_values_on_insert(self.model):
            # bulk_create runs pre_save again, so an auto_now value would differ from the one
            # hashed; save() inserts the settled values as they are.
            raise TypeError(f"{self.model.__name__} rows are chained one save() at a time.")
        if not objs:
            return objs
        self._for_write = True
        with transaction.atomic(using=self.db, savepoint=False):
            chain_stamp(self.model, objs, using=self.db)
            return super().bulk_create(objs, batch_size=batch_size, **kwargs)

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only (audit chain).")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only (audit chain).")


class ChainedRecord(models.Model):
    """Abstract base of a chained, append-only table (history rows, the access log)."""

    chain_prev = models.CharField(max_length=64, editable=False)
    chain_hash = models.CharField(max_length=64, editable=False)

    objects = ChainedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.db_table} is append-only (audit chain).")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.db_table} is append-only (audit chain).")

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        if raw:  # loaddata: the fixture's rows go in as they are
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        with transaction.atomic(using=using, savepoint=False):
            chain_stamp(type(self), [self], using=using)
            pk_field = self._meta.pk
            if pk_field not in fields:
                fields = [pk_field, *fields]
            # raw: insert the values stamped above; running pre_save again would change an
            # auto_now_add value after it was hashed.
            return super()._do_insert(manager, using, fields, returning_fields, raw=True)
