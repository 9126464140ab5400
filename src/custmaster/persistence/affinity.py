"""The affinity batch's stored results (``customer_affinity``).

On PostgreSQL a run writes its millions of rows into a fresh table and swaps it for the
stored one, in the unit of work's transaction (readers see the old results until the
commit, then the new ones): the rows go in by ``COPY ... FROM STDIN`` in the binary
format, assembled by numpy a block at a time (no Python object, no text an item), before
the table has an index or a foreign key; the primary key and the foreign key are then
built once over the whole table (the key's index in one sort, the customers checked by one
join) instead of an index insert and a trigger query a row; the old rows are dropped with
their table, not deleted one by one. SQLite deletes and inserts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import numpy as np
from sqlalchemy import Connection, delete, func, select

from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables_profile_rules import customer_affinity
from custmaster.services.profile.rule_ports import AFFINITY_KINDS, AffinityBatch, AffinityItem

_TABLE = customer_affinity.name
_NEXT = f"{_TABLE}_next"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's binary timestamps count from it
_BLOCK = 200_000  # rows assembled and sent at a time

#: a row's fixed part in ``COPY ... (FORMAT binary)``: the field count, then each field's
#: length and big-endian value; the columns in this order, the text ones after
_COLUMNS = "customer_id, rank, score, computed_at, kind, product, product_group"
_FIXED = np.dtype(
    [
        ("fields", ">i2"),
        ("customer_length", ">i4"),
        ("customer", "V16"),
        ("rank_length", ">i4"),
        ("rank", ">i4"),
        ("score_length", ">i4"),
        ("score", ">f8"),
        ("at_length", ">i4"),
        ("at", ">i8"),
    ]
)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_TRAILER = b"\xff\xff"


def _field(value: str | None) -> bytes:
    """A text field: its length (-1: NULL) and its UTF-8 bytes."""
    if value is None:
        return (-1).to_bytes(4, "big", signed=True)
    data = value.encode()
    return len(data).to_bytes(4, "big") + data


class _BinaryRows:
    """The rows of a run in COPY's binary format. The variable part of a row (kind,
    product, product group) is one of ``kinds x products`` byte strings, encoded once and
    padded into a matrix; a block of rows is the fixed parts and the padded tails side by
    side, the padding then masked out."""

    def __init__(self, batch: AffinityBatch, at: datetime) -> None:
        self.products = len(batch.products)
        ids = b"".join(customer.bytes for customer in batch.customers)
        self.customers = np.frombuffer(ids, dtype="V16")
        self.at = (at - _EPOCH) // timedelta(microseconds=1)
        tails = [
            _field(kind) + _field(product) + _field(group)
            for kind in AFFINITY_KINDS
            for product, group in zip(batch.products, batch.groups, strict=True)
        ]
        self.lengths = np.array([len(tail) for tail in tails], dtype=np.int64)
        width = int(self.lengths.max())
        self.tails = np.zeros((len(tails), width), dtype=np.uint8)
        for i, tail in enumerate(tails):
            self.tails[i, : len(tail)] = np.frombuffer(tail, dtype=np.uint8)
        self.within = np.arange(width)

    def encode(self, batch: AffinityBatch, start: int, stop: int) -> bytes:
        fixed = np.empty(stop - start, dtype=_FIXED)
        fixed["fields"] = 7
        fixed["customer_length"] = 16
        fixed["customer"] = self.customers[batch.customer[start:stop]]
        fixed["rank_length"] = 4
        fixed["rank"] = batch.rank[start:stop]
        fixed["score_length"] = 8
        fixed["score"] = batch.score[start:stop]
        fixed["at_length"] = 8
        fixed["at"] = self.at
        tail = np.asarray(batch.kind[start:stop], dtype=np.int64) * self.products
        tail += batch.product[start:stop]
        rows = np.empty((len(fixed), _FIXED.itemsize + self.tails.shape[1]), dtype=np.uint8)
        rows[:, : _FIXED.itemsize] = fixed.view(np.uint8).reshape(len(fixed), -1)
        rows[:, _FIXED.itemsize :] = self.tails[tail]
        keep = np.ones(rows.shape, dtype=bool)
        keep[:, _FIXED.itemsize :] = self.within < self.lengths[tail][:, None]
        return rows[keep].tobytes()


def _copy_swap(connection: Connection, batches: Iterable[AffinityBatch], at: datetime) -> int:
    """Write the batches into a fresh table, build its keys, and put it in the stored
    table's place (indexes and constraints re-created from the stored table's own
    definitions, under their names)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass",
            (_TABLE,),
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'x')",
            (_TABLE,),
        )
        constraints = cursor.fetchall()
        cursor.execute(f"DROP TABLE IF EXISTS {_NEXT}")
        cursor.execute(
            f"CREATE TABLE {_NEXT} (LIKE {_TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        rows = 0
        with cursor.copy(f"COPY {_NEXT} ({_COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(_HEADER)
            encoder: _BinaryRows | None = None
            for batch in batches:
                encoder = encoder or _BinaryRows(batch, at)
                for start in range(0, len(batch.customer), _BLOCK):
                    stop = min(start + _BLOCK, len(batch.customer))
                    copy.write(encoder.encode(batch, start, stop))
                rows += len(batch.customer)
            copy.write(_TRAILER)
        renames: list[tuple[str, str]] = []
        backing = {name for name, kind, _ in constraints if kind != "f"}
        for name, kind, definition in constraints:  # the keys: one index build each
            if kind != "f":
                renames.append((f"{name}_next", name))
                cursor.execute(f"ALTER TABLE {_NEXT} ADD CONSTRAINT {name}_next {definition}")
        for name, definition in indexes:  # other indexes (none today)
            if name not in backing:
                on = re.compile(rf"INDEX {re.escape(name)} ON (ONLY )?(\S+\.)?{_TABLE} ")
                cursor.execute(on.sub(f"INDEX {name}_next ON {_NEXT} ", definition, count=1))
                renames.append((f"{name}_next", name))
        cursor.execute(f"ANALYZE {_NEXT}")
        # the foreign keys last: adding one locks the referenced table against writes
        # until the commit (their names are the table's own: kept as they are)
        for name, kind, definition in constraints:
            if kind == "f":
                cursor.execute(f"ALTER TABLE {_NEXT} ADD CONSTRAINT {name} {definition}")
        cursor.execute(f"DROP TABLE {_TABLE}")
        cursor.execute(f"ALTER TABLE {_NEXT} RENAME TO {_TABLE}")
        for temporary, name in renames:
            cursor.execute(f"ALTER INDEX {temporary} RENAME TO {name}")
    return rows


class SqlAffinityRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace(self, batches: Iterable[AffinityBatch], at: datetime) -> int:
        if self._connection.dialect.name == "postgresql":
            return _copy_swap(self._connection, batches, at)
        self._connection.execute(delete(customer_affinity))
        count = 0
        for batch in batches:
            rows = [
                {
                    "customer_id": batch.customers[c],
                    "kind": AFFINITY_KINDS[k],
                    "rank": r,
                    "product": batch.products[p],
                    "product_group": batch.groups[p],
                    "score": v,
                    "computed_at": at,
                }
                for c, k, r, p, v in zip(
                    batch.customer.tolist(),
                    batch.kind.tolist(),
                    batch.rank.tolist(),
                    batch.product.tolist(),
                    batch.score.tolist(),
                    strict=True,
                )
            ]
            if rows:
                insert_rows(self._connection, customer_affinity, rows)
            count += len(rows)
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
