"""Bulk inserts for the import path: PostgreSQL ``COPY ... FROM STDIN`` (psycopg's
``cursor.copy``), one DB-API ``executemany`` INSERT elsewhere (SQLite).

The values go through the columns' SQLAlchemy bind processors first (JSON wrapped the
way the dialect wraps it, UTC timestamps, money, UUIDs), so a row written by
:func:`insert_rows` is exactly the row an ``insert(table)`` executemany would have
written; only SQLAlchemy's per-row parameter handling is skipped. Columns the rows leave
out get their server defaults (identity ids, ``txid``), as with an INSERT. A
:class:`JsonText` value is a JSON document serialised already and written as it is.

On PostgreSQL the COPY is binary when every value is of the Python type whose binary form
psycopg makes for its column's type (read from the catalog: text, UUIDs, timestamps with
a time zone, numbers, booleans, dates, JSON documents given as their text): the server
then takes the values as they are instead of parsing their text, and psycopg packs them
instead of formatting them. Any other value (a naive timestamp, an ``int`` for a
``numeric``, a column of another type) makes it the text COPY as before. Both store the
same values and refuse the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import JSON, Connection, Table, insert

from custmaster.persistence.engine import storable_json

#: Below this many rows a plain SQLAlchemy INSERT is as fast as setting up a COPY.
_COPY_FROM = 8


class JsonText(str):
    """The text of a JSON document, serialised already, for a JSON column: written as
    it is, not serialised again (a writer that hashed the text spares the second
    encoding). The column then holds that text's document: the same value as the
    document's own, read back alike (key order and spacing aside, on SQLite)."""


