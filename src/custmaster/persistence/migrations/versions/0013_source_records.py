"""source records (every record that arrived, with lineage) and golden-field provenance

The received values, the normalised form and the match features are ``json`` (not
``jsonb``): written once per arrival and read whole, never queried inside, so the server
does not parse them into jsonb (measured with bench/import_floor.py: the source records
were the slowest table of the floor as jsonb).

Revision ID: 0013_source_records
Revises: 0010_scope_reference
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types

revision = "0013_source_records"
down_revision = "0010_scope_reference"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp(name: str) -> sa.Column[object]:
    return sa.Column(name, custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False)


def _has_lz4() -> bool:
    row = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        .first()
    )
    return bool(row and row[0])


def upgrade() -> None:
    op.create_table(
        "source_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("golden_id", sa.Uuid(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("received", sa.JSON(), nullable=False),
        sa.Column("normalised", sa.JSON(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("missing", _json(), nullable=False),
        sa.Column("warnings", _json(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("file", sa.String(length=255), nullable=True),
        sa.Column("rows", _json(), nullable=False),
        _stamp("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_records")),
    )
    if op.get_bind().dialect.name == "postgresql" and _has_lz4():
        # the documents are written once and read whole, never queried inside (as 0007)
        for column in ("received", "normalised", "features"):
            op.execute(f"ALTER TABLE source_records ALTER COLUMN {column} SET COMPRESSION lz4")
    op.create_index("ix_source_records_golden_id", "source_records", ["golden_id"])
    op.create_index("ix_source_records_source", "source_records", ["source_system", "source_id"])
    op.create_table(
        "golden_fields",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_golden_fields")),
    )


def downgrade() -> None:
    op.drop_table("golden_fields")
    op.drop_index("ix_source_records_source", table_name="source_records")
    op.drop_index("ix_source_records_golden_id", table_name="source_records")
    op.drop_table("source_records")
