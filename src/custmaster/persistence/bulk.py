"""Bulk inserts for the import path: PostgreSQL ``COPY ... FROM STDIN`` (psycopg's
``cursor.copy``), a plain ``executemany`` INSERT elsewhere (SQLite).

The values go through the columns' SQLAlchemy bind processors first (JSON wrapped the
way the dialect wraps it, UTC timestamps, money), so a row written by :func:`insert_rows`
is exactly the row an ``insert(table)`` executemany would have written. Columns the rows
leave out get their server defaults (identity ids, ``txid``), as with an INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert

#: Below this many rows an executemany INSERT is as fast as setting up a COPY.
_COPY_FROM = 8


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys) into ``table``."""
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < _COPY_FROM:
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    dialect = connection.dialect
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type._cached_bind_processor(dialect) for name in names
    ]
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None else process(value)
                    for value, process in zip((row[n] for n in names), processors, strict=True)
                ]
            )
