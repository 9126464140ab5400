"""``column IN (values)`` for long lists of values: on PostgreSQL ``column = ANY(:array)``,
one parameter whatever the length, so the statement text (and psycopg's parse of it and the
server's plan) is the same for every list; elsewhere an expanding ``IN``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def member_of(
    connection: Connection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    if connection.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def chunk_size(connection: Connection) -> int:
    """How many values one :func:`member_of` may take: on PostgreSQL (one array parameter)
    a whole intake batch's customers, so a batch costs one statement per query; elsewhere
    500 (SQLite's limit on bound parameters)."""
    return 10_000 if connection.dialect.name == "postgresql" else 500
