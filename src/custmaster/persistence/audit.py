"""The append-only audit log."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from custmaster.persistence.tables import audit_log
from custmaster.services.ports import AuditEntry


class SqlAuditLog:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, entry: AuditEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[AuditEntry]) -> None:
        """Append entries in order (one statement; bulk imports use it)."""
        if not entries:
            return
        self._connection.execute(
            insert(audit_log),
            [
                {
                    "occurred_at": entry.occurred_at,
                    "actor_id": entry.actor_id,
                    "actor_name": entry.actor_name,
                    "operation": entry.operation,
                    "resource_type": entry.resource_type,
                    "resource_id": entry.resource_id,
                    "change_request_id": entry.change_request_id,
                    "changes": entry.changes,
                }
                for entry in entries
            ],
        )

    def for_resource(
        self, resource_type: str, resource_id: str, *, after_id: int | None, limit: int
    ) -> list[AuditEntry]:
        query = (
            select(audit_log)
            .where(audit_log.c.resource_type == resource_type)
            .where(audit_log.c.resource_id == resource_id)
            .order_by(audit_log.c.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(audit_log.c.id > after_id)
        return [
            AuditEntry(
                id=row.id,
                occurred_at=row.occurred_at,
                actor_id=row.actor_id,
                actor_name=row.actor_name,
                operation=row.operation,
                resource_type=row.resource_type,
                resource_id=row.resource_id,
                change_request_id=row.change_request_id,
                changes=row.changes,
            )
            for row in self._connection.execute(query)
        ]