def _as_is_for_text(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def bind(value: Any) -> Any:
        return value if type(value) is JsonText else process(value)

    return bind


#: what a JSON column's value is made of in the common case (the rest goes the long way)
_JSON_NATIVE = frozenset({dict, list, str, int, float, bool})


def _json_for_copy(type_: Any, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """For COPY into PostgreSQL, a JSON(B) column's bind processor that writes the
    document's text itself (``storable_json``, the engine's serialiser: the same text and
    the same refusals) instead of wrapping the value for psycopg to serialise: that
    wrapping, per value and column, cost more than the encoding of most documents. SQL
    NULL and JSON ``null`` as the column's processor makes them; other values (SQL
    expressions, ``JSON.NULL``) go through it."""
    if process is None or not isinstance(type_, JSON):
        return process
    none_as_null = type_.none_as_null

    def bind(value: Any) -> Any:
        kind = type(value)
        if kind is JsonText:
            return value
        if kind in _JSON_NATIVE:
            return storable_json(value)
        if value is None:
            return None if none_as_null else "null"
        return process(value)

    return bind


#: PostgreSQL's type oids (built in: the same in every database)
_TEXT, _VARCHAR, _JSON, _JSONB, _TIMESTAMPTZ, _NUMERIC = 25, 1043, 114, 3802, 1184, 1700
#: column type -> (the Python types a binary COPY takes for it as they are, the type
#: whose binary dumper writes them): the text COPY's values of the same types are stored
#: as the same values (a JSON document given as its text: the text as the column's input)
_BINARY: dict[int, tuple[frozenset[type[Any]], int]] = {
    _TEXT: (frozenset({str, JsonText}), _TEXT),
    _VARCHAR: (frozenset({str, JsonText}), _VARCHAR),
    _JSON: (frozenset({str, JsonText}), _TEXT),  # json's binary form is its text
    _JSONB: (frozenset({str, JsonText}), _JSONB),  # a version byte, then the text
    2950: (frozenset({UUID}), 2950),  # uuid
    _TIMESTAMPTZ: (frozenset({datetime}), _TIMESTAMPTZ),  # aware ones only: see below
    1082: (frozenset({date}), 1082),  # date
    16: (frozenset({bool}), 16),  # bool
    21: (frozenset({int}), 21),  # int2
    23: (frozenset({int}), 23),  # int4
    20: (frozenset({int}), 20),  # int8
    701: (frozenset({float}), 701),  # float8
    _NUMERIC: (frozenset({Decimal}), _NUMERIC),  # finite ones only
}
_NONE = type(None)


class _JsonbText(Dumper):
    """A JSON document's text as ``jsonb``'s binary form (version 1, then the text)."""

    format = Format.BINARY
    oid = _JSONB

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


def _column_types(cursor: Cursor[Any], target: str, names: list[str]) -> list[int] | None:
    """The type oids of the columns ``names`` of the table ``target`` (as the COPY names
    it: the catalog, not the table's SQLAlchemy types, says what the column is now)."""
    found = dict(
        cursor.execute(
            "SELECT attname, atttypid::int FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [target],
        ).fetchall()
    )
    try:
        return [found[name] for name in names]
    except KeyError:  # the COPY names the missing column
        return None


def _binary_types(types: list[int] | None, rows: list[list[Any]]) -> list[int] | None:
    """The types a binary COPY of ``rows`` dumps its columns as, or ``None`` when a value
    is not one it takes as it is (the text COPY writes them then)."""
    if types is None:
        return None
    dumped = []
    for i, oid in enumerate(types):
        known = _BINARY.get(oid)
        if known is None:
            return None
        column = itemgetter(i)
        kinds = set(map(type, map(column, rows)))
        kinds.discard(_NONE)
        if not kinds <= known[0]:
            return None
        if oid == _TIMESTAMPTZ and any(
            v is not None and v.utcoffset() is None for v in map(column, rows)
        ):
            return None  # a naive timestamp's text is read in the session's time zone
        if oid == _NUMERIC and not all(v is None or v.is_finite() for v in map(column, rows)):
            return None
        dumped.append(known[1])
    return dumped


#: rows made, checked and sent at a time: the server takes in one chunk while the next is
#: made (values encoded first and sent after would leave it idle meanwhile)
_CHUNK_ROWS = 200


def _chunks(rows: Iterator[list[Any]]) -> Iterator[list[list[Any]]]:
    while chunk := list(islice(rows, _CHUNK_ROWS)):
        yield chunk


def _copy(
    cursor: Cursor[Any], statement: str, target: str, names: list[str], rows: Iterator[list[Any]]
) -> None:
    """COPY ``rows`` (values in column order, processed): binary while every chunk's values
    are ones it takes as they are (see ``_binary_types``), the rest by the text COPY from
    the first chunk that has another (a second statement, in the same transaction)."""
    chunks = _chunks(rows)
    first = next(chunks, [])
    types = _column_types(cursor, target, names)
    binary = _binary_types(types, first)
    pending: list[list[Any]] | None = first
    if binary is not None:
        cursor.adapters.register_dumper(None, _JsonbText)  # by type oid only
        with cursor.copy(f"{statement} (FORMAT binary)") as copy:
            copy.set_types(binary)
            while pending is not None:
                for row_values in pending:
                    copy.write_row(row_values)
                pending = next(chunks, None)
                if pending is not None and _binary_types(types, pending) is None:
                    break
        if pending is None:
            return
    assert pending is not None  # (else the binary COPY took every chunk)
    with cursor.copy(statement) as copy:
        for chunk in chain([pending], chunks):
            for row_values in chunk:
                copy.write_row(row_values)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.loads(v) if type(v) is JsonText else v for k, v in row.items()}


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys) into ``table``."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    if (
        len(rows) < _COPY_FROM
        or (dialect.name != "postgresql" and dialect.paramstyle != "qmark")
        or any(c.default is not None for c in table.c if c.name not in names)
    ):  # (a Python-side column default needs SQLAlchemy's INSERT to fill it in)
        connection.execute(insert(table), [_decoded(row) for row in rows])
        return
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type._cached_bind_processor(dialect) for name in names
    ]
    if dialect.name == "postgresql":  # COPY takes a JSON column's text as it is
        processors = [
            _json_for_copy(table.c[name].type.dialect_impl(dialect), process)
            for name, process in zip(names, processors, strict=True)
        ]
    processors = [  # (any row's value, not only the first's: a column may start with None)
        _as_is_for_text(process)
        if process is not None and JsonText in set(map(type, map(itemgetter(name), rows)))
        else process
        for name, process in zip(names, processors, strict=True)
    ]

    # the values in column order (one C call a row), then the processors of the columns
    # that have one (most have none: text, numbers, native UUIDs and timestamps)
    pick = itemgetter(*names)
    wrap: Callable[[Any], list[Any]] = (lambda v: [v]) if len(names) == 1 else list
    active = [(i, process) for i, process in enumerate(processors) if process is not None]

    def values() -> Iterator[list[Any]]:
        for row in rows:
            row_values = wrap(pick(row))
            for i, process in active:
                row_values[i] = process(row_values[i])
            yield row_values

    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    raw = connection.connection.driver_connection
    assert raw is not None
    if dialect.name == "postgresql":
        with raw.cursor() as cursor:
            _copy(cursor, f"COPY {target} ({columns}) FROM STDIN", target, names, values())
        return
    marks = ", ".join("?" for _ in names)
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {target} ({columns}) VALUES ({marks})", values())
    finally:
        cursor.close()
