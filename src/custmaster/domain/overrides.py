"""Per-legal-entity overrides: parsing from a create request and from patch actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custmaster.domain import fields as f
from custmaster.domain.children import parse_address, parse_dimensions
from custmaster.domain.context import ParseContext, RefKind
from custmaster.domain.model import Address, EntityOverride

OVERRIDE_FIELDS = frozenset(
    {
        "credit_limit",
        "payment_terms",
        "payment_method",
        "currency",
        "tax_code",
        "revenue_account",
        "customer_group",
        "dimensions",
        "addresses",
    }
)
_REFERENCE_FIELDS: dict[str, RefKind] = {
    "payment_terms": RefKind.PAYMENT_TERMS,
    "payment_method": RefKind.PAYMENT_METHOD,
    "tax_code": RefKind.TAX_CODE,
    "customer_group": RefKind.CUSTOMER_GROUP,
    "revenue_account": RefKind.REVENUE_ACCOUNT,
}


def parse_override_field(name: str, value: Any, path: str, ctx: ParseContext) -> Any:
    """Parse one overridable scalar field (credit limit, codes, currency, account)."""
    if name == "credit_limit":
        return f.decimal(value, path, ctx.errors)
    if name == "currency":
        return f.currency(value, path, ctx.errors)
    return ctx.ref(_REFERENCE_FIELDS[name], f.code(value, path, ctx.errors), path)


def _override_addresses(value: Any, path: str, ctx: ParseContext) -> list[Address]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.errors.add(path, "type", "must be a list of addresses")
        return []
    parsed = [
        parse_address(item, f"{path}[{i}]", ctx) if isinstance(item, dict) else None
        for i, item in enumerate(value)
    ]
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            ctx.errors.add(f"{path}[{i}]", "type", "must be an address object")
    return [address for address in parsed if address is not None]


def parse_override(
    entity: str, data: Any, path: str, ctx: ParseContext, base: EntityOverride | None = None
) -> EntityOverride | None:
    """An override from ``data``; with ``base``, a partial update of that override."""
    if not isinstance(data, dict):
        ctx.errors.add(path, "type", "must be an object of overridden fields")
        return None
    ctx.check_keys(data, path, OVERRIDE_FIELDS)
    override = EntityOverride(entity=entity) if base is None else _copy(base)
    for name, value in data.items():
        if name not in OVERRIDE_FIELDS:
            continue
        where = f"{path}.{name}"
        if name == "dimensions":
            if base is None:
                override.dimensions = parse_dimensions(value, where, ctx)
            else:
                override.dimensions = _merge_dimensions(override.dimensions, value, where, ctx)
        elif name == "addresses":
            override.addresses = _override_addresses(value, where, ctx)
        else:
            setattr(override, name, parse_override_field(name, value, where, ctx))
    return override


def _merge_dimensions(
    current: dict[str, str], value: Any, path: str, ctx: ParseContext
) -> dict[str, str]:
    """``{"department": "SERVICE", "location": null}``: set one, remove the other."""
    if not isinstance(value, dict):
        ctx.errors.add(path, "type", "must be an object of dimension type -> value code or null")
        return current
    merged = dict(current)
    present = {k: v for k, v in value.items() if v is not None}
    merged.update(parse_dimensions(present, path, ctx))
    for dim_type, dim_value in value.items():
        if dim_value is None:
            merged.pop(str(dim_type), None)
    return merged


def _copy(base: EntityOverride) -> EntityOverride:
    return EntityOverride(
        entity=base.entity,
        credit_limit=base.credit_limit,
        payment_terms=base.payment_terms,
        payment_method=base.payment_method,
        currency=base.currency,
        tax_code=base.tax_code,
        revenue_account=base.revenue_account,
        customer_group=base.customer_group,
        dimensions=dict(base.dimensions),
        addresses=list(base.addresses),
    )


def parse_overrides(value: Any, path: str, ctx: ParseContext) -> dict[str, EntityOverride]:
    """Create form: ``{"DE01": {"credit_limit": "80000", ...}, ...}``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.errors.add(path, "type", "must be an object of legal entity code -> overrides")
        return {}
    result: dict[str, EntityOverride] = {}
    for entity, data in value.items():
        where = f"{path}.{entity}"
        ctx.ref(RefKind.LEGAL_ENTITY, str(entity), where)
        if data == {}:
            ctx.errors.add(where, "empty_override", "an override must override at least one field")
            continue
        override = parse_override(str(entity), data, where, ctx)
        if override is not None:
            result[str(entity)] = override
    return result


def apply_override_actions(
    current: Mapping[str, EntityOverride], actions: Any, path: str, ctx: ParseContext
) -> dict[str, EntityOverride]:
    """Patch form: ``[{"action": "add"|"update"|"delete", "entity": "DE01", ...}]``."""
    result = dict(current)
    if not isinstance(actions, list):
        ctx.errors.add(path, "type", "must be a list of add/update/delete actions")
        return result
    for i, action in enumerate(actions):
        where = f"{path}[{i}]"
        if not isinstance(action, dict):
            ctx.errors.add(where, "type", "must be an object with an action")
            continue
        kind, entity = action.get("action"), action.get("entity")
        body = {k: v for k, v in action.items() if k not in ("action", "entity")}
        if not isinstance(entity, str) or not entity:
            ctx.errors.add(f"{where}.entity", "required", "names the legal entity")
            continue
        if kind == "add":
            if entity in result:
                ctx.errors.add(
                    f"{where}.entity", "already_exists", f"{entity} is overridden already"
                )
                continue
            ctx.ref(RefKind.LEGAL_ENTITY, entity, f"{where}.entity")
            if not body:
                ctx.errors.add(
                    where, "empty_override", "an override must override at least one field"
                )
                continue
            added = parse_override(entity, body, where, ctx)
            if added is not None:
                result[entity] = added
        elif kind in ("update", "delete"):
            if entity not in result:
                ctx.errors.add(f"{where}.entity", "not_found", f"{entity} has no override")
                continue
            if kind == "delete":
                if body:
                    ctx.errors.add(where, "unknown_field", "a delete action takes only an entity")
                    continue
                del result[entity]
                continue
            updated = parse_override(entity, body, where, ctx, base=result[entity])
            if updated is not None:
                if updated.is_empty():
                    del result[entity]
                else:
                    result[entity] = updated
        else:
            ctx.errors.add(f"{where}.action", "invalid_choice", "must be add, update or delete")
    return result
