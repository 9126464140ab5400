"""Migration 0031 stores source records' documents (values as received, normalised form,
match features) as ``text`` on PostgreSQL and back as ``json``; the records written before
it read back the same both ways, and so do those written after it, through the
repository (on SQLite the migration changes nothing). Both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from custmaster.persistence.migrate import alembic_config, upgrade
from custmaster.persistence.sources import SqlSourceRepository
from custmaster.services.sources.ports import SourceRecord

AT = datetime(2026, 12, 6, tzinfo=UTC)
RECEIVED: dict[str, Any] = {
    "name": "Müller GmbH",
    "credit_limit": "10.50",
    "addresses": [{"lines": ["a", "b"], "is_primary": True}],
    "z": None,
    "a": 1.5,
}
NORMALISED: dict[str, Any] = {"name": "Müller GmbH", "credit_limit": "10.50", "tax_id": None}
FEATURES: dict[str, Any] = {"name": "muller", "name_tokens": ["muller"], "phone": None}

#: source_records as migration 0030 left it (JSON documents)
_OLD = sa.table(
    "source_records",
    sa.column("id", sa.Uuid()),
    sa.column("source_system", sa.String()),
    sa.column("source_id", sa.String()),
    sa.column("origin", sa.String()),
    sa.column("received", sa.JSON()),
    sa.column("normalised", sa.JSON()),
    sa.column("features", sa.JSON()),
    sa.column("missing", sa.JSON()),
    sa.column("warnings", sa.JSON()),
    sa.column("rows", sa.JSON()),
    sa.column("received_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _column_types(engine: Engine) -> set[str] | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return set(
            connection.exec_driver_sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                "'source_records'::regclass AND attname IN ('received', 'normalised', 'features')"
            ).scalars()
        )


def _read(engine: Engine, ids: list[UUID]) -> dict[UUID, tuple[Any, Any, Any]]:
    with engine.connect() as connection:
        found = SqlSourceRepository(connection).get(ids)
    return {r.id: (r.received, r.normalised, r.features) for r in found}


def _record(record_id: UUID, normalised: Any, features: Any) -> SourceRecord:
    return SourceRecord(
        id=record_id,
        source_system="erp",
        source_id=str(record_id),
        golden_id=None,
        origin="import",
        received=RECEIVED,
        normalised=normalised,
        received_at=AT,
        features=features,
    )


def test_0031_keeps_the_documents_both_ways(engine: Engine) -> None:
    upgrade(engine, "0030_merge_members")
    before, empty = uuid4(), uuid4()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(_OLD),
            [
                {
                    "id": record_id,
                    "source_system": "erp",
                    "source_id": str(record_id),
                    "origin": "import",
                    "received": RECEIVED,
                    "normalised": normalised,
                    "features": features,
                    "missing": [],
                    "warnings": [],
                    "rows": [2],
                    "received_at": AT,
                }
                for record_id, normalised, features in (
                    (before, NORMALISED, FEATURES),
                    (empty, None, None),
                )
            ],
        )
    upgrade(engine)
    assert _column_types(engine) in (None, {"text"})
    after, after_empty = uuid4(), uuid4()
    with engine.begin() as connection:
        SqlSourceRepository(connection).add_many(
            [_record(after, NORMALISED, FEATURES), _record(after_empty, None, None)]
        )
    expected = {
        before: (RECEIVED, NORMALISED, FEATURES),
        empty: (RECEIVED, None, None),
        after: (RECEIVED, NORMALISED, FEATURES),
        after_empty: (RECEIVED, None, None),
    }
    assert _read(engine, list(expected)) == expected
    with engine.connect() as connection:  # a record without features is not matched
        ids = {
            rid for batch in SqlSourceRepository(connection).iter_features(10) for rid, _ in batch
        }
    assert ids == {before, after}
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0030_merge_members")
    assert _column_types(engine) in (None, {"json"})
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_OLD.c.id, _OLD.c.received, _OLD.c.normalised, _OLD.c.features)
        ).all()
    assert {r.id: (r.received, r.normalised, r.features) for r in rows} == expected
