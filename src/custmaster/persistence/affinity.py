"""The affinity batch's stored results (``customer_affinity``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, delete, func, select

from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables_profile_rules import customer_affinity
from custmaster.services.profile.rule_ports import AffinityBatch, AffinityItem

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BLOCK = 100_000


def _copy_text(value: str | None) -> str:
    """A value in COPY's text format (``\\N`` is NULL)."""
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def _copy_rows(connection: Connection, batch: AffinityBatch, at: datetime) -> None:
    """COPY the batch in the text format, written a block of lines at a time: the
    products, groups and customers are encoded once, not once an item (millions)."""
    products = [_copy_text(p) for p in batch.products]
    groups = [_copy_text(g) for g in batch.groups]
    customers: dict[int, str] = {}
    stamp = at.isoformat()
    raw = connection.connection.driver_connection
    assert raw is not None
    columns = "customer_id, kind, rank, product, product_group, score, computed_at"
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY customer_affinity ({columns}) FROM STDIN") as copy,
    ):
        items = zip(batch.customer, batch.kind, batch.rank, batch.product, batch.score, strict=True)
        lines: list[str] = []
        for c, k, r, p, v in items:
            customer = customers.get(c)
            if customer is None:
                customer = customers[c] = str(batch.customers[c])
            lines.append(f"{customer}\t{k}\t{r}\t{products[p]}\t{groups[p]}\t{v!r}\t{stamp}\n")
            if len(lines) >= _COPY_BLOCK:
                copy.write("".join(lines))
                lines = []
        if lines:
            copy.write("".join(lines))


class SqlAffinityRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def clear(self) -> None:
        self._connection.execute(delete(customer_affinity))

    def add_rows(self, batch: AffinityBatch, at: datetime) -> int:
        count = len(batch.customer)
        if not count:
            return 0
        if self._connection.dialect.name == "postgresql":
            _copy_rows(self._connection, batch, at)
            return count
        rows = [
            {
                "customer_id": batch.customers[c],
                "kind": k,
                "rank": r,
                "product": batch.products[p],
                "product_group": batch.groups[p],
                "score": v,
                "computed_at": at,
            }
            for c, k, r, p, v in zip(
                batch.customer, batch.kind, batch.rank, batch.product, batch.score, strict=True
            )
        ]
        insert_rows(self._connection, customer_affinity, rows)
        return count

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
