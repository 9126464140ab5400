"""audit sealing: entries are appended unsealed and chained after commit, in the order
they are sealed (chain_seq); the guard lets an entry be sealed once

Revision ID: 0006_audit_sealing
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmaster.persistence.audit_guard import (
    SEALED_COLUMNS_0006,
    install_guard,
    install_sealing_guard,
    remove_guard,
)

revision = "0006_audit_sealing"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    remove_guard(bind)
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
    # The entries chained so far were chained in id order as they were appended; one
    # without a hash (written around the chain) is unsealed and gets sealed at the end.
    op.execute("UPDATE audit_log SET chain_seq = id WHERE hash IS NOT NULL")
    op.create_index("ix_audit_log_chain_seq", "audit_log", ["chain_seq"], unique=True)
    op.create_index(
        "ix_audit_log_unsealed",
        "audit_log",
        ["id"],
        postgresql_where=sa.text("chain_seq IS NULL"),
        sqlite_where=sa.text("chain_seq IS NULL"),
    )
    install_sealing_guard(bind, SEALED_COLUMNS_0006)


def downgrade() -> None:
    """Back to the chain in id order that 0004's code appends to and verifies: every
    entry is chained again in id order (the guard is lifted meanwhile)."""
    from custmaster.persistence.audit import chain_unhashed

    bind = op.get_bind()
    remove_guard(bind)
    op.execute("UPDATE audit_log SET prev_hash = NULL, hash = NULL")
    op.drop_index("ix_audit_log_unsealed", table_name="audit_log")
    op.drop_index("ix_audit_log_chain_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain_seq")
    chain_unhashed(bind)
    install_guard(bind)
