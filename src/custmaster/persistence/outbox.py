"""The transactional outbox and the pull change feed over it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    func,
    insert,
    literal_column,
    select,
    tuple_,
)

from custmaster.domain.events import CloudEvent
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables import outbox
from custmaster.services.ports import FeedItem, FeedPosition

# Transactions still running on PostgreSQL have ids >= this; rows below it are final.
_PG_HORIZON: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger()
)


_INSERT = insert(outbox)


def _row(event: CloudEvent) -> dict[str, Any]:
    """The outbox row of an event."""
    return {
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "envelope": event.envelope(),
    }


class SqlOutbox:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, event: CloudEvent) -> None:
        self.add_many([event])

    def add_many(self, events: list[CloudEvent]) -> None:
        if not events:
            return
        rows = [_row(event) for event in events]
        # one row: a plain INSERT (an executemany of one row runs a driver pipeline)
        self._connection.execute(_INSERT, rows[0] if len(rows) == 1 else rows)

    def add_bulk(self, events: list[CloudEvent]) -> None:
        """The rows :meth:`add_many` writes, with ``persistence.bulk.insert_rows`` (COPY on
        PostgreSQL): for large batches (bulk import)."""
        insert_rows(self._connection, outbox, [_row(event) for event in events])

    def read(self, after: FeedPosition, limit: int) -> list[FeedItem]:
        """Events after ``after`` in commit order, never skipping one that commits later.

        On PostgreSQL the order is (txid, id) and only transactions older than every
        running one are served; on SQLite writers are serialised and txid is 0.
        """
        query = (
            select(outbox.c.txid, outbox.c.id, outbox.c.envelope)
            .where(tuple_(outbox.c.txid, outbox.c.id) > tuple_(after.txid, after.id))
            .order_by(outbox.c.txid, outbox.c.id)
            .limit(limit)
        )
        if self._connection.dialect.name == "postgresql":
            query = query.where(outbox.c.txid < _PG_HORIZON)
        return [
            FeedItem(FeedPosition(row.txid, row.id), row.envelope)
            for row in self._connection.execute(query)
        ]

    def count(self) -> int:
        return int(self._connection.execute(select(func.count()).select_from(outbox)).scalar_one())
