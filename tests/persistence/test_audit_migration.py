"""Migration 0006 on a database with a chain written by the 0004 code: the chained entries
keep their order (chain_seq = id), an entry written without a hash is sealed at the end;
down again, the whole log is chained in id order as the 0004 code expects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, insert, select, text

from custmaster.domain.audit_chain import ChainLink, verify_chain
from custmaster.domain.permissions import Principal, Role
from custmaster.persistence.audit import chain_unhashed
from custmaster.persistence.audit_guard import install_guard, remove_guard
from custmaster.persistence.migrate import alembic_config, upgrade
from custmaster.persistence.uow import SqlUnitOfWork
from custmaster.services.audit import verify_audit

ADMIN = Principal(user_id="t", name="T", roles=frozenset({Role.ADMIN}))
CONTENT = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "operation",
    "resource_type",
    "resource_id",
    "change_request_id",
    "changes",
)


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _append(engine: Engine, *names: str) -> None:
    table = Table("audit_log", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        for name in names:
            connection.execute(
                insert(table).values(
                    occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
                    actor_id="t",
                    actor_name="T",
                    operation="update",
                    resource_type="customer",
                    resource_id=name,
                    changes=[{"field": "notes", "before": None, "after": name}],
                )
            )


def _chain_as_0004(engine: Engine) -> None:
    with engine.begin() as connection:
        remove_guard(connection)
        chain_unhashed(connection)
        install_guard(connection)


def _id_order_chain_ok(engine: Engine) -> bool:
    table = Table("audit_log", MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.id)).mappings().all()
    links = [
        ChainLink(r["id"], {k: r[k] for k in CONTENT}, r["prev_hash"] or "", r["hash"] or "")
        for r in rows
    ]
    return verify_chain(links).ok and len(links) == 4


def test_0006_keeps_the_0004_chain_and_seals_an_unhashed_entry_at_the_end(
    engine: Engine,
) -> None:
    upgrade(engine, "0004")
    _append(engine, "a", "b", "c")
    _chain_as_0004(engine)
    _append(engine, "written around the chain")  # no hash
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT resource_id, chain_seq, hash FROM audit_log ORDER BY id")
        ).all()
    assert [(r[0], r[1]) for r in rows[:3]] == [("a", 1), ("b", 2), ("c", 3)]
    assert rows[3][1] is None and rows[3][2] is None
    result = verify_audit(SqlUnitOfWork(engine), ADMIN)  # seals the fourth, then checks
    assert result.ok and result.checked == 4
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert _id_order_chain_ok(engine)
