"""The expiry notices sent for tax-exemption certificates (migration 0012 creates it).

One row per certificate (tax profile), end date and notice: the key makes each notice
once; rows stay when the certificate or its customer goes (what was sent is history).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, String, Table, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import UtcDateTime

tax_exemption_notices = Table(
    "tax_exemption_notices",
    metadata,
    Column("tax_profile_id", Uuid, primary_key=True),
    Column("effective_to", Date, primary_key=True),
    Column("notice", String(16), primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("sent_on", Date, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_tax_exemption_notices_customer", tax_exemption_notices.c.customer_id)
