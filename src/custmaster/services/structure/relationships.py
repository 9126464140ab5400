"""Typed, dated relationships between customers and the user-defined relationship types.

The rules are :mod:`custmaster.domain.relationships`': a built-in or registered type, no
self relationship, no duplicate over overlapping periods, at most one primary of each type
at any time. Changes of one customer's relationships are serialised by a lock.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from custmaster.domain.errors import Conflict, NotFound
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.relationships import (
    RelationshipType,
    RelationshipTypeRegistry,
)
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import (
    brief_dict,
    record,
    require_customer,
)
from custmaster.services.structure.ports import StoredRelationship


def registry(uow: UnitOfWork) -> RelationshipTypeRegistry:
    return RelationshipTypeRegistry(uow.structure.relationship_types())


def type_dict(rel_type: RelationshipType) -> dict[str, Any]:
    return {"code": rel_type.code, "name": rel_type.name, "builtin": rel_type.builtin}


def list_types(uow: UnitOfWork, actor: Principal) -> list[RelationshipType]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return sorted(registry(uow), key=lambda t: (not t.builtin, t.code))


def create_type(
    uow: UnitOfWork, actor: Principal, code: str, name: str | None = None
) -> RelationshipType:
    """Register a user-defined type (lower snake case code)."""
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        uow.structure.lock("relationship_types")
        known = registry(uow)
        if code in known:
            raise Conflict(f"relationship type '{code}' exists already")
        rel_type = known.register(code, name)
        uow.structure.add_relationship_type(rel_type, utcnow())
        record(
            uow,
            actor,
            resource_type="relationship_type",
            resource_id=code,
            operation="create",
            before=None,
            after=type_dict(rel_type),
        )
        return rel_type


def delete_type(uow: UnitOfWork, actor: Principal, code: str) -> None:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        uow.structure.lock("relationship_types")
        rel_type = registry(uow).get(code)
        if rel_type.builtin:
            raise Conflict(f"'{code}' is a built-in relationship type")
        if uow.structure.relationship_type_in_use(code):
            raise Conflict(f"relationships of type '{code}' exist; delete them first")
        uow.structure.delete_relationship_type(code)
        record(
            uow,
            actor,
            resource_type="relationship_type",
            resource_id=code,
            operation="delete",
            before=type_dict(rel_type),
            after=None,
        )


def relationship_dict(stored: StoredRelationship) -> dict[str, Any]:
    rel = stored.relationship
    return {
        "id": stored.id,
        "customer_id": rel.customer_id,
        "related_id": rel.related_id,
        "relationship_type": rel.relationship_type,
        "valid_from": rel.valid_from,
        "valid_to": rel.valid_to,
        "is_primary": rel.is_primary,
    }


def _load(uow: UnitOfWork, relationship_id: UUID) -> StoredRelationship:
    stored = uow.structure.get_relationship(relationship_id)
    if stored is None:
        raise NotFound(f"no relationship {relationship_id}")
    return stored


def get_relationship(
    uow: UnitOfWork, actor: Principal, relationship_id: UUID
) -> StoredRelationship:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return _load(uow, relationship_id)


def customer_relationships(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    as_of: date | None = None,
    relationship_type: str | None = None,
    incoming: bool = False,
) -> list[dict[str, Any]]:
    """The customer's relationships (``incoming``: where it is the related customer), all
    periods or those active on ``as_of``; primary first within a type."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        require_customer(uow, customer_id)
        return relationship_list(uow, customer_id, as_of, relationship_type, incoming)


def relationship_list(
    uow: UnitOfWork,
    customer_id: UUID,
    as_of: date | None,
    relationship_type: str | None,
    incoming: bool,
) -> list[dict[str, Any]]:
    """``customer_relationships``'s answer once its checks passed (in the caller's unit
    of work: an existing customer, a reader)."""
    found = [
        s
        for s in uow.structure.relationships_of(customer_id, incoming=incoming)
        if (as_of is None or s.relationship.active_on(as_of))
        and relationship_type in (None, s.relationship.relationship_type)
    ]
    found.sort(
        key=lambda s: (
            s.relationship.relationship_type,
            not s.relationship.is_primary,
            s.relationship.valid_from,
        )
    )
    other = [s.relationship.customer_id if incoming else s.relationship.related_id for s in found]
    briefs = uow.structure.briefs(other)
    return [
        {**relationship_dict(s), "related": brief_dict(briefs.get(o), o)}
        for s, o in zip(found, other, strict=True)
    ]
