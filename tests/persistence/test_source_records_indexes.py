"""source_records' indexes as migration 0024_import_payload leaves them: the pending-group
index holds only the records of a pending group (partial), on both databases."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from custmaster.persistence.migrate import upgrade


def test_the_pending_group_index_is_partial(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    names = {i["name"] for i in inspect(empty_engine).get_indexes("source_records")}
    assert "ix_source_records_pending_group" in names
    if empty_engine.dialect.name == "postgresql":
        query = (
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname = 'ix_source_records_pending_group'"
        )
    else:
        query = "SELECT sql FROM sqlite_master WHERE name = 'ix_source_records_pending_group'"
    with empty_engine.connect() as conn:
        definition = conn.execute(text(query)).scalar_one()
    assert "pending_group IS NOT NULL" in definition.replace("(", "").replace(")", "")
