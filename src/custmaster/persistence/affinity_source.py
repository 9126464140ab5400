"""The affinity batch's input read from the stored order lines (one streaming query).

The order-line table belongs to activity intake; it is passed in, so wiring is
``SqlOrderLineSource(engine, activity_order_lines)``; :func:`stored_order_lines` reflects
it: :func:`stored_order_lines` is that wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import numpy as np
from sqlalchemy import Engine, Table, case, func, select

from custmaster.persistence.tables_activity import activity_order_lines
from custmaster.services.profile.affinity import OrderLine, SpendMatrix, spend_matrix


class SqlOrderLineSource:
    """``OrderLineSource`` over a table with the columns customer_id, product,
    product_group, quantity and amount."""

    def __init__(self, engine: Engine, lines: Table, batch: int = 10_000) -> None:
        self._engine = engine
        self._lines = lines
        self._batch = batch

    def __iter__(self) -> Iterator[OrderLine]:
        t = self._lines.c
        query = select(t.customer_id, t.product, t.product_group, t.quantity, t.amount)
        with self._engine.connect() as connection:
            result = connection.execution_options(
                stream_results=True, yield_per=self._batch
            ).execute(query)
            for row in result:
                customer: UUID = row.customer_id
                yield OrderLine(
                    customer,
                    str(row.product),
                    row.product_group,
                    float(row.quantity or 0),
                    float(row.amount or 0),
                )

    def spend_matrix(self) -> SpendMatrix:
        """The summed spend per customer and product, summed by the database (one
        ``GROUP BY``, streamed) into arrays: no object an order line. Products are
        ordered by name (ties in a ranking go to the first), customers by id."""
        t = self._lines.c
        positive = func.sum(case((t.amount > 0, t.amount), else_=0.0))
        with self._engine.connect() as connection:
            named = connection.execute(
                select(t.product, func.min(t.product_group)).group_by(t.product).order_by(t.product)
            ).all()
            products = [str(p) for p, _ in named]
            groups: list[str | None] = [g for _, g in named]
            index = {p: i for i, p in enumerate(products)}
            query = (
                select(t.customer_id, t.product, positive)
                .group_by(t.customer_id, t.product)
                .order_by(t.customer_id)
            )
            result = connection.execution_options(
                stream_results=True, yield_per=self._batch
            ).execute(query)
            customers: list[UUID] = []
            rows: list[np.ndarray] = []
            cols: list[np.ndarray] = []
            amounts: list[np.ndarray] = []
            last: UUID | None = None
            for partition in result.partitions(self._batch):
                at: list[int] = []
                for customer, _, _ in partition:
                    if customer != last:
                        customers.append(customer)
                        last = customer
                    at.append(len(customers) - 1)
                rows.append(np.asarray(at, dtype=np.int64))
                cols.append(np.fromiter((index[str(r[1])] for r in partition), np.int64))
                amounts.append(np.fromiter((float(r[2] or 0) for r in partition), np.float64))

        def joined(parts: list[np.ndarray], kind: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=kind)

        return spend_matrix(
            customers,
            products,
            groups,
            joined(rows, np.int64),
            joined(cols, np.int64),
            joined(amounts, np.float64),
        )


def stored_order_lines(engine: Engine) -> SqlOrderLineSource | None:
    """A source over the stored order lines (activity intake's table, with its column
    types), or ``None`` when there are none."""
    table = activity_order_lines
    with engine.connect() as connection:
        if connection.execute(select(table.c.customer_id).limit(1)).first() is None:
            return None
    return SqlOrderLineSource(engine, table)
