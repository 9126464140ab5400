"""profile_features: the living profile's features per customer and legal entity

Revision ID: 0015_profile
Revises: 0014_match_models
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types
from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.tables_profile import feature_column_type

revision = "0015_profile"
down_revision = "0014_match_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_features",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("legal_entity", sa.String(length=64), nullable=False),
        *(
            sa.Column(name, feature_column_type(kind), nullable=True)
            for name, kind in PROFILE_FEATURES.items()
        ),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_profile_features_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "legal_entity", name=op.f("pk_profile_features")),
    )


def downgrade() -> None:
    op.drop_table("profile_features")
