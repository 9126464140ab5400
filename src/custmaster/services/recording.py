"""Every change writes, in its own transaction, an audit entry and an outbox event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Principal
from custmaster.services.ports import AuditEntry, UnitOfWork


def utcnow() -> datetime:
    return datetime.now(UTC)


def record_change(
    uow: UnitOfWork,
    actor: Principal,
    *,
    operation: str,
    resource_type: str,
    resource_id: str,
    changes: list[dict[str, Any]],
    event: CloudEvent,
    change_request_id: UUID | None = None,
) -> None:
    uow.outbox.add(event)
    # Last: appending takes the audit chain's lock, held until the transaction commits.
    uow.audit.append(
        AuditEntry(
            occurred_at=event.time,
            actor_id=actor.user_id,
            actor_name=actor.name,
            operation=operation,
            resource_type=resource_type,
            resource_id=resource_id,
            changes=changes,
            change_request_id=change_request_id,
        )
    )
