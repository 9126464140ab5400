"""Reference data of the integrated-customer-master kind beyond the core tables: name
affixes (salutations, titles, suffixes), sales organisations, and the payment schedules
(lines with percentage and due days, plus fixed payment days) of payment terms.

Create, read, list, update and delete; validated, audited and evented like customers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from custmaster.domain import fields as f
from custmaster.domain.errors import Conflict, ErrorCollector, NotFound
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import record
from custmaster.services.structure.ports import ScheduleLine

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
AFFIX_KINDS = ("salutation", "title", "suffix")
MAX_SCHEDULE_LINES = 12


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of keyed reference record: its event name and its field parser."""

    event_name: str
    label: str
    fields: frozenset[str]
    parse: Callable[[UnitOfWork, Mapping[str, Any], ErrorCollector], dict[str, Any]]


def _affix(uow: UnitOfWork, data: Mapping[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "kind" in data:
        if data["kind"] not in AFFIX_KINDS:
            errors.add("kind", "invalid_choice", f"one of {', '.join(AFFIX_KINDS)}")
        values["kind"] = data["kind"]
    return values


def _sales_org(uow: UnitOfWork, data: Mapping[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "legal_entity" in data:
        entity = data["legal_entity"]
        if entity is not None and uow.reference.get("legal_entities", str(entity)) is None:
            errors.add("legal_entity", "unknown_reference", f"no legal entity '{entity}' exists")
        values["legal_entity"] = entity
    if "currency" in data:
        values["currency"] = (
            None if data["currency"] is None else f.currency(data["currency"], "currency", errors)
        )
    return values


KINDS: dict[str, Kind] = {
    "name_affixes": Kind("name_affix", "name affix", frozenset({"kind"}), _affix),
    "sales_organisations": Kind(
        "sales_organisation",
        "sales organisation",
        frozenset({"legal_entity", "currency"}),
        _sales_org,
    ),
}
#: fields a create request must give besides code and name
_REQUIRED = {"name_affixes": ("kind",), "sales_organisations": ()}


def _parse(
    uow: UnitOfWork, kind: str, data: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    spec, errors = KINDS[kind], ErrorCollector()
    allowed = spec.fields | {"name"} | ({"code"} if creating else set())
    for key in data:
        if key not in allowed:
            errors.add(key, "unknown_field", "is not a field of this record")
    values: dict[str, Any] = {}
    if creating:
        code = data.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            errors.add("code", "invalid_code", "1-64 letters, digits, '_', '.', '-'")
        values["code"] = code
        for name in ("name", *_REQUIRED[kind]):
            if data.get(name) is None:
                errors.add(name, "required", "is required")
    elif "name" in data and data["name"] is None:
        errors.add("name", "required", "is required and cannot be cleared")
    if data.get("name") is not None:
        values["name"] = f.text(data["name"], "name", errors, min_length=1, max_length=255)
    values.update(spec.parse(uow, data, errors))
    errors.raise_if_any()
    return values


def _public(kind: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": stored["code"],
        "name": stored["name"],
        **{k: stored.get(k) for k in sorted(KINDS[kind].fields)},
        "created_at": stored["created_at"],
    }


def _load(uow: UnitOfWork, kind: str, code: str) -> dict[str, Any]:
    found = uow.structure.get_record(kind, code)
    if found is None:
        raise NotFound(f"no {KINDS[kind].label} '{code}'")
    return found


def create_record(
    uow: UnitOfWork, actor: Principal, kind: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        values = _parse(uow, kind, data, creating=True)
        if uow.structure.get_record(kind, values["code"]) is not None:
            raise Conflict(f"{KINDS[kind].label} '{values['code']}' exists already")
        stored = {**{k: None for k in KINDS[kind].fields}, **values, "created_at": utcnow()}
        uow.structure.add_record(kind, stored)
        after = _public(kind, stored)
        record(
            uow,
            actor,
            resource_type=KINDS[kind].event_name,
            resource_id=values["code"],
            operation="create",
            before=None,
            after=after,
        )
        return after


def update_record(
    uow: UnitOfWork, actor: Principal, kind: str, code: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        current = _load(uow, kind, code)
        values = _parse(uow, kind, data, creating=False)
        before, after = _public(kind, current), _public(kind, {**current, **values})
        if values:
            uow.structure.update_record(kind, code, values)
            record(
                uow,
                actor,
                resource_type=KINDS[kind].event_name,
                resource_id=code,
                operation="update",
                before=before,
                after=after,
            )
        return after


def delete_record(uow: UnitOfWork, actor: Principal, kind: str, code: str) -> None:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        current = _load(uow, kind, code)
        if uow.structure.record_in_use(kind, code):
            raise Conflict(f"{KINDS[kind].label} '{code}' is in use by customers")
        uow.structure.delete_record(kind, code)
        record(
            uow,
            actor,
            resource_type=KINDS[kind].event_name,
            resource_id=code,
            operation="delete",
            before=_public(kind, current),
            after=None,
        )


def get_record(uow: UnitOfWork, actor: Principal, kind: str, code: str) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return _public(kind, _load(uow, kind, code))


def list_records(
    uow: UnitOfWork, actor: Principal, kind: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return [_public(kind, r) for r in uow.structure.records(kind, after=after, limit=limit)]


# --- payment schedules -----------------------------------------------------------------


def parse_schedule(
    lines: Sequence[Mapping[str, Any]], days: Sequence[Any]
) -> tuple[list[ScheduleLine], list[int]]:
    """Lines: percentages above 0 that add up to 100, due days strictly increasing (0-3650),
    optional cash discount percent (0-100). Payment days: days of month 1-31, once each."""
    errors = ErrorCollector()
    parsed: list[ScheduleLine] = []
    if len(lines) > MAX_SCHEDULE_LINES:
        errors.add("lines", "too_many", f"at most {MAX_SCHEDULE_LINES} lines")
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        percentage = _percent(line.get("percentage"), f"{where}.percentage", errors, required=True)
        discount = _percent(line.get("discount_percent"), f"{where}.discount_percent", errors)
        due = line.get("due_days")
        if isinstance(due, bool) or not isinstance(due, int) or not 0 <= due <= 3650:
            errors.add(f"{where}.due_days", "out_of_range", "a whole number of days, 0-3650")
            continue
        if parsed and due <= parsed[-1].due_days:
            errors.add(f"{where}.due_days", "not_increasing", "must be after the previous line's")
        if percentage is not None:
            if percentage == 0:
                errors.add(f"{where}.percentage", "out_of_range", "must be above 0")
            parsed.append(ScheduleLine(percentage, due, discount))
    if parsed and not errors and sum(line.percentage for line in parsed) != Decimal(100):
        errors.add("lines", "percentages_not_100", "the lines' percentages must add up to 100")
    for i, day in enumerate(days):
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
            errors.add(f"payment_days[{i}]", "out_of_range", "a day of the month, 1-31")
        elif list(days).index(day) != i:
            errors.add(f"payment_days[{i}]", "duplicate", f"day {day} is listed twice")
    errors.raise_if_any()
    return parsed, sorted(int(d) for d in days)


def _percent(
    value: Any, path: str, errors: ErrorCollector, *, required: bool = False
) -> Decimal | None:
    if value is None:
        if required:
            errors.add(path, "required", "is required")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.add(path, "invalid_decimal", "must be a decimal number")
        return None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        errors.add(path, "out_of_range", "a percentage, 0-100")
        return None
    return number


def schedule_dict(code: str, lines: Sequence[ScheduleLine], days: Sequence[int]) -> dict[str, Any]:
    return {
        "payment_terms": code,
        "lines": [
            {
                "line_no": i + 1,
                "percentage": line.percentage,
                "due_days": line.due_days,
                "discount_percent": line.discount_percent,
            }
            for i, line in enumerate(lines)
        ],
        "payment_days": list(days),
    }


def _require_terms(uow: UnitOfWork, code: str) -> None:
    if uow.reference.get("payment_terms", code) is None:
        raise NotFound(f"no payment terms '{code}'")


def get_schedule(uow: UnitOfWork, actor: Principal, code: str) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        _require_terms(uow, code)
        return schedule_dict(code, *uow.structure.schedule(code))


def put_schedule(
    uow: UnitOfWork,
    actor: Principal,
    code: str,
    lines: Sequence[Mapping[str, Any]],
    days: Sequence[Any],
) -> dict[str, Any]:
    """Replace the schedule of payment terms ``code`` (empty lists clear it)."""
    require(actor, Permission.REFERENCE_MANAGE)
    parsed, payment_days = parse_schedule(lines, days)
    with uow:
        _require_terms(uow, code)
        before = schedule_dict(code, *uow.structure.schedule(code))
        uow.structure.replace_schedule(code, parsed, payment_days)
        after = schedule_dict(code, parsed, payment_days)
        record(
            uow,
            actor,
            resource_type="payment_schedule",
            resource_id=code,
            operation="replace",
            before=before,
            after=after,
        )
        return after
