"""Parsers of the customer's child records (addresses, contacts, pricing tiers, tax
profiles, dimensions) from request dicts, and the generic add/update/delete action list."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import UUID

from custmaster.domain import fields as f
from custmaster.domain.context import ParseContext, RefKind, dimension_ref
from custmaster.domain.model import Address, AddressType, Contact, PricingTier, TaxProfile

ADDRESS_FIELDS = frozenset(
    {"type", "lines", "city", "region", "postal_code", "country", "is_primary"}
)
CONTACT_FIELDS = frozenset(
    {"first_name", "last_name", "job_title", "role", "email", "phone", "is_primary", "sellable"}
)
TIER_FIELDS = frozenset(
    {
        "item",
        "unit_price",
        "currency",
        "min_quantity",
        "max_quantity",
        "effective_from",
        "effective_to",
    }
)
TAX_PROFILE_FIELDS = frozenset({"tax_code", "certificate_number", "effective_from", "effective_to"})
CHILD_READ_ONLY = frozenset({"id"})


class HasId(Protocol):
    id: UUID


T = TypeVar("T", bound=HasId)
#: parse(data, path, ctx, existing_id) -> record or None when invalid
ChildParser = Callable[[Mapping[str, Any], str, ParseContext, UUID | None], T | None]


def _required(data: Mapping[str, Any], name: str, path: str, ctx: ParseContext) -> bool:
    if data.get(name) is None:
        ctx.errors.add(f"{path}.{name}", "required", "is required")
        return False
    return True


def parse_address(
    data: Mapping[str, Any], path: str, ctx: ParseContext, existing_id: UUID | None = None
) -> Address | None:
    ctx.check_keys(data, path, ADDRESS_FIELDS, CHILD_READ_ONLY)
    errors_before = len(ctx.errors.errors)
    _required(data, "type", path, ctx)
    _required(data, "country", path, ctx)
    address_type = f.choice(data.get("type"), f"{path}.type", ctx.errors, AddressType)
    lines = _lines(data.get("lines"), f"{path}.lines", ctx)
    country = f.country(data.get("country"), f"{path}.country", ctx.errors)
    region = f.region(data.get("region"), f"{path}.region", ctx.errors, country_code=country)
    city = f.text(data.get("city"), f"{path}.city", ctx.errors, max_length=128)
    postal_code = f.text(data.get("postal_code"), f"{path}.postal_code", ctx.errors, max_length=20)
    is_primary = f.boolean(data.get("is_primary"), f"{path}.is_primary", ctx.errors)
    if len(ctx.errors.errors) > errors_before or address_type is None:
        return None
    return Address(
        id=existing_id or ctx.new_id(),
        type=address_type,
        lines=lines,
        city=city,
        region=region,
        postal_code=postal_code,
        country=country,
        is_primary=bool(is_primary),
    )


def _lines(value: Any, path: str, ctx: ParseContext) -> list[str]:
    if value is None:
        ctx.errors.add(path, "required", "needs at least one street line")
        return []
    if not isinstance(value, list) or not value:
        ctx.errors.add(path, "type", "must be a list of one to four street lines")
        return []
    if len(value) > 4:
        ctx.errors.add(path, "too_long", "has at most four street lines")
        return []
    lines = [f.text(line, f"{path}[{i}]", ctx.errors) for i, line in enumerate(value)]
    clean = [line for line in lines if line]
    if not clean:
        ctx.errors.add(path, "required", "needs at least one non-empty street line")
    return clean


def parse_contact(
    data: Mapping[str, Any],
    path: str,
    ctx: ParseContext,
    existing_id: UUID | None = None,
    *,
    region: str | None = None,
) -> Contact | None:
    ctx.check_keys(data, path, CONTACT_FIELDS, CHILD_READ_ONLY)
    errors_before = len(ctx.errors.errors)
    e = ctx.errors
    contact = Contact(
        id=existing_id or ctx.new_id(),
        first_name=f.text(data.get("first_name"), f"{path}.first_name", e, max_length=128),
        last_name=f.text(data.get("last_name"), f"{path}.last_name", e, max_length=128),
        job_title=f.text(data.get("job_title"), f"{path}.job_title", e, max_length=128),
        role=f.text(data.get("role"), f"{path}.role", e, max_length=64),
        email=f.email(data.get("email"), f"{path}.email", e),
        phone=f.phone(data.get("phone"), f"{path}.phone", e, region=region, warnings=ctx.warnings),
        is_primary=bool(f.boolean(data.get("is_primary"), f"{path}.is_primary", e)),
        sellable=bool(f.boolean(data.get("sellable"), f"{path}.sellable", e)),
    )
    if len(e.errors) > errors_before:
        return None
    if contact.last_name is None and contact.email is None:
        e.add(path, "required", "a contact needs at least a last name or an email")
        return None
    return contact


def parse_pricing_tier(
    data: Mapping[str, Any], path: str, ctx: ParseContext, existing_id: UUID | None = None
) -> PricingTier | None:
    ctx.check_keys(data, path, TIER_FIELDS, CHILD_READ_ONLY)
    errors_before = len(ctx.errors.errors)
    e = ctx.errors
    for name in ("item", "unit_price", "currency"):
        _required(data, name, path, ctx)
    item = f.text(data.get("item"), f"{path}.item", e, max_length=64)
    unit_price = f.decimal(data.get("unit_price"), f"{path}.unit_price", e)
    currency = f.currency(data.get("currency"), f"{path}.currency", e)
    min_q = f.integer(data.get("min_quantity", 1), f"{path}.min_quantity", e)
    max_q = f.integer(data.get("max_quantity"), f"{path}.max_quantity", e)
    start = f.iso_date(data.get("effective_from"), f"{path}.effective_from", e)
    end = f.iso_date(data.get("effective_to"), f"{path}.effective_to", e)
    if min_q is not None and max_q is not None and min_q > max_q:
        e.add(f"{path}.max_quantity", "range", "must not be below min_quantity")
    _check_period(start, end, path, ctx)
    if len(e.errors) > errors_before or item is None or unit_price is None or currency is None:
        return None
    return PricingTier(
        id=existing_id or ctx.new_id(),
        item=item,
        unit_price=unit_price,
        currency=currency,
        min_quantity=min_q if min_q is not None else 1,
        max_quantity=max_q,
        effective_from=start,
        effective_to=end,
    )


def parse_tax_profile(
    data: Mapping[str, Any], path: str, ctx: ParseContext, existing_id: UUID | None = None
) -> TaxProfile | None:
    ctx.check_keys(data, path, TAX_PROFILE_FIELDS, CHILD_READ_ONLY)
    errors_before = len(ctx.errors.errors)
    e = ctx.errors
    _required(data, "tax_code", path, ctx)
    tax_code = ctx.ref(
        RefKind.TAX_CODE, f.code(data.get("tax_code"), f"{path}.tax_code", e), f"{path}.tax_code"
    )
    certificate = f.text(
        data.get("certificate_number"), f"{path}.certificate_number", e, max_length=64
    )
    start = f.iso_date(data.get("effective_from"), f"{path}.effective_from", e)
    end = f.iso_date(data.get("effective_to"), f"{path}.effective_to", e)
    _check_period(start, end, path, ctx)
    if len(e.errors) > errors_before or tax_code is None:
        return None
    return TaxProfile(
        id=existing_id or ctx.new_id(),
        tax_code=tax_code,
        certificate_number=certificate,
        effective_from=start,
        effective_to=end,
    )


def _check_period(start: date | None, end: date | None, path: str, ctx: ParseContext) -> None:
    if start is not None and end is not None and start > end:
        ctx.errors.add(f"{path}.effective_to", "range", "must not be before effective_from")


def parse_dimensions(value: Any, path: str, ctx: ParseContext) -> dict[str, str]:
    """``{"department": "SALES"}``: each type and value must exist as reference data."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.errors.add(path, "type", "must be an object of dimension type -> value code")
        return {}
    result: dict[str, str] = {}
    for dim_type, dim_value in value.items():
        where = f"{path}.{dim_type}"
        code = f.code(dim_value, where, ctx.errors)
        if code is None:
            if dim_value is None:
                ctx.errors.add(where, "required", "needs a value code")
            continue
        ctx.ref(RefKind.DIMENSION_VALUE, dimension_ref(str(dim_type), code), where)
        result[str(dim_type)] = code
    return result


