"""Querysets compiled to SQL once per process and run again with other values.

Building a queryset's SQL through the ORM, and PostgreSQL planning it, cost milliseconds per
query (the case page's timeline reads three: 10-20 ms of its selector, 2-6 ms compiled and
prepared; see docs/performance.md, "Case timeline"). A ``Compiled``
query is built once from a queryset made with *stand-ins*: values no row can have (see
``stand_in``), one per value that changes between runs. The SQL and its parameters are kept;
each parameter that is a stand-in is a *slot*, filled on every run. A list slot (``IN (...)``)
is compiled from a list of one stand-in and takes a list of any length but zero (a query
with an empty list has another shape: the caller asks the ORM, or keys the shape apart).

On PostgreSQL a list slot is one array parameter (``= ANY(%s)``), so the statement's text
is the same whatever the number of ids, and the statement is prepared once per connection.

The rows come back converted as the ORM would convert them (the backend's and the fields'
converters, read at compile time), so a run returns what ``values_list`` would.
tests/test_timeline_compiled.py compares every compiled query with its ORM queryset.
"""

import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

_PLACEHOLDER = re.compile(r"%%|%s")
_STAND_IN_BASE = -7_340_000_000_000  # below any id this application hands out
_MAX_SHAPES = 512  # shapes kept per process (filters x page numbers); cleared when full


def stand_in(n: int) -> int:
    """The ``n``-th stand-in value: an id no row has."""
    return _STAND_IN_BASE - n


@dataclass(frozen=True)
class Compiled:
    """A query's SQL cut at its placeholders, with what fills each: ``("const", value)``,
    ``("one", slot)`` or ``("many", slot)``."""

    alias: str
    pieces: tuple[str, ...]  # len(fills) + 1 pieces of SQL around the placeholders
    fills: tuple[tuple[str, object], ...]
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple, object], ...]

    prepared: bool = False  # PostgreSQL: lists as one array (= ANY), the statement prepared

    def rows(self, **values) -> list[tuple]:
        """Run the query with these values in its slots; rows as ``values_list`` gives."""
        sql = [self.pieces[0]]
        params: list = []
        for (how, what), piece in zip(self.fills, self.pieces[1:], strict=True):
            if how == "const":
                sql.append("%s")
                params.append(what)
            elif how == "one":
                sql.append("%s")
                params.append(values[what])
            else:
                items = values[what]
                if not items:
                    raise ValueError(f"{what}: a list slot needs at least one value")
                if self.prepared:
                    sql.append("%s")
                    params.append(list(items))
                else:
                    sql.append(", ".join(["%s"] * len(items)))
                    params.extend(items)
            sql.append(piece)
        connection = connections[self.alias]
        rows = run_statement("".join(sql), params, using=self.alias, prepared=self.prepared)
        if not self.converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            row = list(row)
            for pos, convs, expression in self.converters:
                value = row[pos]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[pos] = value
            converted.append(tuple(row))
        return converted

    def dicts(self, **values) -> list[dict]:
        """``rows`` as ``values()`` gives them: {name: value}."""
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in self.rows(**values)]


def compile_queryset(queryset: QuerySet, slots: dict[str, tuple[str, object]]) -> Compiled:
    """Compile ``queryset`` (a ``values``/``values_list`` one, made with stand-ins) once.

    ``slots``: {name: ("one" | "many", the stand-in used for it)}; each stand-in must turn
    up in the parameters, and as one placeholder per ``IN`` for a list.
    """
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    by_value = {value: (how, name) for name, (how, value) in slots.items()}
    pieces, fills, start, index = [], [], 0, 0
    for match in _PLACEHOLDER.finditer(sql):
        if match.group() == "%%":
            continue
        pieces.append(sql[start : match.start()])
        start = match.end()
        param = params[index]
        index += 1
        found = by_value.get(param) if isinstance(param, int | str) else None
        fills.append((found[0], found[1]) if found else ("const", param))
    pieces.append(sql[start:])
    if index != len(params):
        raise ValueError("placeholders and parameters do not match")
    unused = {name for name in slots} - {what for how, what in fills if how != "const"}
    if unused:
        raise ValueError(f"stand-ins not found in the query: {sorted(unused)}")
    prepared = connections[queryset.db].vendor == "postgresql" and _PreparingCursor is not None
    if prepared:
        for n, (how, _what) in enumerate(fills):
            before, after = pieces[n], pieces[n + 1]
            if how == "many":
                if not (before.endswith(" IN (") and after.startswith(")")):
                    raise ValueError("a list stand-in outside IN (...)")
                pieces[n] = before[: -len("IN (")] + "= ANY("
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = tuple(
        (pos, tuple(convs), expression)
        for pos, (convs, expression) in compiler.get_converters(fields).items()
    )
    return Compiled(
        alias=queryset.db,
        pieces=tuple(pieces),
        fills=tuple(fills),
        names=tuple(names),
        converters=converters,
        prepared=prepared,
    )


try:
    import psycopg

    class _PreparingCursor(psycopg.Cursor):
        """A server-binding cursor that prepares every statement it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary)
            if self._query is None:
                # A prepared statement's run leaves no query text, which Django's query log
                # (connection.queries, CaptureQueriesContext) reads: give it the statement.
                self._query = _Statement(query.encode())
            return self

    @dataclass(frozen=True)
    class _Statement:
        query: bytes

except ImportError:  # SQLite only
    _PreparingCursor = None


def run_statement(sql: str, params, *, using: str = "default", prepared: bool = True) -> list:
    """Run one statement the application runs again and again, and return its rows.

    On PostgreSQL (``prepared``) the statement is bound on the server and prepared once per
    connection, so that it is planned once: planning was most of the time of the case
    page's small statements (0.15-0.25 ms each against 0.03 ms of running them), and 2 ms
    of the 3 ms of the timeline's entries query with its eight joins. Elsewhere, or with
    ``prepared=False``, Django's cursor runs it. Either way it goes through Django's cursor
    wrapper: its error translation, execute wrappers and query log see it.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if prepared and connection.vendor == "postgresql" and _PreparingCursor is not None:
            raw = connection.connection
            if raw.prepare_threshold is None:
                # Django turns preparing off (None); a threshold no query reaches turns it on
                # for the statements asked for alone (prepare=True).
                raw.prepare_threshold = 2**31 - 1
            cursor.cursor.close()
            cursor.cursor = _PreparingCursor(raw)
        cursor.execute(sql, params)
        return cursor.fetchall()


_compiled: dict[Hashable, Compiled] = {}
_lock = threading.Lock()


def compiled(
    key: Hashable,
    build: Callable[[], QuerySet],
    slots: dict[str, tuple[str, object]],
    *,
    alias: str = "default",
) -> Compiled:
    """The query compiled for ``key`` (its shape: whatever changes its SQL), built and
    compiled by ``build`` the first time in this process and connection."""
    full_key = (key, alias, id(connections[alias]))
    found = _compiled.get(full_key)
    if found is None:
        found = compile_queryset(build(), slots)
        with _lock:
            if len(_compiled) >= _MAX_SHAPES:
                _compiled.clear()
            _compiled[full_key] = found
    return found
