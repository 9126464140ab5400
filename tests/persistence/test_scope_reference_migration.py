"""Migration 0010 makes account tiers and revenue accounts reference data: the codes the
customers (and their overrides) already use are copied into the new tables, on both
databases, so every stored value stays valid; downgrading drops the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from alembic import command
from sqlalchemy import Engine, insert, inspect, select

from custmaster.persistence.migrate import alembic_config, upgrade
from custmaster.persistence.tables import (
    account_tiers,
    customer_overrides,
    customers,
    legal_entities,
    revenue_accounts,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _customer(number: str, **values: object) -> dict[str, object]:
    return {
        "id": uuid4(),
        "number": number,
        "kind": "organization",
        "name": number,
        "name_key": number.lower(),
        "email": f"{number}@x.example",
        "email_key": f"{number}@x.example",
        "status": "active",
        "metadata": {},
        "dimensions": {},
        "version": 1,
        "created_at": AT,
        "updated_at": AT,
        "owning_entity": "DE01",
        "account_tier": None,
        "revenue_account": None,
        **values,
    }


def test_codes_in_use_become_reference_records(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0008_one_head")
    rows = [
        _customer("C1", account_tier="gold", revenue_account="4000"),
        _customer("C2", account_tier="gold"),
        _customer("C3"),
    ]
    with empty_engine.begin() as connection:
        connection.execute(
            insert(legal_entities),
            [{"code": "DE01", "name": "DE", "country": "DE", "currency": "EUR", "created_at": AT}],
        )
        connection.execute(insert(customers), rows)
        connection.execute(
            insert(customer_overrides),
            [
                {
                    "customer_id": rows[2]["id"],
                    "entity_code": "DE01",
                    "revenue_account": "4100-DE",
                    "dimensions": {},
                }
            ],
        )
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        tiers = connection.execute(select(account_tiers.c.code, account_tiers.c.name)).all()
        accounts = connection.execute(select(revenue_accounts.c.code)).scalars().all()
    assert [tuple(t) for t in tiers] == [("gold", "gold")]
    assert sorted(accounts) == ["4000", "4100-DE"]
    config = alembic_config(empty_engine)
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_one_head")
    assert "account_tiers" not in inspect(empty_engine).get_table_names()
