"""Storage as migration 0026_import_speed leaves it on PostgreSQL: a source record that
fits a page is neither compressed nor moved out of line on insert; audit changes are
compressed with lz4 where the server has it."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from sqlalchemy import Engine, text

from custmaster.persistence.migrate import upgrade


def test_a_record_that_fits_a_page_is_stored_as_it_is(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("TOAST is PostgreSQL's (SQLite stores the row as it is)")
    # about 3 kB of documents, compressible (above the default target of about 2 kB)
    document = json.dumps({f"field_{i}": "Brightsphere Kitchen GmbH" for i in range(40)})
    with empty_engine.begin() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE oid = 'source_records'::regclass")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO source_records (id, source_system, origin, received, normalised,"
                " features, missing, warnings, rows, received_at) VALUES (:id, 'crm', 'import',"
                " :doc, :doc, :doc, '[]', '[]', '[]', now())"
            ),
            {"id": uuid4(), "doc": document},
        )
        stored = conn.execute(
            text(
                "SELECT pg_column_compression(received), pg_column_compression(normalised),"
                " pg_column_size(received) FROM source_records"
            )
        ).one()
    assert "toast_tuple_target=8160" in (options or [])
    assert stored[0] is None and stored[1] is None  # not compressed
    assert stored[2] >= len(document)  # inline as written


def test_audit_changes_are_compressed_with_lz4_where_the_server_has_it(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    with empty_engine.connect() as conn:
        has_lz4 = conn.execute(
            text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                " WHERE name = 'default_toast_compression'"
            )
        ).scalar_one()
        method = conn.execute(
            text(
                "SELECT attcompression::text FROM pg_attribute"
                " WHERE attrelid = 'audit_log'::regclass AND attname = 'changes'"
            )
        ).scalar_one()
    assert method == ("l" if has_lz4 else "")
