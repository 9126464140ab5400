"""Webhook subscriptions, deliveries and attempts (tables_hub)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, delete, insert, select, update

from custmaster.persistence.tables_hub import (
    webhook_attempts,
    webhook_deliveries,
    webhook_subscriptions,
)
from custmaster.services.ports import FeedPosition
from custmaster.services.webhooks.ports import (
    ACTIVE,
    PENDING,
    Attempt,
    Delivery,
    SigningSecret,
    Subscription,
)

_S, _D, _A = webhook_subscriptions, webhook_deliveries, webhook_attempts


def _secrets_out(secrets: list[SigningSecret]) -> list[dict[str, Any]]:
    return [
        {
            "secret": s.secret,
            "created_at": s.created_at.isoformat(),
            "expires_at": None if s.expires_at is None else s.expires_at.isoformat(),
        }
        for s in secrets
    ]


def _secrets_in(raw: list[dict[str, Any]]) -> list[SigningSecret]:
    return [
        SigningSecret(
            r["secret"],
            datetime.fromisoformat(r["created_at"]),
            None if r["expires_at"] is None else datetime.fromisoformat(r["expires_at"]),
        )
        for r in raw
    ]


def _values(s: Subscription) -> dict[str, Any]:
    return {
        "owner_id": s.owner_id,
        "url": s.url,
        "description": s.description,
        "event_types": s.event_types,
        "entities": s.entities,
        "secrets": _secrets_out(s.secrets),
        "status": s.status,
        "disabled_reason": s.disabled_reason,
        "cursor_txid": s.cursor.txid,
        "cursor_id": s.cursor.id,
        "failing_since": s.failing_since,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        id=row.id,
        owner_id=row.owner_id,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        entities=None if row.entities is None else list(row.entities),
        secrets=_secrets_in(row.secrets),
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cursor=FeedPosition(row.cursor_txid, row.cursor_id),
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
    )


def _delivery_values(d: Delivery) -> dict[str, Any]:
    return {
        "subscription_id": d.subscription_id,
        "seq": d.seq,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "body": d.body,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        seq=row.seq,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
    )


class SqlWebhookRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _locking(self) -> bool:
        return self._connection.dialect.name == "postgresql"

    def add(self, subscription: Subscription) -> None:
        self._connection.execute(insert(_S).values(id=subscription.id, **_values(subscription)))

    def save(self, subscription: Subscription) -> None:
        self._connection.execute(
            update(_S).where(_S.c.id == subscription.id).values(**_values(subscription))
        )

    def get(self, subscription_id: UUID, *, for_update: bool = False) -> Subscription | None:
        query = select(_S).where(_S.c.id == subscription_id)
        if for_update and self._locking():
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else _subscription(row)

    def delete(self, subscription_id: UUID) -> None:
        delivered = select(_D.c.id).where(_D.c.subscription_id == subscription_id)
        self._connection.execute(delete(_A).where(_A.c.delivery_id.in_(delivered)))
        self._connection.execute(delete(_D).where(_D.c.subscription_id == subscription_id))
        self._connection.execute(delete(_S).where(_S.c.id == subscription_id))

    def owned_by(
        self, owner_id: str | None, *, after: UUID | None, limit: int
    ) -> list[Subscription]:
        query = select(_S).order_by(_S.c.id).limit(limit)
        if owner_id is not None:
            query = query.where(_S.c.owner_id == owner_id)
        if after is not None:
            query = query.where(_S.c.id > after)
        return [_subscription(r) for r in self._connection.execute(query)]

    def active_ids(self) -> list[UUID]:
        query = select(_S.c.id).where(_S.c.status == ACTIVE).order_by(_S.c.created_at)
        return list(self._connection.execute(query).scalars())

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        if deliveries:
            self._connection.execute(
                insert(_D), [{"id": d.id, **_delivery_values(d)} for d in deliveries]
            )

    def delivery(self, delivery_id: UUID, *, for_update: bool = False) -> Delivery | None:
        query = select(_D).where(_D.c.id == delivery_id)
        if for_update and self._locking():
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else _delivery(row)

    def deliveries(
        self, subscription_id: UUID, *, status: str | None, before: int | None, limit: int
    ) -> list[Delivery]:
        query = (
            select(_D)
            .where(_D.c.subscription_id == subscription_id)
            .order_by(_D.c.seq.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(_D.c.status == status)
        if before is not None:
            query = query.where(_D.c.seq < before)
        return [_delivery(r) for r in self._connection.execute(query)]

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Delivery]:
        active = select(_S.c.id).where(_S.c.status == ACTIVE)
        query = (
            select(_D)
            .where(
                _D.c.status == PENDING,
                _D.c.next_attempt_at <= now,
                _D.c.subscription_id.in_(active),
            )
            .order_by(_D.c.next_attempt_at, _D.c.seq)
            .limit(limit)
        )
        if self._locking():
            query = query.with_for_update(skip_locked=True, of=_D)
        found = [_delivery(r) for r in self._connection.execute(query)]
        if found:
            self._connection.execute(
                update(_D)
                .where(_D.c.id.in_([d.id for d in found]))
                .values(next_attempt_at=lease_until)
            )
        return found

    def save_delivery(self, delivery: Delivery) -> None:
        self._connection.execute(
            update(_D).where(_D.c.id == delivery.id).values(**_delivery_values(delivery))
        )

    def release_pending(self, subscription_id: UUID, now: datetime) -> int:
        done = self._connection.execute(
            update(_D)
            .where(_D.c.subscription_id == subscription_id, _D.c.status == PENDING)
            .values(next_attempt_at=now)
        )
        return int(done.rowcount)

    def add_attempt(self, delivery_id: UUID, attempt: Attempt) -> None:
        self._connection.execute(
            insert(_A).values(
                delivery_id=delivery_id,
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                error=None if attempt.error is None else attempt.error[:512],
                duration_ms=attempt.duration_ms,
                next_attempt_at=attempt.next_attempt_at,
            )
        )

    def attempts(self, delivery_id: UUID) -> list[Attempt]:
        query = select(_A).where(_A.c.delivery_id == delivery_id).order_by(_A.c.id)
        return [
            Attempt(r.attempted_at, r.status_code, r.error, r.duration_ms, r.next_attempt_at)
            for r in self._connection.execute(query)
        ]
