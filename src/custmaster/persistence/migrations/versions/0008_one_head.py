"""Join the feature branches into one head

The matching (0003), structure (0005), governance (0006) and imports (0007) branches grew
side by side from 0001; this revision joins them so that a database has one revision and
every later migration continues one chain. It changes no schema.

Revision ID: 0008_one_head
Revises: 0003, 0005, 0006_audit_sealing, 0007_import_payload
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0008_one_head"
down_revision = ("0003", "0005", "0006_audit_sealing", "0007_import_payload")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the revision only joins the branches."""


def downgrade() -> None:
    """Nothing to change: the revision only joins the branches."""
