"""Migration 0003 (branch ``matching``) goes down and up again on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from custmaster.bootstrap import Container
from custmaster.persistence.migrate import alembic_config, upgrade

TABLES = {
    "match_records",
    "match_keys",
    "match_runs",
    "duplicate_clusters",
    "duplicate_cluster_members",
    "not_duplicates",
    "merges",
    "merge_source_refs",
    "merge_members",
    "customer_redirects",
}


def test_matching_branch_downgrades_and_upgrades(container: Container) -> None:
    engine = container.engine
    assert set(inspect(engine).get_table_names()) >= TABLES
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "matching@0001")
    names = set(inspect(engine).get_table_names())
    assert not TABLES & names and "customers" in names
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
