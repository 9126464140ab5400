"""The console's sign-in sessions (``services.console.ports.ConsoleSessionStore``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, or_, select, update

from custmaster.persistence.tables_console import console_sessions
from custmaster.services.console.ports import SessionRecord


class SqlConsoleSessionStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: SessionRecord) -> None:
        self._connection.execute(
            console_sessions.insert().values(
                token_hash=record.token_hash,
                user_id=record.user_id,
                method=record.method,
                key_prefix=record.key_prefix,
                principal=record.principal,
                csrf_token=record.csrf_token,
                created_at=record.created_at,
                expires_at=record.expires_at,
                ended_at=record.ended_at,
            )
        )

    def get(self, token_hash: str) -> SessionRecord | None:
        row = self._connection.execute(
            select(console_sessions).where(console_sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return SessionRecord(
            row.token_hash,
            row.user_id,
            row.method,
            row.key_prefix,
            dict(row.principal),
            row.csrf_token,
            row.created_at,
            row.expires_at,
            row.ended_at,
        )

    def end(self, token_hash: str, at: datetime) -> None:
        self._connection.execute(
            update(console_sessions)
            .where(console_sessions.c.token_hash == token_hash)
            .values(ended_at=at)
        )

    def purge(self, before: datetime) -> int:
        result = self._connection.execute(
            delete(console_sessions).where(
                or_(console_sessions.c.expires_at < before, console_sessions.c.ended_at < before)
            )
        )
        return int(result.rowcount or 0)
