"""Validation of an approval policy given as plain data (the parsed YAML file).

Every problem is collected with the path of the bad key (``operations.update.steps[1]``,
``rules[0].when.increase_above``) so an operator fixes the whole file in one go.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from custmaster.domain.approvals.errors import PolicyError
from custmaster.domain.approvals.fields import unknown_field_reason
from custmaster.domain.approvals.rules import (
    Combine,
    Condition,
    Lane,
    Operation,
    OperationPolicy,
    Rule,
    Threshold,
    as_decimal,
)
from custmaster.domain.errors import ErrorCollector
from custmaster.domain.permissions import PERMISSION_MATRIX, Permission, Role

#: Automated checks an operation may require before its human steps.
KNOWN_CHECKS = frozenset({"validation"})
SUPPORTED_VERSIONS = frozenset({1})

_TOP_KEYS = ("version", "operations", "proposals", "rules")
_OPERATION_KEYS = ("lane", "steps", "checks")
_RULE_KEYS = ("name", "operations", "when", "lane", "add_steps", "reason")
_WHEN_KEYS = (
    "only_fields",
    "any_field",
    "field",
    "increase_above",
    "increase_ratio_above",
    "value_above",
    "combine",
    "record",
    "types",
)
_NUMBER_KEYS = ("increase_above", "increase_ratio_above", "value_above")

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class PolicyParts:
    version: int
    operations: Mapping[Operation, OperationPolicy]
    proposal_steps: tuple[Role, ...]
    rules: tuple[Rule, ...]


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    def __init__(self, known_fields: Mapping[str, frozenset[str] | None]) -> None:
        self.errors = ErrorCollector()
        self.known_fields = known_fields

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.add(path, code, message)

    def mapping(self, value: Any, path: str, keys: Iterable[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, "type", f"must be a mapping, not {type(value).__name__}")
            return None
        allowed = list(keys)
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.add(where, "unknown_key", f"unknown key{_suggest(str(key), allowed)}")
        return value

    def str_list(self, value: Any, path: str) -> list[tuple[str, str]]:
        """(item path, item) pairs of a list of strings; reports non-lists and non-strings."""
        if not isinstance(value, list):
            self.add(path, "type", "must be a list")
            return []
        items: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item:
                items.append((f"{path}[{i}]", item))
            else:
                self.add(f"{path}[{i}]", "type", "must be a non-empty string")
        return items

    def enum(self, kind: type[E], value: Any, path: str, label: str) -> E | None:
        if value is None:
            self.add(path, "missing", f"missing {label}")
            return None
        if isinstance(value, str):
            try:
                return kind(value)
            except ValueError:
                pass
        choices = [m.value for m in kind]
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        self.add(path, f"unknown_{label}", f"unknown {label} {value!r}{hint}")
        return None

    def roles(self, value: Any, path: str) -> tuple[Role, ...]:
        roles: list[Role] = []
        for item_path, name in self.str_list(value, path):
            role = self.enum(Role, name, item_path, "role")
            if role is None:
                continue
            if Permission.CHANGEREQUEST_APPROVE not in PERMISSION_MATRIX[role]:
                self.add(item_path, "role_cannot_approve", f"role {name!r} cannot approve")
                continue
            roles.append(role)
        return tuple(roles)

    def fields(self, value: Any, path: str) -> tuple[str, ...]:
        items = self.str_list(value, path)
        if value == []:
            self.add(path, "empty", "must name at least one field")
        for item_path, name in items:
            self.field(name, item_path)
        return tuple(name for _, name in items)

    def field(self, name: str, path: str) -> None:
        reason = unknown_field_reason(name, self.known_fields)
        if reason:
            self.add(path, "unknown_field", reason + _suggest(name, self.known_fields))

    def number(self, value: Any, path: str) -> Decimal | None:
        number = None if isinstance(value, bool) else as_decimal(value)
        if number is None or number < 0:
            self.add(path, "bad_threshold", f"must be a non-negative number, not {value!r}")
            return None
        return number


def parse_policy(data: Any, known_fields: Mapping[str, frozenset[str] | None]) -> PolicyParts:
    """Validate ``data`` and build the parts of a policy; raise :class:`PolicyError`."""
    r = _Reader(known_fields)
    top = r.mapping(data, "", _TOP_KEYS) or {}
    version = top.get("version", 1)
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        r.add("version", "unsupported", f"unsupported policy version {version!r}")
    operations = _operations(r, top.get("operations"))
    proposal_steps: tuple[Role, ...] = ()
    if "proposals" in top:
        proposals = r.mapping(top["proposals"], "proposals", ("steps",)) or {}
        proposal_steps = r.roles(proposals.get("steps"), "proposals.steps")
        if proposals.get("steps") == []:
            r.add("proposals.steps", "empty_steps", "must name at least one role")
    else:
        r.add("proposals", "missing", "missing key (steps for proposals of green changes)")
    rules = _rules(r, top.get("rules", []), operations)
    if r.errors:
        raise PolicyError(r.errors.errors)
    return PolicyParts(int(version), operations, proposal_steps, rules)


#: operations a policy may leave out (added after operators wrote their policies): a new
#: profile rules version always needs a second person unless the policy says otherwise
DEFAULT_OPERATIONS: Mapping[Operation, OperationPolicy] = {
    Operation.PROFILE_RULES_CHANGE: OperationPolicy(Lane.YELLOW, (Role.DATA_STEWARD,)),
}


def _operations(r: _Reader, value: Any) -> dict[Operation, OperationPolicy]:
    result: dict[Operation, OperationPolicy] = {}
    if value is None:
        r.add("operations", "missing", "missing key")
        return result
    ops = r.mapping(value, "operations", [o.value for o in Operation])
    if ops is None:
        return result
    for op in Operation:
        path = f"operations.{op.value}"
        if op.value not in ops and op in DEFAULT_OPERATIONS:
            result[op] = DEFAULT_OPERATIONS[op]  # added after policies were written
            continue
        if op.value not in ops:
            r.add(path, "missing", "missing operation")
            continue
        entry = r.mapping(ops[op.value], path, _OPERATION_KEYS)
        if entry is None:
            continue
        lane = r.enum(Lane, entry.get("lane"), f"{path}.lane", "lane")
        raw_steps = entry.get("steps", [])
        steps = r.roles(raw_steps, f"{path}.steps")
        checks: list[str] = []
        for check_path, check in r.str_list(entry.get("checks", []), f"{path}.checks"):
            if check not in KNOWN_CHECKS:
                r.add(check_path, "unknown_check", f"unknown check {check!r}")
            checks.append(check)
        if lane is None:
            continue
        if lane is Lane.GREEN and steps:
            r.add(f"{path}.steps", "green_with_steps", "a green lane takes no steps")
        if lane is not Lane.GREEN and raw_steps in ([], None):
            r.add(f"{path}.steps", "empty_steps", f"a {lane.value} lane needs steps")
        result[op] = OperationPolicy(lane, steps, tuple(checks))
    return result


def _rules(
    r: _Reader, value: Any, operations: Mapping[Operation, OperationPolicy]
) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        r.add("rules", "type", "must be a list")
        return ()
    rules: list[Rule] = []
    names: set[str] = set()
    for i, item in enumerate(value):
        path = f"rules[{i}]"
        entry = r.mapping(item, path, _RULE_KEYS)
        if entry is None:
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            r.add(f"{path}.name", "missing", "a rule needs a name")
            name = path
        elif name in names:
            r.add(f"{path}.name", "duplicate", f"duplicate rule name {name!r}")
        names.add(name)
        ops = [
            op
            for op_path, op_name in r.str_list(entry.get("operations"), f"{path}.operations")
            if (op := r.enum(Operation, op_name, op_path, "operation")) is not None
        ]
        if entry.get("operations") == []:
            r.add(f"{path}.operations", "empty", "must name at least one operation")
        when = _condition(r, entry.get("when", {}), f"{path}.when")
        lane = r.enum(Lane, entry.get("lane"), f"{path}.lane", "lane")
        add_steps = r.roles(entry.get("add_steps", []), f"{path}.add_steps")
        reason = entry.get("reason", name)
        if not isinstance(reason, str):
            r.add(f"{path}.reason", "type", "must be a string")
            reason = name
        if lane is Lane.GREEN and add_steps:
            r.add(f"{path}.add_steps", "green_with_steps", "a green rule adds no steps")
        if lane is not None and lane is not Lane.GREEN and not add_steps:
            for op in ops:
                base = operations.get(op)
                if base is not None and not base.steps:
                    r.add(
                        f"{path}.add_steps",
                        "empty_steps",
                        f"operation {op.value!r} has no steps: a {lane.value} rule must add some",
                    )
        if when is not None:
            _check_structure_condition(r, ops, when, f"{path}.when")
        if lane is not None and when is not None:
            rules.append(Rule(name, frozenset(ops), when, lane, add_steps, reason))
    return tuple(rules)


def _condition(r: _Reader, value: Any, path: str) -> Condition | None:
    when = r.mapping(value, path, _WHEN_KEYS)
    if when is None:
        return None
    only = r.fields(when["only_fields"], f"{path}.only_fields") if "only_fields" in when else None
    any_ = r.fields(when["any_field"], f"{path}.any_field") if "any_field" in when else None
    threshold = _threshold(r, when, path)
    record: dict[str, frozenset[str]] | None = None
    if "record" in when:
        record = {}
        rec = r.mapping(when["record"], f"{path}.record", r.known_fields) or {}
        for name, allowed in rec.items():
            if not isinstance(allowed, list) or not allowed:
                r.add(f"{path}.record.{name}", "type", "must be a non-empty list of values")
                continue
            record[str(name)] = frozenset(str(v) for v in allowed)
    types: frozenset[str] | None = None
    if "types" in when:
        names = r.str_list(when["types"], f"{path}.types")
        if when["types"] == []:
            r.add(f"{path}.types", "empty", "must name at least one type")
        types = frozenset(name for _, name in names)
    return Condition(only, any_, threshold, record, types)


def _check_structure_condition(
    r: _Reader, ops: list[Operation], when: Condition, path: str
) -> None:
    """Structure changes touch no customer fields: their rules test ``types`` only, and
    ``types`` belongs to rules about structure operations only."""
    structure = [op for op in ops if op.is_structure]
    fields = [
        key
        for key, value in (
            ("only_fields", when.only_fields),
            ("any_field", when.any_field),
            ("field", when.threshold),
            ("record", when.record),
        )
        if value is not None
    ]
    if structure and fields:
        r.add(
            f"{path}.{fields[0]}",
            "structure_fields",
            f"structure operations ({', '.join(op.value for op in structure)}) change no "
            "customer fields: test their types instead",
        )
    if when.types is not None and len(structure) != len(ops):
        others = ", ".join(op.value for op in ops if not op.is_structure)
        r.add(f"{path}.types", "not_structure", f"only structure changes have types, not {others}")


def _threshold(r: _Reader, when: Mapping[str, Any], path: str) -> Threshold | None:
    numbers = {k: r.number(when[k], f"{path}.{k}") for k in _NUMBER_KEYS if k in when}
    field = when.get("field")
    if field is None:
        if numbers or "combine" in when:
            r.add(f"{path}.field", "missing", "thresholds need the field they test")
        return None
    if not isinstance(field, str) or not field:
        r.add(f"{path}.field", "type", "must be a field name")
        return None
    r.field(field, f"{path}.field")
    if not numbers:
        r.add(path, "bad_threshold", f"field needs one of {', '.join(_NUMBER_KEYS)}")
    combine = r.enum(Combine, when.get("combine", "any"), f"{path}.combine", "combine")
    return Threshold(
        field,
        numbers.get("increase_above"),
        numbers.get("increase_ratio_above"),
        numbers.get("value_above"),
        combine or Combine.ANY,
    )
