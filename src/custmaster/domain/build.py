"""Build a customer aggregate from a create request, and apply a partial update.

Both collect every problem before failing (``ValidationFailed`` with all field errors)
and return the reference-data codes still to be checked against the catalog.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain import fields as f
from custmaster.domain.children import (
    apply_actions,
    parse_address,
    parse_contact,
    parse_dimensions,
    parse_pricing_tier,
    parse_tax_profile,
)
from custmaster.domain.context import ParseContext, RefKind, dimension_ref
from custmaster.domain.model import (
    MASTER_FIELDS,
    REQUIRED_FIELDS,
    Address,
    AddressType,
    Customer,
    CustomerKind,
    CustomerType,
    RelationshipStatus,
    SourceRef,
)
from custmaster.domain.overrides import apply_override_actions, parse_overrides
from custmaster.domain.rules import check_aggregate

SERVER_OWNED = frozenset({"id", "number", "version", "status", "created_at", "updated_at"})
CHILD_FIELDS = frozenset({"addresses", "contacts", "pricing_tiers", "tax_profiles", "source_refs"})
REQUEST_FIELDS = frozenset(MASTER_FIELDS) | CHILD_FIELDS | {"dimensions", "overrides"}
_REFERENCES: dict[str, RefKind] = {
    "industry": RefKind.INDUSTRY,
    "customer_group": RefKind.CUSTOMER_GROUP,
    "owning_entity": RefKind.LEGAL_ENTITY,
    "payment_terms": RefKind.PAYMENT_TERMS,
    "payment_method": RefKind.PAYMENT_METHOD,
    "tax_code": RefKind.TAX_CODE,
    "account_tier": RefKind.ACCOUNT_TIER,
    "revenue_account": RefKind.REVENUE_ACCOUNT,
    "name_affix": RefKind.NAME_AFFIX,
}
_NAME_FIELDS = {"legal_name": 255, "first_name": 128, "last_name": 128}


def parse_master_field(name: str, value: Any, ctx: ParseContext, country: str | None) -> Any:
    """Parse one master field; ``country`` reads national phone numbers and tax ids."""
    parser = _MASTER_PARSERS.get(name)
    if parser is None:  # pragma: no cover - MASTER_FIELDS and the table agree
        raise KeyError(name)
    return parser(value, name, ctx, country)


_Parser = Callable[[Any, str, ParseContext, "str | None"], Any]


def _name_field(max_length: int) -> _Parser:
    return lambda value, name, ctx, country: f.text(value, name, ctx.errors, max_length=max_length)


def _reference(kind: RefKind) -> _Parser:
    return lambda value, name, ctx, country: ctx.ref(kind, f.code(value, name, ctx.errors), name)


#: each master field's parser (looked up by name: a field is parsed by one table entry)
_MASTER_PARSERS: dict[str, _Parser] = {
    "kind": lambda value, name, ctx, country: f.choice(value, name, ctx.errors, CustomerKind),
    "name": lambda value, name, ctx, country: f.text(
        value, name, ctx.errors, min_length=1, max_length=255
    ),
    **{field: _name_field(length) for field, length in _NAME_FIELDS.items()},
    "email": lambda value, name, ctx, country: f.email(value, name, ctx.errors),
    "billing_email": lambda value, name, ctx, country: f.email(value, name, ctx.errors),
    "phone": lambda value, name, ctx, country: f.phone(
        value, name, ctx.errors, region=country, warnings=ctx.warnings
    ),
    "website": lambda value, name, ctx, country: _website(value, ctx),
    "tax_id": lambda value, name, ctx, country: f.tax_id(
        value, name, ctx.errors, country=country, warnings=ctx.warnings
    ),
    "customer_type": lambda value, name, ctx, country: f.choice(
        value, name, ctx.errors, CustomerType
    ),
    "relationship_status": lambda value, name, ctx, country: f.choice(
        value, name, ctx.errors, RelationshipStatus
    ),
    **{field: _reference(kind) for field, kind in _REFERENCES.items()},
    "credit_limit": lambda value, name, ctx, country: f.decimal(value, name, ctx.errors),
    "currency": lambda value, name, ctx, country: f.currency(value, name, ctx.errors),
    "notes": lambda value, name, ctx, country: f.text(value, name, ctx.errors, max_length=10_000),
    "metadata": lambda value, name, ctx, country: f.json_object(value, name, ctx.errors) or {},
}


def _website(value: Any, ctx: ParseContext) -> str | None:
    raw = f.text(value, "website", ctx.errors, max_length=2048)
    if raw is None:
        return None
    host = raw.split("://", 1)[-1].split("/", 1)[0]
    if "." not in host or " " in raw:
        ctx.errors.add("website", "invalid_url", f"'{raw}' is not a web address")
        return None
    return raw


def _country_of(addresses: list[Address]) -> str | None:
    ranked = sorted(addresses, key=lambda a: (a.type is not AddressType.BILLING, not a.is_primary))
    return next((a.country for a in ranked if a.country), None)


def _source_refs(value: Any, path: str, ctx: ParseContext) -> list[SourceRef]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.errors.add(path, "type", "must be a list of {source_system, source_id}")
        return []
    refs: list[SourceRef] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            ctx.errors.add(where, "type", "must be an object")
            continue
        ctx.check_keys(item, where, frozenset({"source_system", "source_id"}))
        system = f.text(
            item.get("source_system"),
            f"{where}.source_system",
            ctx.errors,
            min_length=1,
            max_length=64,
        )
        source_id = f.text(
            item.get("source_id"), f"{where}.source_id", ctx.errors, min_length=1, max_length=255
        )
        if system and source_id:
            ref = SourceRef(system, source_id)
            if ref in refs:
                ctx.errors.add(where, "duplicate", "is listed twice")
            else:
                refs.append(ref)
        else:
            ctx.errors.add(where, "required", "needs source_system and source_id")
    return refs


def _check_request_shape(data: Mapping[str, Any], ctx: ParseContext) -> None:
    ctx.check_keys(data, "", REQUEST_FIELDS, SERVER_OWNED)


def new_customer(
    data: Mapping[str, Any], *, customer_id: UUID, number: str, now: datetime, ctx: ParseContext
) -> Customer | None:
    """Parse a create request. Returns ``None`` when ``ctx.errors`` holds problems."""
    _check_request_shape(data, ctx)
    for name in sorted(REQUIRED_FIELDS):
        if data.get(name) is None:
            ctx.errors.add(name, "required", "is required")
    addresses = _list_of(data.get("addresses"), "addresses", ctx, parse_address)
    country = _country_of(addresses)
    values = {
        name: parse_master_field(name, data[name], ctx, country)
        for name in MASTER_FIELDS
        if name in data
    }
    contact_parser = functools.partial(parse_contact, region=country)
    _required_parsed(data, values, ctx)
    customer_kwargs: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    customer_kwargs.setdefault("metadata", {})
    contacts = _list_of(data.get("contacts"), "contacts", ctx, contact_parser)
    tiers = _list_of(data.get("pricing_tiers"), "pricing_tiers", ctx, parse_pricing_tier)
    profiles = _list_of(data.get("tax_profiles"), "tax_profiles", ctx, parse_tax_profile)
    dimensions = parse_dimensions(data.get("dimensions"), "dimensions", ctx)
    overrides = parse_overrides(data.get("overrides"), "overrides", ctx)
    source_refs = _source_refs(data.get("source_refs"), "source_refs", ctx)
    if ctx.errors:
        return None
    customer = Customer(
        id=customer_id,
        number=number,
        **customer_kwargs,
        dimensions=dimensions,
        addresses=addresses,
        contacts=contacts,
        pricing_tiers=tiers,
        tax_profiles=profiles,
        source_refs=source_refs,
        overrides=overrides,
        version=1,
        created_at=now,
        updated_at=now,
    )
    check_aggregate(customer, ctx)
    return None if ctx.errors else customer


def _required_parsed(data: Mapping[str, Any], values: Mapping[str, Any], ctx: ParseContext) -> None:
    """A required field given as an empty string parses to None: that is missing too."""
    flagged = {e.field for e in ctx.errors.errors}
    for name in REQUIRED_FIELDS:
        if data.get(name) is not None and values.get(name) is None and name not in flagged:
            ctx.errors.add(name, "required", "is required")


def _list_of(value: Any, path: str, ctx: ParseContext, parse: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.errors.add(path, "type", "must be a list")
        return []
    parsed = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            ctx.errors.add(f"{path}[{i}]", "type", "must be an object")
            continue
        record = parse(item, f"{path}[{i}]", ctx, None)
        if record is not None:
            parsed.append(record)
    return parsed


def patched_customer(
    current: Customer, patch: Mapping[str, Any], *, now: datetime, ctx: ParseContext
) -> Customer | None:
    """Apply a partial update to a copy of ``current``.

    Fields present change; absent ones stay; ``null`` clears an optional field. Child
    records, dimensions and overrides change through action lists. Returns ``None`` when
    ``ctx.errors`` holds problems; ``current`` is never modified.

    The copy has lists and dicts of its own, but the child records and overrides it did
    not change are ``current``'s own objects: an action makes a new record and never
    changes one in place, and so must any later step.
    """
    _check_request_shape(patch, ctx)
    customer = copy.copy(current)
    customer.metadata = copy.deepcopy(current.metadata)
    customer.dimensions = dict(current.dimensions)
    customer.overrides = dict(current.overrides)
    for kind in CHILD_FIELDS:
        setattr(customer, kind, list(getattr(current, kind)))
    if "addresses" in patch:
        customer.addresses = apply_actions(
            customer.addresses, patch["addresses"], "addresses", ctx, parse_address
        )
    country = _country_of(customer.addresses)
    for name in MASTER_FIELDS:
        if name not in patch:
            continue
        if patch[name] is None:
            if name in REQUIRED_FIELDS:
                ctx.errors.add(name, "required", "is required and cannot be cleared")
                continue
            setattr(customer, name, {} if name == "metadata" else None)
            continue
        parsed = parse_master_field(name, patch[name], ctx, country)
        if parsed is None and name in REQUIRED_FIELDS:
            _required_parsed(patch, {name: None}, ctx)
            continue
        setattr(customer, name, parsed)
    if "contacts" in patch:
        contact_parser = functools.partial(parse_contact, region=country)
        customer.contacts = apply_actions(
            customer.contacts, patch["contacts"], "contacts", ctx, contact_parser
        )
        was_sellable = {c.id for c in current.contacts if c.sellable}
        for contact in customer.contacts:
            if contact.id in was_sellable and not contact.sellable:
                ctx.errors.add(
                    f"contacts[{contact.id}].sellable",
                    "sellable_is_permanent",
                    "a contact that took part in a quote or order stays sellable",
                )
    if "pricing_tiers" in patch:
        customer.pricing_tiers = apply_actions(
            customer.pricing_tiers,
            patch["pricing_tiers"],
            "pricing_tiers",
            ctx,
            parse_pricing_tier,
        )
    if "tax_profiles" in patch:
        customer.tax_profiles = apply_actions(
            customer.tax_profiles, patch["tax_profiles"], "tax_profiles", ctx, parse_tax_profile
        )
    if "dimensions" in patch:
        customer.dimensions = _dimension_actions(customer.dimensions, patch["dimensions"], ctx)
    if "overrides" in patch:
        customer.overrides = apply_override_actions(
            customer.overrides, patch["overrides"], "overrides", ctx
        )
    if "source_refs" in patch:
        customer.source_refs = _source_ref_actions(customer.source_refs, patch["source_refs"], ctx)
    if ctx.errors:
        return None
    check_aggregate(customer, ctx)
    if ctx.errors:
        return None
    customer.updated_at = now
    return customer


def _dimension_actions(current: dict[str, str], actions: Any, ctx: ParseContext) -> dict[str, str]:
    """``[{"action": "add"|"update", "type": "department", "value": "SALES"},
    {"action": "delete", "type": "location"}]``."""
    result = dict(current)
    if not isinstance(actions, list):
        ctx.errors.add("dimensions", "type", "must be a list of add/update/delete actions")
        return result
    for i, action in enumerate(actions):
        where = f"dimensions[{i}]"
        if not isinstance(action, dict):
            ctx.errors.add(where, "type", "must be an object with an action")
            continue
        kind, dim_type = action.get("action"), action.get("type")
        allowed = frozenset({"action", "type"} | ({"value"} if kind != "delete" else set()))
        ctx.check_keys(action, where, allowed)
        if not isinstance(dim_type, str) or not dim_type:
            ctx.errors.add(f"{where}.type", "required", "names the dimension type")
            continue
        if kind == "delete":
            if dim_type not in result:
                ctx.errors.add(f"{where}.type", "not_found", f"no {dim_type} dimension is set")
            result.pop(dim_type, None)
        elif kind in ("add", "update"):
            if kind == "add" and dim_type in result:
                ctx.errors.add(f"{where}.type", "already_exists", f"{dim_type} is set already")
                continue
            if kind == "update" and dim_type not in result:
                ctx.errors.add(f"{where}.type", "not_found", f"no {dim_type} dimension is set")
                continue
            value = f.code(action.get("value"), f"{where}.value", ctx.errors)
            if value is None:
                ctx.errors.add(f"{where}.value", "required", "needs a value code")
                continue
            ctx.ref(RefKind.DIMENSION_VALUE, dimension_ref(dim_type, value), f"{where}.value")
            result[dim_type] = value
        else:
            ctx.errors.add(f"{where}.action", "invalid_choice", "must be add, update or delete")
    return result


def _source_ref_actions(
    current: list[SourceRef], actions: Any, ctx: ParseContext
) -> list[SourceRef]:
    """``[{"action": "add"|"delete", "source_system": ..., "source_id": ...}]``."""
    result = list(current)
    if not isinstance(actions, list):
        ctx.errors.add("source_refs", "type", "must be a list of add/delete actions")
        return result
    for i, action in enumerate(actions):
        where = f"source_refs[{i}]"
        if not isinstance(action, dict) or action.get("action") not in ("add", "delete"):
            ctx.errors.add(where, "invalid_choice", "must be an add or delete action")
            continue
        body = {k: v for k, v in action.items() if k != "action"}
        parsed = _source_refs([body], where, ctx)
        if not parsed:
            continue
        ref = parsed[0]
        if action["action"] == "add":
            if ref in result:
                ctx.errors.add(where, "already_exists", "this source reference is listed already")
            else:
                result.append(ref)
        elif ref in result:
            result.remove(ref)
        else:
            ctx.errors.add(where, "not_found", "this source reference is not listed")
    return result
