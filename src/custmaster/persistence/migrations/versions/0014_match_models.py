"""match_models: versioned, trained match models with their training reports; the model
version a batch run used

Revision ID: 0014_match_models
Revises: 0013_source_records
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types

revision = "0014_match_models"
down_revision = "0013_source_records"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "match_models",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("model", _json(), nullable=False),
        sa.Column("report", _json(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_match_models")),
    )
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("model_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("model_version")
    op.drop_table("match_models")
