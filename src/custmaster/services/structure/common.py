"""Steps the account-structure use cases share: settings, lookups, audit and events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.events import CloudEvent
from custmaster.domain.hierarchy import DEFAULT_HIERARCHY_TYPES, LEGAL
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import diff, jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.structure.ports import CustomerBrief

#: master fields that may be declared inheritable (the commercial and classification ones)
INHERITABLE_CANDIDATES: frozenset[str] = frozenset(
    {
        "customer_group",
        "payment_terms",
        "payment_method",
        "currency",
        "tax_code",
        "revenue_account",
        "credit_limit",
        "industry",
        "customer_type",
        "account_tier",
    }
)
_PAST = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "end": "ended",
    "move": "moved",
    "replace": "replaced",
}


@dataclass(frozen=True, slots=True)
class StructureSettings:
    """Which hierarchy types exist, and which fields flow down which hierarchy."""

    hierarchy_types: frozenset[str] = DEFAULT_HIERARCHY_TYPES
    inheritable_fields: tuple[str, ...] = ("customer_group", "payment_terms")
    inheritance_hierarchy: str = LEGAL

    def __post_init__(self) -> None:
        unknown = sorted(set(self.inheritable_fields) - INHERITABLE_CANDIDATES)
        if unknown:
            raise ValueError(f"fields that cannot be inherited: {', '.join(unknown)}")
        if self.inheritance_hierarchy not in self.hierarchy_types:
            raise ValueError(f"unknown hierarchy type {self.inheritance_hierarchy}")


DEFAULT_SETTINGS = StructureSettings()


def today() -> date:
    return utcnow().date()


def require_customer(uow: UnitOfWork, customer_id: UUID) -> CustomerBrief:
    """The customer named in the path: 404 when it does not exist."""
    brief = uow.structure.briefs([customer_id]).get(customer_id)
    if brief is None:
        raise NotFound(f"no customer {customer_id}")
    return brief


def check_customers(uow: UnitOfWork, named: Mapping[str, UUID | None]) -> None:
    """Customers named in a request body (field -> id) must exist: 422 naming the field."""
    ids = [value for value in named.values() if value is not None]
    found = uow.structure.briefs(ids)
    errors = [
        FieldError(name, "unknown_customer", f"no customer {value}")
        for name, value in named.items()
        if value is not None and value not in found
    ]
    if errors:
        raise ValidationFailed(errors)


def brief_dict(brief: CustomerBrief | None, customer_id: UUID) -> dict[str, Any]:
    """``{"id", "number", "name"}``; a customer deleted meanwhile keeps its id only."""
    if brief is None:
        return {"id": str(customer_id), "number": None, "name": None}
    return {"id": str(brief.id), "number": brief.number, "name": brief.name}


def briefs_of(uow: UnitOfWork, ids: Iterable[UUID]) -> dict[UUID, CustomerBrief]:
    return uow.structure.briefs(ids)


def record(
    uow: UnitOfWork,
    actor: Principal,
    *,
    resource_type: str,
    resource_id: str,
    operation: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    subject: str | None = None,
    change_request_id: UUID | None = None,
) -> None:
    """Audit entry and CloudEvent ``custmaster.<resource_type>.<operation, past tense>``
    (``change_request_id``: the approved request that made the change)."""
    old = jsonable(dict(before)) if before is not None else None
    new = jsonable(dict(after)) if after is not None else None
    changes = diff(old, new)
    data: dict[str, Any] = {"changes": changes, resource_type: new if new is not None else old}
    event = CloudEvent(
        id=uuid4(),
        type=f"custmaster.{resource_type}.{_PAST.get(operation, operation)}",
        subject=subject or resource_id,
        time=utcnow(),
        data=data,
    )
    record_change(
        uow,
        actor,
        operation=operation,
        resource_type=resource_type,
        resource_id=resource_id,
        changes=changes,
        event=event,
        change_request_id=change_request_id,
    )
