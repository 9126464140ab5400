"""Users, API keys and change requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, insert, or_, select, update

from custmaster.domain.approvals import (
    ApprovalStep,
    ChangeRequest,
    Lane,
    Operation,
    ProposedChange,
    RequestStatus,
    StepState,
)
from custmaster.domain.permissions import Principal, Role
from custmaster.persistence.tables_governance import api_keys, change_requests, users
from custmaster.services.ports import ApiKeyRecord, UserRecord


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        principal=Principal(
            user_id=row.id,
            name=row.name,
            roles=frozenset(Role(r) for r in row.roles),
            entities=None if row.entities is None else frozenset(row.entities),
        ),
        active=row.active,
        created_at=row.created_at,
    )


class SqlUserRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, principal: Principal, created_at: datetime) -> None:
        self._connection.execute(
            insert(users).values(
                id=principal.user_id,
                name=principal.name,
                roles=sorted(r.value for r in principal.roles),
                entities=None if principal.entities is None else sorted(principal.entities),
                active=True,
                created_at=created_at,
            )
        )

    def get(self, user_id: str) -> UserRecord | None:
        row = self._connection.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def all(self) -> list[UserRecord]:
        return [_user(r) for r in self._connection.execute(select(users).order_by(users.c.id))]

    def active_principals(self) -> list[Principal]:
        rows = self._connection.execute(select(users).where(users.c.active.is_(True)))
        return [_user(r).principal for r in rows]

    def add_key(self, user_id: str, prefix: str, secret_hash: str, created_at: datetime) -> None:
        self._connection.execute(
            insert(api_keys).values(
                prefix=prefix, user_id=user_id, secret_hash=secret_hash, created_at=created_at
            )
        )

    def key(self, prefix: str) -> ApiKeyRecord | None:
        row = self._connection.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
        if row is None:
            return None
        return ApiKeyRecord(
            row.prefix, row.user_id, row.secret_hash, row.created_at, row.revoked_at
        )

    def keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        rows = self._connection.execute(
            select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.created_at)
        )
        return [
            ApiKeyRecord(r.prefix, r.user_id, r.secret_hash, r.created_at, r.revoked_at)
            for r in rows
        ]

    def revoke_key(self, prefix: str, at: datetime) -> bool:
        result = self._connection.execute(
            update(api_keys)
            .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return result.rowcount == 1


def request_from_data(data: dict[str, Any]) -> ChangeRequest:
    """The inverse of ``ChangeRequest.as_dict()``."""

    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    change = data["change"]
    created = moment(data["created_at"])
    assert created is not None
    return ChangeRequest(
        id=UUID(data["id"]),
        operation=Operation(data["operation"]),
        customer_id=UUID(data["customer_id"]) if data["customer_id"] else None,
        submitted_by=data["submitted_by"],
        lane=Lane(data["lane"]),
        steps=[
            ApprovalStep(
                role=Role(s["role"]),
                state=StepState(s["state"]),
                decided_by=s["decided_by"],
                decided_at=moment(s["decided_at"]),
                comment=s["comment"],
            )
            for s in data["steps"]
        ],
        change=ProposedChange(
            payload=change["payload"],
            fields=tuple(change["fields"]),
            base_version=change["base_version"],
            base_values=change["base_values"],
        ),
        created_at=created,
        entities=frozenset(data["entities"]),
        reasons=tuple(data["reasons"]),
        status=RequestStatus(data["status"]),
        updated_at=moment(data["updated_at"]),
        conflict_fields=tuple(data["conflict_fields"]),
        warnings=tuple(data.get("warnings") or ()),  # requests stored before: none
    )


class SqlChangeRequestRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, request: ChangeRequest) -> None:
        self._connection.execute(insert(change_requests).values(**self._values(request)))

    def save(self, request: ChangeRequest) -> None:
        values = self._values(request)
        values.pop("id")
        self._connection.execute(
            update(change_requests).where(change_requests.c.id == request.id).values(**values)
        )

    def get(self, request_id: UUID, *, for_update: bool = False) -> ChangeRequest | None:
        query = select(change_requests.c.data).where(change_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else request_from_data(row.data)

    def find(
        self,
        *,
        statuses: list[str] | None,
        waiting_for_roles: list[str] | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[ChangeRequest]:
        """Oldest first. ``waiting_for_roles`` keeps pending requests only (the caller
        checks the current step's role and segregation of duties)."""
        query = select(change_requests.c.data).order_by(
            change_requests.c.created_at, change_requests.c.id
        )
        if statuses:
            query = query.where(change_requests.c.status.in_(statuses))
        if waiting_for_roles is not None:
            query = query.where(change_requests.c.status == RequestStatus.PENDING.value)
        if after is not None:
            created, request_id = after
            query = query.where(
                or_(
                    change_requests.c.created_at > created,
                    (change_requests.c.created_at == created) & (change_requests.c.id > request_id),
                )
            )
        rows = self._connection.execute(query.limit(limit))
        return [request_from_data(r.data) for r in rows]

    @staticmethod
    def _values(request: ChangeRequest) -> dict[str, Any]:
        return {
            "id": request.id,
            "operation": request.operation.value,
            "customer_id": request.customer_id,
            "submitted_by": request.submitted_by,
            "status": request.status.value,
            "lane": request.lane.value,
            "data": request.as_dict(),
            "created_at": request.created_at,
            "updated_at": request.updated_at or request.created_at,
        }
