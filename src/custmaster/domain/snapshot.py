"""JSON-compatible snapshots of the aggregate and field-level diffs between two of them.

A snapshot is what the API renders, what events carry and what the audit compares:
decimals as strings, dates ISO 8601, ids as strings, child records with their ids.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from custmaster.domain.model import OVERRIDABLE_FIELDS, Customer, EntityOverride

CHILD_COLLECTIONS = ("addresses", "contacts", "pricing_tiers", "tax_profiles")


#: values ``jsonable`` returns as they are (checked by exact type first: the common case)
_PLAIN = frozenset({str, int, bool, float, type(None)})
#: values ``jsonable`` converts, by ``json_default`` (``datetime`` is a ``date``)
_CONVERTED = (Decimal, date, UUID, Enum)


def jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:  # exact containers next (what the checks below would come to)
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, _CONVERTED):
        return json_default(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """What ``jsonable`` makes of a value ``json.dumps`` cannot write itself (its
    ``default``): ``json.dumps(body, default=json_default)`` writes what
    ``json.dumps(jsonable(body))`` writes for a body whose keys are strings, without
    copying the containers first."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _record(record: Any) -> dict[str, Any]:
    """A child record (a flat dataclass) as ``jsonable(asdict(record))`` makes it, without
    asdict's deep copy (``jsonable`` copies the containers it converts)."""
    names = _FIELDS.get(type(record))
    if names is None:
        names = _FIELDS[type(record)] = tuple(f.name for f in fields(record))
    return {name: jsonable(getattr(record, name)) for name in names}


def override_snapshot(override: EntityOverride) -> dict[str, Any]:
    data: dict[str, Any] = {name: jsonable(getattr(override, name)) for name in OVERRIDABLE_FIELDS}
    data["dimensions"] = dict(override.dimensions)
    data["addresses"] = [_record(a) for a in override.addresses]
    return data


#: the aggregate's own fields, in their order (its children, references and overrides
#: follow them)
_OWN_FIELDS = tuple(
    name
    for name in Customer.__dataclass_fields__
    if name not in ("overrides", "source_refs", *CHILD_COLLECTIONS)
)


def snapshot(customer: Customer) -> dict[str, Any]:
    """The whole aggregate as JSON-compatible data."""
    data: dict[str, Any] = {}
    for name in _OWN_FIELDS:
        value = getattr(customer, name)
        data[name] = value if type(value) in _PLAIN else jsonable(value)
    for name in CHILD_COLLECTIONS:
        data[name] = [_record(child) for child in getattr(customer, name)]
    data["source_refs"] = [
        {"source_system": r.source_system, "source_id": r.source_id} for r in customer.source_refs
    ]
    data["overrides"] = {
        entity: override_snapshot(o) for entity, o in sorted(customer.overrides.items())
    }
    return data


_NOT_AUDITED = frozenset({"version", "updated_at", "created_at"})


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Field-level changes ``[{"field", "before", "after"}]`` between two snapshots.

    Child records are identified by id (``addresses[<id>].city``); a record added or
    removed appears whole. Overrides appear per entity and field
    (``overrides.DE01.credit_limit``), dimensions per type (``dimensions.department``).
    """
    old, new = before or {}, after or {}
    if not old:
        return _created(new)
    changes: list[dict[str, Any]] = []
    for name in sorted(set(old) | set(new)):
        if name in _NOT_AUDITED:
            continue
        a, b = old.get(name), new.get(name)
        if name in CHILD_COLLECTIONS:
            changes.extend(_diff_records(name, a or [], b or []))
        elif name in ("dimensions", "overrides"):
            changes.extend(_diff_mapping(name, a or {}, b or {}))
        elif not same(a, b):
            changes.append({"field": name, "before": a, "after": b})
    return changes


def _created(new: dict[str, Any]) -> list[dict[str, Any]]:
    """``diff`` from nothing (a created record): every value ``new`` holds, listed as the
    general case lists it (a value against ``None`` is a change unless it is ``None``;
    each child record whole, by id), without comparing each against an absent one."""
    changes: list[dict[str, Any]] = []
    for name in sorted(new):
        if name in _NOT_AUDITED:
            continue
        b = new[name]
        if name in CHILD_COLLECTIONS:
            by_id = {r["id"]: r for r in b or []}
            changes.extend(
                {"field": f"{name}[{record_id}]", "before": None, "after": by_id[record_id]}
                for record_id in sorted(by_id)
            )
        elif name in ("dimensions", "overrides"):
            changes.extend(_diff_mapping(name, {}, b or {}))
        elif b is not None:
            changes.append({"field": name, "before": None, "after": b})
    return changes


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values. Python's ``==`` says ``True == 1`` and ``1 == 1.0``; in a JSON
    document (metadata) those are different values, so a change between them is a change."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _diff_records(
    name: str, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    old_by_id = {r["id"]: r for r in old}
    new_by_id = {r["id"]: r for r in new}
    changes: list[dict[str, Any]] = []
    for record_id in sorted(set(old_by_id) | set(new_by_id)):
        a, b = old_by_id.get(record_id), new_by_id.get(record_id)
        path = f"{name}[{record_id}]"
        if a is None or b is None:
            changes.append({"field": path, "before": a, "after": b})
            continue
        for key in sorted(set(a) | set(b)):
            if not same(a.get(key), b.get(key)):
                changes.append(
                    {"field": f"{path}.{key}", "before": a.get(key), "after": b.get(key)}
                )
    return changes


def _diff_mapping(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if same(a, b):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(_diff_mapping(f"{name}.{key}", a, b))
        else:
            changes.append({"field": f"{name}.{key}", "before": a, "after": b})
    return changes


def value_at(data: dict[str, Any], path: str) -> Any:
    """The value a ``diff`` path names in a snapshot (``None`` where it does not exist):
    ``credit_limit``, ``dimensions.department``, ``overrides.DE01.credit_limit``,
    ``addresses[<id>]``, ``addresses[<id>].city``."""
    head, _, rest = path.partition(".")
    if "[" in head:
        name, _, record_id = head.partition("[")
        record_id = record_id.rstrip("]")
        record = next((r for r in data.get(name) or [] if r.get("id") == record_id), None)
        if record is None or not rest:
            return record
        return record.get(rest)
    value = data.get(head)
    for part in rest.split(".") if rest else []:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
