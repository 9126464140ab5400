"""Reference data use cases: create, read, list; audited and evented like customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custmaster.domain.context import ParseContext
from custmaster.domain.errors import Conflict, NotFound
from custmaster.domain.events import reference_event
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.reference import parse_reference, parse_reference_update
from custmaster.domain.snapshot import diff, jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow

#: kind -> the singular name used in events (custmaster.<name>.created)
EVENT_NAMES = {
    "legal_entities": "legal_entity",
    "payment_terms": "payment_terms",
    "payment_methods": "payment_method",
    "customer_groups": "customer_group",
    "tax_codes": "tax_code",
    "industries": "industry",
    "dimension_types": "dimension_type",
    "account_tiers": "account_tier",
    "revenue_accounts": "revenue_account",
}


#: the kinds as the API and the CLI name them
KIND_BY_PATH = {kind.replace("_", "-"): kind for kind in EVENT_NAMES}


def create_reference(
    uow: UnitOfWork, actor: Principal, kind: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        ctx = ParseContext()
        record = parse_reference(kind, data, ctx)
        ctx.errors.raise_if_any()
        if uow.reference.get(kind, record["code"]) is not None:
            raise Conflict(f"{EVENT_NAMES[kind]} '{record['code']}' exists already")
        now = utcnow()
        record["created_at"] = now
        uow.reference.add(kind, record)
        after = jsonable(record)
        record_change(
            uow,
            actor,
            operation="create",
            resource_type=EVENT_NAMES[kind],
            resource_id=record["code"],
            changes=diff(None, after),
            event=reference_event(EVENT_NAMES[kind], "created", record["code"], now, after),
        )
        return record


def get_reference(uow: UnitOfWork, actor: Principal, kind: str, code: str) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        record = uow.reference.get(kind, code)
        if record is None:
            raise NotFound(f"no {EVENT_NAMES[kind]} '{code}'")
        return record


def list_reference(
    uow: UnitOfWork, actor: Principal, kind: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return uow.reference.list(kind, after=after, limit=limit)


def update_reference(
    uow: UnitOfWork, actor: Principal, kind: str, code: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        before = uow.reference.get(kind, code)
        if before is None:
            raise NotFound(f"no {EVENT_NAMES[kind]} '{code}'")
        ctx = ParseContext()
        changes = parse_reference_update(kind, data, ctx)
        ctx.errors.raise_if_any()
        uow.reference.update(kind, code, changes)
        after = uow.reference.get(kind, code)
        assert after is not None
        old, new = jsonable(before), jsonable(after)
        record_change(
            uow,
            actor,
            operation="update",
            resource_type=EVENT_NAMES[kind],
            resource_id=code,
            changes=diff(old, new),
            event=reference_event(EVENT_NAMES[kind], "updated", code, utcnow(), new),
        )
        return after


def delete_reference(uow: UnitOfWork, actor: Principal, kind: str, code: str) -> None:
    """Delete a record no customer uses (409 otherwise)."""
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        before = uow.reference.get(kind, code)
        if before is None:
            raise NotFound(f"no {EVENT_NAMES[kind]} '{code}'")
        uow.reference.delete(kind, code)
        old = jsonable(before)
        record_change(
            uow,
            actor,
            operation="delete",
            resource_type=EVENT_NAMES[kind],
            resource_id=code,
            changes=[{"field": EVENT_NAMES[kind], "before": old, "after": None}],
            event=reference_event(EVENT_NAMES[kind], "deleted", code, utcnow(), {"code": code}),
        )
