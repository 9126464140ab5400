"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from custmaster.persistence.engine import storable_json

#: Auto-incrementing 64-bit key (SQLite needs INTEGER for its rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents (JSONB on PostgreSQL).
Json = JSON().with_variant(JSONB(), "postgresql")


class JsonDocument(TypeDecorator[Any]):
    """A JSON document that is written once and read whole, never queried inside: ``text``
    on PostgreSQL (stored and returned as it is; its ``json`` type parses every value it
    is given to check it, which costs the server more than storing it, for nothing the
    application needs: the documents are encoded by ``storable_json``), JSON on SQLite
    (text there too). ``None`` is SQL ``NULL`` on PostgreSQL and JSON ``null`` on SQLite,
    both read back as ``None``."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "postgresql" or value is None:
            return value
        return storable_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        # not text: read from a column that is still ``json``/``jsonb`` (a migration before
        # the one that made it text, running this code), which the driver has decoded
        if dialect.name != "postgresql" or type(value) is not str:
            return value
        return json.loads(value)


class Money(TypeDecorator[Decimal]):
    """An exact decimal: unconstrained NUMERIC on PostgreSQL, text on SQLite (whose
    NUMERIC is a float). The scale given by the user is kept ("9.50" stays "9.50")."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; custmaster stores UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
