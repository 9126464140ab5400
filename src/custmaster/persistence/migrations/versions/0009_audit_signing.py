"""audit signing: each entry carries the signature its writer made with the audit key
(NULL for entries written without a key); the guard keeps it as written

Revision ID: 0009_audit_signing
Revises: 0008_one_head
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmaster.persistence.audit_guard import (
    SEALED_COLUMNS_0006,
    install_sealing_guard,
    remove_guard,
)

revision = "0009_audit_signing"
down_revision = "0008_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    remove_guard(bind)
    op.add_column("audit_log", sa.Column("signature", sa.String(160), nullable=True))
    install_sealing_guard(bind, (*SEALED_COLUMNS_0006, "signature"))


def downgrade() -> None:
    bind = op.get_bind()
    remove_guard(bind)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("signature")
    install_sealing_guard(bind, SEALED_COLUMNS_0006)
