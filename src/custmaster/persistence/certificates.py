"""Certificates ending in a window, and the expiry notices sent for them."""

from __future__ import annotations

import zlib
from datetime import date
from uuid import UUID

from sqlalchemy import Connection, insert, select, text

from custmaster.persistence.tables import customer_tax_profiles, customers
from custmaster.persistence.tables_certificates import tax_exemption_notices
from custmaster.services.certificates.ports import EndingCertificate, SentNotice

_CHUNK = 500


class SqlCertificateRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock(self) -> None:
        """A transaction-scoped advisory lock on PostgreSQL; SQLite writers are serialised
        by BEGIN IMMEDIATE already."""
        if self._connection.dialect.name == "postgresql":
            key = zlib.crc32(b"custmaster.certificates:check")
            self._connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def ending_between(self, first: date, last: date) -> list[EndingCertificate]:
        t, c = customer_tax_profiles.c, customers.c
        rows = self._connection.execute(
            select(
                t.id,
                t.customer_id,
                c.number,
                c.name,
                c.owning_entity,
                t.tax_code,
                t.certificate_number,
                t.effective_from,
                t.effective_to,
            )
            .join(customers, customers.c.id == t.customer_id)
            .where(t.effective_to >= first, t.effective_to <= last)
            .order_by(t.effective_to, c.number, t.id)
        )
        return [
            EndingCertificate(
                r.id,
                r.customer_id,
                r.number,
                r.name,
                r.owning_entity,
                r.tax_code,
                r.certificate_number,
                r.effective_from,
                r.effective_to,
            )
            for r in rows
        ]

    def sent(self, tax_profile_ids: list[UUID]) -> set[tuple[UUID, date, str]]:
        n = tax_exemption_notices.c
        found: set[tuple[UUID, date, str]] = set()
        for start in range(0, len(tax_profile_ids), _CHUNK):
            chunk = tax_profile_ids[start : start + _CHUNK]
            rows = self._connection.execute(
                select(n.tax_profile_id, n.effective_to, n.notice).where(
                    n.tax_profile_id.in_(chunk)
                )
            )
            found.update((r.tax_profile_id, r.effective_to, r.notice) for r in rows)
        return found

    def add_sent(self, notice: SentNotice) -> None:
        self._connection.execute(
            insert(tax_exemption_notices).values(
                tax_profile_id=notice.tax_profile_id,
                effective_to=notice.effective_to,
                notice=notice.notice,
                customer_id=notice.customer_id,
                sent_on=notice.sent_on,
                event_id=notice.event_id,
                created_at=notice.created_at,
            )
        )

    def all_sent(self) -> list[SentNotice]:
        n = tax_exemption_notices.c
        rows = self._connection.execute(
            select(tax_exemption_notices).order_by(n.created_at, n.sent_on, n.notice)
        )
        return [
            SentNotice(
                r.tax_profile_id,
                r.customer_id,
                r.effective_to,
                r.notice,
                r.sent_on,
                r.event_id,
                r.created_at,
            )
            for r in rows
        ]
