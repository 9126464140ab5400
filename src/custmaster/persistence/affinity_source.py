"""The affinity batch's input read from the stored order lines (one streaming query).

The order-line table belongs to activity intake; it is passed in, so wiring is
``SqlOrderLineSource(engine, activity_order_lines)``; :func:`stored_order_lines` reflects
it: :func:`stored_order_lines` is that wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import numpy as np
from sqlalchemy import Engine, String, Table, Uuid, column, select, table

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
        """The spend per customer and product as arrays, numbered by the database: the
        customers (by id) and the products (by name; ties in a ranking go to the first)
        are numbered into two temporary tables, then every line is read as (customer
        number, product number, amount) through hash joins and summed by scipy -- no
        sort of the lines, no object an order line (a sort of 20,000,000 lines took
        longer than the whole batch's target)."""
        lines = self._lines.name
        numbered = table("affinity_customers", column("customer_id", Uuid), column("i"))
        products = table(
            "affinity_products", column("product", String), column("grp", String), column("i")
        )
        with self._engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:  # the joins' hash tables (1,000,000 customers) in memory
                connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            try:
                connection.exec_driver_sql(
                    "CREATE TEMPORARY TABLE affinity_customers AS SELECT customer_id, "
                    "row_number() OVER (ORDER BY customer_id) - 1 AS i "
                    f"FROM (SELECT DISTINCT customer_id FROM {lines}) d"
                )
                connection.exec_driver_sql(
                    "CREATE TEMPORARY TABLE affinity_products AS SELECT product, grp, "
                    "row_number() OVER (ORDER BY product) - 1 AS i FROM (SELECT product, "
                    f"min(product_group) AS grp FROM {lines} GROUP BY product) d"
                )
                customers: list[UUID] = list(
                    connection.execute(
                        select(numbered.c.customer_id).order_by(numbered.c.i)
                    ).scalars()
                )
                named = connection.execute(
                    select(products.c.product, products.c.grp).order_by(products.c.i)
                ).all()
                result = connection.execution_options(
                    stream_results=True, yield_per=self._batch
                ).exec_driver_sql(
                    "SELECT c.i, p.i, CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END "
                    f"FROM {lines} l JOIN affinity_customers c ON c.customer_id = l.customer_id "
                    "JOIN affinity_products p ON p.product = l.product"
                )
                parts = [
                    np.asarray(partition, dtype=np.float64).reshape(-1, 3)
                    for partition in result.partitions(self._batch)
                ]
            finally:
                connection.rollback()  # the temporary tables go with the transaction
        found = np.concatenate(parts) if parts else np.zeros((0, 3))
        parts.clear()  # peak memory: the parts and their concatenation are not kept both
        rows = found[:, 0].astype(np.int32)
        cols = found[:, 1].astype(np.int32)
        amounts = np.ascontiguousarray(found[:, 2])
        del found
        return spend_matrix(
            customers, [str(p) for p, _ in named], [g for _, g in named], rows, cols, amounts
        )


def stored_order_lines(engine: Engine) -> SqlOrderLineSource | None:
    """A source over the stored order lines (activity intake's table, with its column
    types), or ``None`` when there are none."""
    table = activity_order_lines
    with engine.connect() as connection:
        if connection.execute(select(table.c.customer_id).limit(1)).first() is None:
            return None
    return SqlOrderLineSource(engine, table)
