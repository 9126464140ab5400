"""Reference data records (legal entities, payment terms, ...): validation of a create
request into a plain record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from custmaster.domain import fields as f
from custmaster.domain.context import ParseContext

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

#: kind -> the fields a create request may give besides code and name
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "legal_entities": frozenset({"country", "currency"}),
    "payment_terms": frozenset({"net_days"}),
    "payment_methods": frozenset(),
    "customer_groups": frozenset(),
    "tax_codes": frozenset(),
    "industries": frozenset(),
    "dimension_types": frozenset({"values"}),
    "account_tiers": frozenset(),
    "revenue_accounts": frozenset(),
}


def _code(value: Any, path: str, ctx: ParseContext) -> str | None:
    if value is None:
        ctx.errors.add(path, "required", "is required")
        return None
    if not isinstance(value, str) or not _CODE.match(value):
        ctx.errors.add(
            path,
            "invalid_code",
            "must be 1-64 letters, digits, '_', '.' or '-', starting alphanumeric",
        )
        return None
    return value


def _name(value: Any, path: str, ctx: ParseContext) -> str | None:
    if value is None:
        ctx.errors.add(path, "required", "is required")
        return None
    return f.text(value, path, ctx.errors, min_length=1, max_length=255)


def parse_reference(kind: str, data: Mapping[str, Any], ctx: ParseContext) -> dict[str, Any]:
    """A validated record of ``kind`` (see ``EXTRA_FIELDS``); problems go to ``ctx``."""
    ctx.check_keys(data, "", frozenset({"code", "name"}) | EXTRA_FIELDS[kind])
    record: dict[str, Any] = {
        "code": _code(data.get("code"), "code", ctx),
        "name": _name(data.get("name"), "name", ctx),
    }
    if kind == "legal_entities":
        for name in ("country", "currency"):
            if data.get(name) is None:
                ctx.errors.add(name, "required", "is required")
        record["country"] = f.country(data.get("country"), "country", ctx.errors)
        record["currency"] = f.currency(data.get("currency"), "currency", ctx.errors)
    elif kind == "payment_terms":
        if data.get("net_days") is None:
            ctx.errors.add("net_days", "required", "is required")
        net_days = f.integer(data.get("net_days"), "net_days", ctx.errors)
        if net_days is not None and net_days > 3650:
            ctx.errors.add("net_days", "out_of_range", "must be at most 3650 days")
        record["net_days"] = net_days
    elif kind == "dimension_types":
        record["values"] = _dimension_values(data.get("values"), ctx)
    return record


def _dimension_values(value: Any, ctx: ParseContext) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.errors.add("values", "type", "must be a list of {code, name}")
        return []
    values: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        path = f"values[{i}]"
        if not isinstance(item, dict):
            ctx.errors.add(path, "type", "must be an object with code and name")
            continue
        ctx.check_keys(item, path, frozenset({"code", "name"}))
        code = _code(item.get("code"), f"{path}.code", ctx)
        name = _name(item.get("name"), f"{path}.name", ctx)
        if code in seen:
            ctx.errors.add(f"{path}.code", "duplicate", f"'{code}' is listed twice")
        elif code is not None and name is not None:
            seen.add(code)
            values.append({"code": code, "name": name})
    return values


def parse_reference_update(kind: str, data: Mapping[str, Any], ctx: ParseContext) -> dict[str, Any]:
    """The fields a partial update changes (the code is the record's identity and stays).

    For dimension types, ``values`` adds values and renames existing ones; values not
    listed are kept (customers may use them).
    """
    ctx.check_keys(data, "", frozenset({"name"}) | EXTRA_FIELDS[kind], frozenset({"code"}))
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = _name(data["name"], "name", ctx)
    if kind == "legal_entities":
        for name, parse in (("country", f.country), ("currency", f.currency)):
            if name in data:
                if data[name] is None:
                    ctx.errors.add(name, "required", "cannot be cleared")
                changes[name] = parse(data[name], name, ctx.errors)
    elif kind == "payment_terms" and "net_days" in data:
        net_days = f.integer(data["net_days"], "net_days", ctx.errors)
        if net_days is None:
            ctx.errors.add("net_days", "required", "cannot be cleared")
        elif net_days > 3650:
            ctx.errors.add("net_days", "out_of_range", "must be at most 3650 days")
        changes["net_days"] = net_days
    elif kind == "dimension_types" and "values" in data:
        changes["values"] = _dimension_values(data["values"], ctx)
    return changes
