"""Segment queries and saved segments.

``query_customers`` type-checks an expression over master fields, profile features and
scores (``domain/profile_schema.QUERY_SCHEMA``) and runs its SQL translation (one
statement for the page, one for the total; never an evaluation row by row), with keyset
pages ordered by customer number.

Scope (``services/governance/access.py``): the expression is evaluated on the profile
row over every entity (``*``) for an unscoped user, and on the rows of the user's
entities for a scoped one (a customer matches when it holds on one of them); asking for
an entity explicitly (``entity``) needs that entity in scope (403 otherwise, like an
export's ``?entity=``), and ``*`` is in no scoped user's scope.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custmaster.domain.expressions import Node, Type, check
from custmaster.domain.permissions import Permission, PermissionDenied, Principal, Role, require
from custmaster.domain.profile import ALL_ENTITIES
from custmaster.domain.profile_schema import QUERY_SCHEMA
from custmaster.services.governance.access import may_see_entity, require_entity
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.rule_ports import QueryScope, SavedSegment
from custmaster.services.recording import utcnow

MAX_LIMIT = 500
#: totals are counted exactly up to this many customers (up to a tenth of it when the
#: database expects more); beyond, its estimate is given with ``total_exact: false``
#: (counting 34,000 matches of 1,000,000 customers cost a second; the estimate a
#: millisecond)
EXACT_TOTAL_UP_TO = 10_000


def compile_query(expression: str) -> Node:
    """The typed tree of a segment expression (a bool), or a 422 with its position."""
    return check(expression, QUERY_SCHEMA, Type.BOOL)


def scope_of(actor: Principal, entity: str | None) -> QueryScope:
    if entity is not None:
        require_entity(actor, entity)
        return QueryScope(frozenset({entity}))
    if actor.entities is None:
        return QueryScope(frozenset({ALL_ENTITIES}))
    return QueryScope(actor.entities)


def _cursor(number: str) -> str:
    return base64.urlsafe_b64encode(number.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            [FieldError("cursor", "invalid", "not a cursor of this query")]
        ) from None


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": str(row["id"])}


def query_customers(
    uow: UnitOfWork,
    actor: Principal,
    expression: str,
    *,
    entity: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A page of the customers matching ``expression``, the total and the next cursor."""
    require(actor, Permission.CUSTOMER_READ)
    scope = scope_of(actor, entity)
    tree = compile_query(expression)
    after = _after(cursor)
    size = max(1, min(limit, MAX_LIMIT))
    day = today or utcnow().date()
    with uow.read_only(autocommit=True):
        rows, total = uow.segments.page(tree, scope, day, after, size + 1, EXACT_TOTAL_UP_TO)
    more = len(rows) > size
    page = rows[:size]
    return {
        "items": [_item(r) for r in page],
        "total": total.value,
        "total_exact": total.exact,
        "next_cursor": _cursor(page[-1]["number"]) if more else None,
    }


# saved segments ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentInput:
    name: str
    expression: str
    description: str | None = None
    entity: str | None = None


def _visible(actor: Principal, segment: SavedSegment) -> bool:
    return segment.entity is None or may_see_entity(actor, segment.entity)


def _render(uow: UnitOfWork, actor: Principal, segment: SavedSegment, day: date) -> dict[str, Any]:
    count = uow.segments.total(
        compile_query(segment.expression), scope_of(actor, segment.entity), day, EXACT_TOTAL_UP_TO
    )
    return {
        "id": str(segment.id),
        "name": segment.name,
        "expression": segment.expression,
        "description": segment.description,
        "entity": segment.entity,
        "count": count.value,
        "count_exact": count.exact,
        "created_by": segment.created_by,
        "created_at": segment.created_at.isoformat(),
        "updated_at": segment.updated_at.isoformat(),
    }


def _load(uow: UnitOfWork, actor: Principal, segment_id: UUID) -> SavedSegment:
    found = uow.segments.get(segment_id)
    if found is None or not _visible(actor, found):
        raise NotFound(f"no segment {segment_id}")
    return found


def _may_change(actor: Principal, segment: SavedSegment) -> None:
    if segment.created_by != actor.user_id and Role.ADMIN not in actor.roles:
        raise PermissionDenied(f"only {segment.created_by} or an admin may change this segment")


def create_segment(uow: UnitOfWork, actor: Principal, data: SegmentInput) -> dict[str, Any]:
    require(actor, Permission.CUSTOMER_READ)
    scope_of(actor, data.entity)
    compile_query(data.expression)
    now = utcnow()
    segment = SavedSegment(
        uuid4(), data.name, data.expression, data.description, data.entity, actor.user_id, now, now
    )
    with uow:
        if uow.segments.by_name(data.name) is not None:
            raise Conflict(f"a segment named {data.name!r} exists")
        uow.segments.add(segment)
        return _render(uow, actor, segment, now.date())


def list_segments(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    require(actor, Permission.CUSTOMER_READ)
    day = utcnow().date()
    with uow.read_only():
        return [_render(uow, actor, s, day) for s in uow.segments.all() if _visible(actor, s)]


def get_segment(uow: UnitOfWork, actor: Principal, segment_id: UUID) -> dict[str, Any]:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return _render(uow, actor, _load(uow, actor, segment_id), utcnow().date())


def update_segment(
    uow: UnitOfWork, actor: Principal, segment_id: UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change a segment's name, expression, description or entity."""
    require(actor, Permission.CUSTOMER_READ)
    with uow:
        current = _load(uow, actor, segment_id)
        _may_change(actor, current)
        updated = replace(current, **changes, updated_at=utcnow())
        scope_of(actor, updated.entity)
        compile_query(updated.expression)
        other = uow.segments.by_name(updated.name)
        if other is not None and other.id != segment_id:
            raise Conflict(f"a segment named {updated.name!r} exists")
        uow.segments.save(updated)
        return _render(uow, actor, updated, utcnow().date())


def delete_segment(uow: UnitOfWork, actor: Principal, segment_id: UUID) -> None:
    require(actor, Permission.CUSTOMER_READ)
    with uow:
        _may_change(actor, _load(uow, actor, segment_id))
        uow.segments.delete(segment_id)


def segment_members(
    uow: UnitOfWork,
    actor: Principal,
    segment_id: UUID,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The customers of a saved segment (a page, as :func:`query_customers`)."""
    with uow.read_only():
        segment = _load(uow, actor, segment_id)
    return query_customers(
        uow, actor, segment.expression, entity=segment.entity, limit=limit, cursor=cursor
    )
