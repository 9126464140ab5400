"""The affinity batch's input read from the stored order lines (one streaming query).

The order-line table belongs to activity intake; it is passed in, so wiring is
``SqlOrderLineSource(engine, activity_order_lines)``; :func:`stored_order_lines` reflects
it: :func:`stored_order_lines` is that wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from uuid import UUID

import numpy as np
from sqlalchemy import Connection, Engine, String, Table, Uuid, column, select, table

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
                query = (
                    "SELECT CAST(c.i AS INTEGER), CAST(p.i AS INTEGER), "
                    "CAST(CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END AS DOUBLE PRECISION) "
                    f"FROM {lines} l JOIN affinity_customers c ON c.customer_id = l.customer_id "
                    "JOIN affinity_products p ON p.product = l.product"
                )
                if postgres:
                    rows, cols, amounts = _copy_numbers(connection, query)
                else:
                    rows, cols, amounts = self._stream_numbers(connection, query)
            finally:
                connection.rollback()  # the temporary tables go with the transaction
        return spend_matrix(
            customers, [str(p) for p, _ in named], [g for _, g in named], rows, cols, amounts
        )

    def _stream_numbers(
        self, connection: Connection, query: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The (customer number, product number, amount) rows as tuples (SQLite)."""
        result = connection.execution_options(
            stream_results=True, yield_per=self._batch
        ).exec_driver_sql(query)
        # the rows' values chained: numpy asking each row object for the array protocols
        # (a failed attribute lookup, an exception a row) cost more than the query
        parts = [
            np.fromiter(chain.from_iterable(p), np.float64, count=3 * len(p)).reshape(-1, 3)
            for p in result.partitions(self._batch)
        ]
        found = np.concatenate(parts) if parts else np.zeros((0, 3))
        parts.clear()  # peak memory: the parts and their concatenation are not kept both
        return (
            found[:, 0].astype(np.int32),
            found[:, 1].astype(np.int32),
            np.ascontiguousarray(found[:, 2]),
        )


#: one row of ``COPY (SELECT int4, int4, float8) TO STDOUT (FORMAT binary)``: the field
#: count, then each field's length and its big-endian value (never NULL here)
_BINARY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("customer_length", ">i4"),
        ("customer", ">i4"),
        ("product_length", ">i4"),
        ("product", ">i4"),
        ("amount_length", ">i4"),
        ("amount", ">f8"),
    ]
)
_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_PARSE = 8 << 20  # bytes parsed at a time


def _copy_numbers(connection: Connection, query: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``query`` (int4, int4, float8) by ``COPY ... TO STDOUT`` in the binary
    format, parsed by numpy a block of bytes at a time: no Python object a row."""
    raw = connection.connection.driver_connection
    assert raw is not None
    customers: list[np.ndarray] = []
    products: list[np.ndarray] = []
    amounts: list[np.ndarray] = []
    pending = bytearray()
    header = True

    def parse(final: bool) -> None:
        nonlocal pending, header
        start = 0
        if header:
            if len(pending) < 19:
                return
            if bytes(pending[:11]) != _BINARY_SIGNATURE:
                raise ValueError("not PostgreSQL's binary COPY format")
            extension = int.from_bytes(pending[15:19], "big")
            start = 19 + extension
            header = False
        size = _BINARY_ROW.itemsize
        count = (len(pending) - start) // size
        if final:  # the trailer: a field count of -1
            count = (len(pending) - start - 2) // size
        block = np.frombuffer(pending, dtype=_BINARY_ROW, count=count, offset=start)
        if count and not (
            (block["fields"] == 3).all()
            and (block["customer_length"] == 4).all()
            and (block["product_length"] == 4).all()
            and (block["amount_length"] == 8).all()
        ):
            raise ValueError("unexpected row in the binary COPY of the order lines")
        customers.append(block["customer"].astype(np.int32))
        products.append(block["product"].astype(np.int32))
        amounts.append(block["amount"].astype(np.float64))
        del block
        pending = pending[start + count * size :]

    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy,
    ):
        for data in copy:
            pending += data
            if len(pending) >= _COPY_PARSE:
                parse(final=False)
    parse(final=True)
    if bytes(pending) != b"\xff\xff":
        raise ValueError("the binary COPY of the order lines ended unexpectedly")
    return (
        np.concatenate(customers) if customers else np.zeros(0, np.int32),
        np.concatenate(products) if products else np.zeros(0, np.int32),
        np.concatenate(amounts) if amounts else np.zeros(0, np.float64),
    )


def stored_order_lines(engine: Engine) -> SqlOrderLineSource | None:
    """A source over the stored order lines (activity intake's table, with its column
    types), or ``None`` when there are none."""
    table = activity_order_lines
    with engine.connect() as connection:
        if connection.execute(select(table.c.customer_id).limit(1)).first() is None:
            return None
    return SqlOrderLineSource(engine, table)
