"""Stored answers of idempotent requests, written in the request's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from custmaster.persistence.tables import idempotency_keys
from custmaster.services.ports import StoredResponse


class SqlIdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, principal_id: str, key: str) -> StoredResponse | None:
        row = self._connection.execute(
            select(idempotency_keys)
            .where(idempotency_keys.c.principal_id == principal_id)
            .where(idempotency_keys.c.key == key)
        ).first()
        if row is None:
            return None
        return StoredResponse(row.status_code, row.body, dict(row.headers), row.fingerprint)

    def put(self, principal_id: str, key: str, response: StoredResponse) -> None:
        self._connection.execute(
            insert(idempotency_keys).values(
                principal_id=principal_id,
                key=key,
                fingerprint=response.fingerprint,
                status_code=response.status_code,
                body=response.body,
                headers=response.headers,
                created_at=datetime.now(UTC),
            )
        )
