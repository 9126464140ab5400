"""Stored answers of idempotent requests, written in the request's own transaction.

A request first *claims* its key: it inserts a placeholder row, which its transaction
fills with the answer before it commits (a failed request rolls the placeholder back).
Twins of a request still in flight meet that uncommitted row: on PostgreSQL their insert
waits for the first transaction (at most ``IN_FLIGHT_WAIT_MS``) and then reads the answer
it committed, never a unique violation; on SQLite writers are serialised anyway."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from custmaster.domain.errors import RequestInFlight
from custmaster.persistence.tables import idempotency_keys
from custmaster.services.ports import StoredResponse

#: How long a request waits for a twin's answer before it is told to retry (409).
IN_FLIGHT_WAIT_MS = 5000
RETRY_AFTER_SECONDS = 1
_LOCK_NOT_AVAILABLE = "55P03"


class SqlIdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def _key(self, principal_id: str, key: str) -> list[ColumnElement[bool]]:
        return [idempotency_keys.c.principal_id == principal_id, idempotency_keys.c.key == key]

    def get(self, principal_id: str, key: str) -> StoredResponse | None:
        row = self._connection.execute(
            select(idempotency_keys).where(*self._key(principal_id, key))
        ).first()
        if row is None:
            return None
        return StoredResponse(row.status_code, row.body, dict(row.headers), row.fingerprint)

    def claim(self, principal_id: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Take ``key`` for this transaction (None) or return the answer a twin stored;
        ``RequestInFlight`` when a twin holds it longer than ``IN_FLIGHT_WAIT_MS``."""
        values = {
            "principal_id": principal_id,
            "key": key,
            "fingerprint": fingerprint,
            "status_code": 0,
            "body": {},
            "headers": {},
            "created_at": datetime.now(UTC),
        }
        insert = postgres_insert if self._postgres else sqlite_insert
        statement = (
            insert(idempotency_keys)
            .values(values)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if not self._postgres:
            claimed = self._connection.execute(statement).first() is not None
        else:
            self._connection.execute(text(f"SET LOCAL lock_timeout = {IN_FLIGHT_WAIT_MS}"))
            try:
                claimed = self._connection.execute(statement).first() is not None
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                    raise
                raise RequestInFlight(
                    "a request with this Idempotency-Key is still in flight; retry shortly",
                    RETRY_AFTER_SECONDS,
                ) from None
            self._connection.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        if claimed:
            return None
        stored = self.get(principal_id, key)
        if stored is None or stored.status_code == 0:
            raise RequestInFlight(
                "a request with this Idempotency-Key is still in flight; retry shortly",
                RETRY_AFTER_SECONDS,
            )
        return stored

    def put(self, principal_id: str, key: str, response: StoredResponse) -> None:
        """Store the answer of the request that claimed ``key``."""
        self._connection.execute(
            update(idempotency_keys)
            .where(*self._key(principal_id, key))
            .values(
                fingerprint=response.fingerprint,
                status_code=response.status_code,
                body=response.body,
                headers=response.headers,
            )
        )
