"""Outbound sync state: targets' cursors, links and dead letters (tables_hub)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, func, insert, select, update

from custmaster.persistence.tables_hub import sync_dead_letters, sync_links, sync_targets
from custmaster.services.ports import FeedPosition
from custmaster.services.sync.ports import DeadLetter, Link, TargetState

_T, _L, _DL = sync_targets, sync_links, sync_dead_letters


def _letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        target=row.target,
        customer_id=row.customer_id,
        event_id=row.event_id,
        payload=dict(row.payload),
        error=row.error,
        attempts=row.attempts,
        created_at=row.created_at,
        id=row.id,
        resolved_at=row.resolved_at,
    )


class SqlSyncRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def state(self, name: str, *, for_update: bool = False) -> TargetState | None:
        query = select(_T).where(_T.c.name == name)
        if for_update and self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        if row is None:
            return None
        return TargetState(
            name=row.name,
            updated_at=row.updated_at,
            cursor=FeedPosition(row.cursor_txid, row.cursor_id),
            paused=row.paused,
            sent=row.sent,
            last_run_at=row.last_run_at,
        )

    def save_state(self, state: TargetState) -> None:
        values = {
            "cursor_txid": state.cursor.txid,
            "cursor_id": state.cursor.id,
            "paused": state.paused,
            "sent": state.sent,
            "last_run_at": state.last_run_at,
            "updated_at": state.updated_at,
        }
        done = self._connection.execute(update(_T).where(_T.c.name == state.name).values(values))
        if done.rowcount == 0:
            self._connection.execute(insert(_T).values(name=state.name, **values))

    def link(self, target: str, customer_id: UUID) -> Link | None:
        row = self._connection.execute(
            select(_L).where(_L.c.target == target, _L.c.customer_id == customer_id)
        ).first()
        if row is None:
            return None
        return Link(
            row.target, row.customer_id, row.external_id, dict(row.known_values), row.updated_at
        )

    def save_link(self, link: Link) -> None:
        values = {
            "external_id": link.external_id,
            "known_values": link.known_values,
            "updated_at": link.updated_at,
        }
        done = self._connection.execute(
            update(_L)
            .where(_L.c.target == link.target, _L.c.customer_id == link.customer_id)
            .values(values)
        )
        if done.rowcount == 0:
            self._connection.execute(
                insert(_L).values(target=link.target, customer_id=link.customer_id, **values)
            )

    def link_count(self, target: str) -> int:
        query = select(func.count()).select_from(_L).where(_L.c.target == target)
        return int(self._connection.execute(query).scalar_one())

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self._connection.execute(
            insert(_DL).values(
                target=letter.target,
                customer_id=letter.customer_id,
                event_id=letter.event_id,
                payload=letter.payload,
                error=letter.error[:512],
                attempts=letter.attempts,
                created_at=letter.created_at,
                resolved_at=letter.resolved_at,
            )
        )

    def dead_letters(self, target: str, *, open_only: bool, limit: int) -> list[DeadLetter]:
        query = select(_DL).where(_DL.c.target == target).order_by(_DL.c.id).limit(limit)
        if open_only:
            query = query.where(_DL.c.resolved_at.is_(None))
        return [_letter(r) for r in self._connection.execute(query)]

    def resolve_dead_letter(self, letter_id: int, at: datetime) -> None:
        self._connection.execute(update(_DL).where(_DL.c.id == letter_id).values(resolved_at=at))
