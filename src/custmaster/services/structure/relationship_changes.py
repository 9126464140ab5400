"""Relationship changes under the approval policy: create (optionally replacing the
current primary of the type) and end (or delete) a relationship.

The effect names the customer's current primary of the type on the change's date: the
one a new primary replaces (``replace_primary``), or the one an ended primary leaves the
customer without.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import Operation
from custmaster.domain.errors import NotFound
from custmaster.domain.permissions import Principal
from custmaster.domain.relationships import Relationship, RelationshipBook
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import brief_dict, check_customers, record
from custmaster.services.structure.plans import Plan, date_of, required_date, required_uuid
from custmaster.services.structure.ports import StoredRelationship
from custmaster.services.structure.relationships import registry, relationship_dict


def _stored(uow: UnitOfWork, customer_id: UUID) -> list[StoredRelationship]:
    return uow.structure.relationships_of(customer_id)


def _base(stored: list[StoredRelationship], customer_id: UUID, kind: str) -> dict[str, Any]:
    """The customer's relationships of the type (every period): when they differ at
    approval, the structure moved meanwhile."""
    rows = sorted(
        (
            jsonable(relationship_dict(s))
            for s in stored
            if s.relationship.relationship_type == kind
        ),
        key=lambda row: (row["valid_from"], row["id"]),
    )
    return {f"relationships.{customer_id}.{kind}": rows}


def _primary_on(
    stored: list[StoredRelationship], kind: str, day: date
) -> StoredRelationship | None:
    for s in stored:
        rel = s.relationship
        if rel.is_primary and rel.relationship_type == kind and rel.active_on(day):
            return s
    return None


def _described(uow: UnitOfWork, stored: StoredRelationship | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    related = stored.relationship.related_id
    brief = uow.structure.briefs([related]).get(related)
    return {**jsonable(relationship_dict(stored)), "related": brief_dict(brief, related)}


def plan_create(uow: UnitOfWork, action: Mapping[str, Any]) -> Plan[StoredRelationship]:
    """``{"customer_id", "related_id", "relationship_type", "valid_from", "valid_to",
    "is_primary", "replace_primary"}``. With ``replace_primary`` a new primary ends the
    customer's primary of the type active on ``valid_from`` (started before it) that day."""
    customer_id = required_uuid(action, "customer_id")
    related_id = required_uuid(action, "related_id")
    kind = str(action.get("relationship_type"))
    valid_from = required_date(action, "valid_from")
    valid_to = date_of(action, "valid_to", optional=True)
    is_primary = bool(action.get("is_primary", False))
    check_customers(uow, {"customer_id": customer_id, "related_id": related_id})
    uow.structure.lock(f"relationships:{customer_id}")
    stored = _stored(uow, customer_id)
    book = RelationshipBook.from_relationships((s.relationship for s in stored), registry(uow))
    current = _primary_on(stored, kind, valid_from)
    replaced: StoredRelationship | None = None
    if (
        is_primary
        and action.get("replace_primary")
        and current is not None
        and current.relationship.valid_from < valid_from
    ):
        replaced = replace(current, relationship=book.end(current.relationship, valid_from))
    rel = Relationship(customer_id, related_id, kind, valid_from, valid_to, is_primary)
    book.add(rel)
    briefs = uow.structure.briefs([customer_id, related_id])
    effect = {
        "relationship_type": kind,
        "as_of": valid_from.isoformat(),
        "customer": brief_dict(briefs.get(customer_id), customer_id),
        "related": brief_dict(briefs.get(related_id), related_id),
        "is_primary": is_primary,
        "current_primary": _described(uow, current),
        "replaces": _described(uow, current) if replaced is not None else None,
    }

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> StoredRelationship:
        if replaced is not None and current is not None:
            uow.structure.set_relationship_end(current.id, valid_from)
            record(
                uow,
                actor,
                resource_type="customer_relationship",
                resource_id=str(current.id),
                operation="end",
                before=relationship_dict(current),
                after=relationship_dict(replaced),
                subject=str(customer_id),
                change_request_id=request_id,
            )
        new = StoredRelationship(uuid4(), rel)
        uow.structure.add_relationship(new, utcnow())
        record(
            uow,
            actor,
            resource_type="customer_relationship",
            resource_id=str(new.id),
            operation="create",
            before=None,
            after=relationship_dict(new),
            subject=str(customer_id),
            change_request_id=request_id,
        )
        return new

    return Plan(
        Operation.RELATIONSHIP_CREATE,
        kind,
        customer_id,
        {
            "field": f"relationships.{customer_id}.{kind}",
            "before": str(current.relationship.related_id) if current else None,
            "after": str(related_id),
        },
        _base(stored, customer_id, kind),
        effect,
        apply,
        named=(customer_id, related_id),
    )


def plan_end(uow: UnitOfWork, action: Mapping[str, Any]) -> Plan[StoredRelationship | None]:
    """``{"relationship_id", "valid_to"}``: close it on ``valid_to`` (exclusive; it never
    extends one); without ``valid_to`` delete it (a correction)."""
    relationship_id = required_uuid(action, "relationship_id")
    valid_to = date_of(action, "valid_to", optional=True)
    found = uow.structure.get_relationship(relationship_id)
    if found is None:
        raise NotFound(f"no relationship {relationship_id}")
    customer_id = found.relationship.customer_id
    kind = found.relationship.relationship_type
    uow.structure.lock(f"relationships:{customer_id}")
    stored = _stored(uow, customer_id)
    ended: StoredRelationship | None = None
    if valid_to is not None:
        book = RelationshipBook.from_relationships((s.relationship for s in stored), registry(uow))
        ended = replace(found, relationship=book.end(found.relationship, valid_to))
    day = valid_to or found.relationship.valid_from
    effect = {
        "relationship_type": kind,
        "as_of": day.isoformat(),
        "relationship": _described(uow, found),
        "deleted": valid_to is None,
        "current_primary": _described(uow, _primary_on(stored, kind, day)),
        "leaves_without_primary": found.relationship.is_primary,
    }

    def apply(
        uow: UnitOfWork, actor: Principal, request_id: UUID | None
    ) -> StoredRelationship | None:
        if ended is None:
            uow.structure.delete_relationship(relationship_id)
        else:
            uow.structure.set_relationship_end(relationship_id, ended.relationship.valid_to or day)
        record(
            uow,
            actor,
            resource_type="customer_relationship",
            resource_id=str(relationship_id),
            operation="delete" if ended is None else "end",
            before=relationship_dict(found),
            after=None if ended is None else relationship_dict(ended),
            subject=str(customer_id),
            change_request_id=request_id,
        )
        return ended

    related = found.relationship.related_id
    return Plan(
        Operation.RELATIONSHIP_END,
        kind,
        customer_id,
        {"field": f"relationships.{customer_id}.{kind}", "before": str(related), "after": None},
        _base(stored, customer_id, kind),
        effect,
        apply,
        named=(customer_id, related),
    )
