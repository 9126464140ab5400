"""Migration 0007 turns ``import_rows.payload`` into plain ``json`` on PostgreSQL (lz4 where
the server has it) and back; the payloads of a job under review survive both ways, on
both databases (on SQLite the migration changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, insert, select

from custmaster.persistence.migrate import alembic_config, upgrade
from custmaster.persistence.tables_imports import import_jobs

AT = datetime(2026, 11, 24, tzinfo=UTC)
PAYLOAD: dict[str, Any] = {
    "customer": {
        "name": "Müller GmbH",
        "credit_limit": "10.50",
        "addresses": [{"lines": ["a", "b"]}],
    },
    "refs": [["industry", "722511", "industry"]],
    "z": None,
    "a": 1.5,
}


#: import_rows' columns this test writes, payload as a JSON document (until 0032 made it
#: text on PostgreSQL)
import_rows = sa.table(
    "import_rows",
    sa.column("job_id", sa.Uuid()),
    sa.column("seq", sa.Integer()),
    sa.column("row_numbers", sa.JSON()),
    sa.column("outcome", sa.String()),
    sa.column("payload", sa.JSON()),
)
#: the last revision with the payload as JSON
BEFORE_TEXT = "0031_source_documents"


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _payloads(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        query = select(import_rows.c.payload).order_by(import_rows.c.seq)
        return list(connection.execute(query).scalars())


def _column_type(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return str(
            connection.exec_driver_sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'import_rows'::regclass AND attname = 'payload'"
            ).scalar_one()
        )


def test_0007_keeps_the_payloads_both_ways(engine: Engine) -> None:
    upgrade(engine, "0002")
    job_id = uuid4()
    with engine.begin() as connection:
        connection.execute(
            insert(import_jobs).values(
                id=job_id,
                status="awaiting_review",
                template="custmaster",
                files=[],
                options={},
                submitted_by="t",
                submitted_by_name="T",
                validated_records=2,
                last_committed_batch=-1,
                summary={},
                created_at=AT,
                updated_at=AT,
            )
        )
        connection.execute(
            insert(import_rows),
            [
                {
                    "job_id": job_id,
                    "seq": 0,
                    "row_numbers": [2],
                    "outcome": "created",
                    "payload": PAYLOAD,
                },
                {
                    "job_id": job_id,
                    "seq": 1,
                    "row_numbers": [3],
                    "outcome": "failed",
                    "payload": None,
                },
            ],
        )
    upgrade(engine, BEFORE_TEXT)
    assert _payloads(engine) == [PAYLOAD, None]
    assert _column_type(engine) in (None, "json")
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_import_payload-1")
    assert _payloads(engine) == [PAYLOAD, None]
    assert _column_type(engine) in (None, "jsonb")
