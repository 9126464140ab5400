"""The migration tree: one chain, one head."""

from __future__ import annotations

from sqlalchemy import Engine

from custmaster.persistence.migrate import current_revision, head_revision, upgrade


def test_the_migration_tree_has_one_head() -> None:
    assert head_revision() == head_revision().strip()  # raises when there are several heads


def test_an_upgraded_database_reports_one_revision(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
