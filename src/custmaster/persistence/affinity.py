"""The affinity batch's stored results (``customer_affinity``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, delete, func, select

from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables_profile_rules import customer_affinity
from custmaster.services.profile.rule_ports import AffinityItem


class SqlAffinityRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def clear(self) -> None:
        self._connection.execute(delete(customer_affinity))

    def add(self, results: Mapping[UUID, list[AffinityItem]], at: datetime) -> int:
        rows = [
            {
                "customer_id": customer_id,
                "kind": item.kind,
                "rank": item.rank,
                "product": item.product,
                "product_group": item.product_group,
                "score": item.score,
                "computed_at": at,
            }
            for customer_id, items in results.items()
            for item in items
        ]
        if rows:
            insert_rows(self._connection, customer_affinity, rows)
        return len(rows)

    def of(self, customer_id: UUID) -> list[AffinityItem]:
        query = (
            select(customer_affinity)
            .where(customer_affinity.c.customer_id == customer_id)
            .order_by(customer_affinity.c.kind, customer_affinity.c.rank)
        )
        return [
            AffinityItem(row.kind, row.rank, row.product, row.product_group, row.score)
            for row in self._connection.execute(query)
        ]

    def computed_at(self, customer_id: UUID) -> datetime | None:
        query = select(func.max(customer_affinity.c.computed_at)).where(
            customer_affinity.c.customer_id == customer_id
        )
        found: datetime | None = self._connection.execute(query).scalar_one_or_none()
        return found
