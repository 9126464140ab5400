"""The outbox relay's leases and cursors (``services.relay.ports.RelayStore``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, Text, cast, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from custmaster.persistence.outbox import _PG_HORIZON
from custmaster.persistence.tables import outbox
from custmaster.persistence.tables_relay import relay_partitions as rp
from custmaster.services.ports import FeedPosition
from custmaster.services.relay.ports import Backlog, OutboxEvent, PartitionState


def _state(row: Row[Any]) -> PartitionState:
    return PartitionState(
        name=row.name,
        partition=row.partition,
        holder=row.holder,
        lease_until=row.lease_until,
        cursor=FeedPosition(row.cursor_txid, row.cursor_id),
        published_total=row.published_total,
        last_event_id=row.last_event_id,
        last_published_at=row.last_published_at,
        rate=row.rate,
    )


class SqlRelayStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def pending(self, after: FeedPosition, limit: int) -> list[OutboxEvent]:
        """``SqlOutbox.read``'s query and horizon, with the envelope as stored text."""
        o = outbox.c
        query = (
            select(o.txid, o.id, o.event_id, o.type, o.subject, cast(o.envelope, Text))
            .where(tuple_(o.txid, o.id) > tuple_(after.txid, after.id))
            .order_by(o.txid, o.id)
            .limit(limit)
        )
        if self._connection.dialect.name == "postgresql":
            query = query.where(o.txid < _PG_HORIZON)
        return [
            OutboxEvent(FeedPosition(txid, id_), event_id, type_, subject, envelope.encode())
            for txid, id_, event_id, type_, subject, envelope in self._connection.execute(query)
        ]

    def ensure(self, name: str, partitions: int) -> None:
        rows = [
            {
                "name": name,
                "partition": p,
                "cursor_txid": 0,
                "cursor_id": 0,
                "published_total": 0,
                "rate": 0.0,
            }
            for p in range(partitions)
        ]
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(rp).on_conflict_do_nothing(index_elements=["name", "partition"])
        self._connection.execute(statement, rows)

    def claim(
        self, name: str, partition: int, holder: str, now: datetime, until: datetime
    ) -> PartitionState | None:
        taken = self._connection.execute(
            update(rp)
            .where(rp.c.name == name, rp.c.partition == partition)
            .where(or_(rp.c.holder == holder, rp.c.holder.is_(None), rp.c.lease_until < now))
            .values(holder=holder, lease_until=until)
        )
        if taken.rowcount != 1:
            return None
        row = self._connection.execute(
            select(rp).where(rp.c.name == name, rp.c.partition == partition)
        ).one()
        return _state(row)

    def advance(
        self,
        name: str,
        partition: int,
        holder: str,
        cursor: FeedPosition,
        published: int,
        last_event_id: UUID | None,
        at: datetime,
        rate: float,
    ) -> bool:
        values: dict[str, Any] = {"cursor_txid": cursor.txid, "cursor_id": cursor.id, "rate": rate}
        if published:
            values.update(
                published_total=rp.c.published_total + published,
                last_event_id=last_event_id,
                last_published_at=at,
            )
        moved = self._connection.execute(
            update(rp)
            .where(rp.c.name == name, rp.c.partition == partition, rp.c.holder == holder)
            .values(**values)
        )
        return moved.rowcount == 1

    def release(self, name: str, partition: int, holder: str) -> None:
        self._connection.execute(
            update(rp)
            .where(rp.c.name == name, rp.c.partition == partition, rp.c.holder == holder)
            .values(holder=None, lease_until=None, rate=0.0)
        )

    def states(self, name: str) -> list[PartitionState]:
        rows = self._connection.execute(
            select(rp).where(rp.c.name == name).order_by(rp.c.partition)
        )
        return [_state(row) for row in rows]

    def names(self) -> list[str]:
        query = select(rp.c.name).distinct().order_by(rp.c.name)
        return list(self._connection.execute(query).scalars())

    def backlog(self, after: FeedPosition, cap: int) -> Backlog:
        later = tuple_(outbox.c.txid, outbox.c.id) > tuple_(after.txid, after.id)
        capped = select(outbox.c.id).where(later).limit(cap + 1).subquery()
        count = int(self._connection.execute(select(func.count()).select_from(capped)).scalar_one())
        oldest = self._connection.execute(
            select(outbox.c.time).where(later).order_by(outbox.c.txid, outbox.c.id).limit(1)
        ).scalar_one_or_none()
        return Backlog(min(count, cap), count > cap, oldest)
