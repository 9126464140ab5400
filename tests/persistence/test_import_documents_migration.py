"""Migration 0032 stores ``audit_log.changes`` and ``import_rows.payload`` as ``text`` on
PostgreSQL and back as ``jsonb``/``json``: what was written before it reads back the same
both ways, and so does what is written after it through the repositories; the audit
chain sealed over entries from both sides verifies (on SQLite the migration changes
nothing). Both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from custmaster.persistence.audit import SqlAuditLog
from custmaster.persistence.imports import SqlImportRepository
from custmaster.persistence.migrate import alembic_config, upgrade
from custmaster.services.imports.store import Outcome, RowReport
from custmaster.services.ports import AuditEntry

AT = datetime(2026, 12, 6, tzinfo=UTC)
CHANGES: list[dict[str, Any]] = [
    {"field": "name", "before": None, "after": "Müller GmbH"},
    {"field": "credit_limit", "before": "10.50", "after": "1E+3"},
    {"field": "addresses", "before": [], "after": [{"lines": ["a", "b"], "is_primary": True}]},
    {"field": "score", "before": 1.5, "after": 2},
]
PAYLOAD: dict[str, Any] = {
    "customer": {"name": "Müller GmbH", "credit_limit": "10.50", "tax_id": None},
    "refs": [["industry", "722511", "industry"]],
    "source": {"received": {"z": None, "a": 1.5, "name": "Müller GmbH"}},
}

#: the two tables as migration 0031 left them (JSON documents)
_AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.String()),
    sa.column("actor_name", sa.String()),
    sa.column("operation", sa.String()),
    sa.column("resource_type", sa.String()),
    sa.column("resource_id", sa.String()),
    sa.column("changes", sa.JSON()),
)
_JOBS = sa.table(
    "import_jobs",
    sa.column("id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("template", sa.String()),
    sa.column("files", sa.JSON()),
    sa.column("options", sa.JSON()),
    sa.column("submitted_by", sa.String()),
    sa.column("submitted_by_name", sa.String()),
    sa.column("validated_records", sa.Integer()),
    sa.column("last_committed_batch", sa.Integer()),
    sa.column("summary", sa.JSON()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_ROWS = sa.table(
    "import_rows",
    sa.column("job_id", sa.Uuid()),
    sa.column("seq", sa.Integer()),
    sa.column("row_numbers", sa.JSON()),
    sa.column("outcome", sa.String()),
    sa.column("payload", sa.JSON()),
)


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _column_types(engine: Engine) -> dict[str, str] | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return dict(
            connection.exec_driver_sql(
                "SELECT attrelid::regclass::text, format_type(atttypid, atttypmod) "
                "FROM pg_attribute WHERE (attrelid, attname) IN "
                "(('audit_log'::regclass, 'changes'), ('import_rows'::regclass, 'payload'))"
            ).all()
        )


def _entry(resource_id: str, changes: list[dict[str, Any]]) -> AuditEntry:
    return AuditEntry(
        occurred_at=AT,
        actor_id="u1",
        actor_name="User One",
        operation="update",
        resource_type="customer",
        resource_id=resource_id,
        changes=changes,
    )


def _changes(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        log = SqlAuditLog(connection)
        return {
            name: [e.changes for e in log.for_resource("customer", name, after_id=None, limit=50)]
            for name in ("before", "copied", "single")
        }


def test_0032_keeps_changes_and_payloads_both_ways(engine: Engine) -> None:
    upgrade(engine, "0031_source_documents")
    job = uuid4()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(_AUDIT),
            [
                {
                    "occurred_at": AT,
                    "actor_id": "u1",
                    "actor_name": "User One",
                    "operation": "update",
                    "resource_type": "customer",
                    "resource_id": "before",
                    "changes": CHANGES,
                }
            ],
        )
        connection.execute(
            sa.insert(_JOBS),
            [
                {
                    "id": job,
                    "status": "importing",
                    "template": "custmaster",
                    "files": [],
                    "options": {},
                    "submitted_by": "u1",
                    "submitted_by_name": "User One",
                    "validated_records": 2,
                    "last_committed_batch": -1,
                    "summary": {},
                    "created_at": AT,
                    "updated_at": AT,
                }
            ],
        )
        connection.execute(
            sa.insert(_ROWS),
            [
                {"job_id": job, "seq": 0, "row_numbers": [2], "outcome": "created"},
                {"job_id": job, "seq": 1, "row_numbers": [3], "outcome": "failed"},
            ],
        )  # the first row's payload a document, the second's SQL NULL
        connection.execute(sa.update(_ROWS).where(_ROWS.c.seq == 0).values(payload=PAYLOAD))
    upgrade(engine)
    assert _column_types(engine) in (None, {"audit_log": "text", "import_rows": "text"})
    with engine.begin() as connection:
        log = SqlAuditLog(connection)
        assert log.seal() == 1  # the entry written before, read back to be hashed
        # ten entries go by COPY (the canonical text as it is), one by an INSERT
        log.append_sealed([_entry("copied", CHANGES) for _ in range(10)])
        log.append_sealed([_entry("single", CHANGES)])
        repository = SqlImportRepository(connection)
        repository.add_rows(
            job,
            [RowReport(seq=2, row_numbers=[4], source_id="s2", outcome=Outcome.FAILED)]
            + [
                RowReport(
                    seq=seq,
                    row_numbers=[seq + 2],
                    source_id=f"s{seq}",
                    outcome=Outcome.CREATED,
                    payload=PAYLOAD,
                )
                for seq in range(3, 12)
            ],
        )
    assert _changes(engine) == {"before": [CHANGES], "copied": [CHANGES] * 10, "single": [CHANGES]}
    with engine.connect() as connection:
        result = SqlAuditLog(connection).verify()
        assert result.ok and result.checked == 12, result
        rows = SqlImportRepository(connection).rows(job, with_payload=True)
    payloads = {r.seq: r.payload for r in rows}
    assert payloads == {0: PAYLOAD, 1: None, 2: None, **{seq: PAYLOAD for seq in range(3, 12)}}
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0031_source_documents")
    assert _column_types(engine) in (None, {"audit_log": "jsonb", "import_rows": "json"})
    with engine.connect() as connection:
        changes = connection.execute(
            sa.select(_AUDIT.c.resource_id, _AUDIT.c.changes).order_by(_AUDIT.c.id)
        ).all()
        kept = connection.execute(sa.select(_ROWS.c.seq, _ROWS.c.payload)).all()
    assert [tuple(r) for r in changes] == [("before", CHANGES)] + [("copied", CHANGES)] * 10 + [
        ("single", CHANGES)
    ]
    assert dict(kept) == payloads
