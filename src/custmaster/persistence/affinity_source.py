"""The affinity batch's input read from the stored order lines (one streaming query).

The order-line table belongs to activity intake; it is passed in, so wiring is
``SqlOrderLineSource(engine, activity_order_lines)``; :func:`stored_order_lines` reflects
it: :func:`stored_order_lines` is that wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from sqlalchemy import Engine, Table, select

from custmaster.persistence.tables_activity import activity_order_lines
from custmaster.services.profile.affinity import OrderLine


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


def stored_order_lines(engine: Engine) -> SqlOrderLineSource | None:
    """A source over the stored order lines (activity intake's table, with its column
    types), or ``None`` when there are none."""
    table = activity_order_lines
    with engine.connect() as connection:
        if connection.execute(select(table.c.customer_id).limit(1)).first() is None:
            return None
    return SqlOrderLineSource(engine, table)
