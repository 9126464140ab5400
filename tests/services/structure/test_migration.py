"""Migration 0005 (branch ``structure``) goes up and down on SQLite and PostgreSQL, on its
own, beside the other feature branches."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from custmaster.persistence.engine import make_engine
from custmaster.persistence.migrate import alembic_config, current_revision, upgrade
from custmaster.persistence.tables_structure import metadata

POSTGRES_URL = os.environ.get("CUSTMASTER_TEST_POSTGRES_URL")
STRUCTURE_TABLES = {
    "hierarchy_links", "relationship_types", "customer_relationships", "org_units",
    "org_unit_customers", "team_assignments", "customer_templates", "name_affixes",
    "sales_organisations", "payment_schedule_lines", "payment_days", "operating_hours",
    "visit_settings",
}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a fresh SQLite file, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        built = make_engine(f"sqlite:///{tmp_path / 'mig.db'}")
        yield built
        built.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CUSTMASTER_TEST_POSTGRES_URL")
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    built = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield built
    finally:
        built.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_the_structure_branch_upgrades_and_downgrades_alone(engine: Engine) -> None:
    upgrade(engine)
    assert _tables(engine) >= STRUCTURE_TABLES
    assert "0005" in (current_revision(engine) or "")
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