def raw_fields(record: Any) -> dict[str, Any]:
    """A record's fields as request-like values, for merging a partial update onto it."""
    values = {k: v for k, v in dataclasses.asdict(record).items() if k != "id"}
    for key, value in values.items():
        if isinstance(value, Decimal):
            values[key] = str(value)
    return values


def apply_actions(
    items: list[T],
    actions: Any,
    path: str,
    ctx: ParseContext,
    parse: Callable[[Mapping[str, Any], str, ParseContext, UUID | None], T | None],
) -> list[T]:
    """Apply ``[{"action": "add"|"update"|"delete", "id": ..., ...}]`` to ``items``.

    ``update`` changes only the fields it gives (null clears an optional field).
    """
    if not isinstance(actions, list):
        ctx.errors.add(path, "type", "must be a list of add/update/delete actions")
        return items
    result = list(items)
    for i, action in enumerate(actions):
        where = f"{path}[{i}]"
        if not isinstance(action, dict):
            ctx.errors.add(where, "type", "must be an object with an action")
            continue
        kind = action.get("action")
        body = {k: v for k, v in action.items() if k not in ("action", "id")}
        if kind == "add":
            if "id" in action:
                ctx.errors.add(f"{where}.id", "read_only", "is set by the server on add")
                continue
            added = parse(body, where, ctx, None)
            if added is not None:
                result.append(added)
            continue
        if kind not in ("update", "delete"):
            ctx.errors.add(f"{where}.action", "invalid_choice", "must be add, update or delete")
            continue
        position = _find(result, action.get("id"))
        if position is None:
            ctx.errors.add(f"{where}.id", "not_found", f"no record with id '{action.get('id')}'")
            continue
        if kind == "delete":
            if body:
                ctx.errors.add(where, "unknown_field", "a delete action takes only an id")
                continue
            del result[position]
            continue
        existing = result[position]
        updated = parse({**raw_fields(existing), **body}, where, ctx, existing.id)
        if updated is not None:
            result[position] = updated
    return result


def _find(items: list[T], raw_id: Any) -> int | None:
    try:
        wanted = UUID(str(raw_id))
    except ValueError:
        return None
    for position, item in enumerate(items):
        if item.id == wanted:
            return position
    return None
