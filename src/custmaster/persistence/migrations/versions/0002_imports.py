"""bulk import jobs, per-record report, duplicate keys and incomplete drafts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types

revision = "0002"
down_revision = "0001"
branch_labels = ("imports",)
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp() -> custmaster.persistence.types.UtcDateTime:
    return custmaster.persistence.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=255), nullable=False),
        sa.Column("files", _json(), nullable=False),
        sa.Column("options", _json(), nullable=False),
        sa.Column("submitted_by", sa.String(length=128), nullable=False),
        sa.Column("submitted_by_name", sa.String(length=255), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_by_name", sa.String(length=255), nullable=True),
        sa.Column("decided_at", _stamp(), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("validated_records", sa.Integer(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.Column("last_committed_batch", sa.Integer(), nullable=False),
        sa.Column("summary", _json(), nullable=False),
        sa.Column("failed_stage", sa.String(length=20), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.Column("updated_at", _stamp(), nullable=False),
        sa.Column("finished_at", _stamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index(op.f("ix_import_jobs_status"), "import_jobs", ["status"], unique=False)
    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_numbers", _json(), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("errors", _json(), nullable=True),
        sa.Column("warnings", _json(), nullable=True),
        sa.Column("payload", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_rows_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_import_rows")),
    )
    op.create_table(
        "import_keys",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_keys_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "key", name=op.f("pk_import_keys")),
    )
    op.create_table(
        "import_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("command", _json(), nullable=False),
        sa.Column("missing", _json(), nullable=False),
        sa.Column("warnings", _json(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.Column("updated_at", _stamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_drafts_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_drafts")),
    )
    op.create_index("ix_import_drafts_job_id_seq", "import_drafts", ["job_id", "seq"])
    op.create_index("ix_import_drafts_source", "import_drafts", ["source_system", "source_id"])


def downgrade() -> None:
    op.drop_index("ix_import_drafts_source", table_name="import_drafts")
    op.drop_index("ix_import_drafts_job_id_seq", table_name="import_drafts")
    op.drop_table("import_drafts")
    op.drop_table("import_keys")
    op.drop_table("import_rows")
    op.drop_index(op.f("ix_import_jobs_status"), table_name="import_jobs")
    op.drop_table("import_jobs")
