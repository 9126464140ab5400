"""Migration 0005 (branch ``structure``) goes up and down on SQLite and PostgreSQL, on its
own, beside the other feature branches."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from custmaster.persistence.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from custmaster.persistence.tables_structure import metadata

STRUCTURE_TABLES = {
    "hierarchy_links",
    "relationship_types",
    "customer_relationships",
    "org_units",
    "org_unit_customers",
    "team_assignments",
    "customer_templates",
    "name_affixes",
    "sales_organisations",
    "payment_schedule_lines",
    "payment_days",
    "operating_hours",
    "visit_settings",
}


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_the_structure_branch_upgrades_and_downgrades_alone(engine: Engine) -> None:
    upgrade(engine)
    assert _tables(engine) >= STRUCTURE_TABLES
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        found = inspect(connection)
        for name in sorted(STRUCTURE_TABLES):  # the migration and tables_structure agree
            columns = {c["name"] for c in found.get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys()), name
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "structure@0001")
    remaining = _tables(engine)
    assert not STRUCTURE_TABLES & remaining
    assert {"customers", "hierarchy_links"} & remaining == {"customers"}
    assert "0005" not in (current_revision(engine) or "")
    upgrade(engine)
    assert _tables(engine) >= STRUCTURE_TABLES
