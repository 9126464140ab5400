"""structure approvals and certificate expiry: the notices sent for tax-exemption
certificates (structure changes under the approval policy need no schema change: their
change requests are stored like every other)

Revision ID: 0012_structure_approvals
Revises: 0009_audit_signing
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmaster.persistence.types import UtcDateTime

revision = "0012_structure_approvals"
down_revision = "0009_audit_signing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tax_exemption_notices",
        sa.Column("tax_profile_id", sa.Uuid(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=False),
        sa.Column("notice", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tax_profile_id", "effective_to", "notice"),
    )
    op.create_index("ix_tax_exemption_notices_customer", "tax_exemption_notices", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_tax_exemption_notices_customer", table_name="tax_exemption_notices")
    op.drop_table("tax_exemption_notices")
