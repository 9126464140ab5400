"""Consolidation: a golden record's values from its source records, by the survivorship
rules, never overwriting what a higher-ranked source or a steward set.

Every field of a golden record has a *provenance*: the source record that holds its value
(with that source's system), or a steward, and the rule that put it there. When a source
record joins a golden record (an import row that matched it, a second system's record of
the same company), each field it carries is decided on its own:

1. the golden record has no value: the incoming value fills the gap;
2. a steward set the value (a change through the API, a merge's choice, or any value that
   differs from what its source record said): it stays;
3. the incoming record is a newer version of the source record holding the value (same
   source system and id): it replaces it;
4. the sources rank differently in ``survivorship.yaml``'s ``source_priority`` (systems
   not listed rank last): the better-ranked one keeps or takes the field;
5. equal rank: the field's rule decides (``survivor`` and ``steward_choice`` keep the
   value, ``most_complete`` takes the longer value, ``most_recent`` and
   ``source_priority`` take the newer one).

Fields decided: the master fields (except ``kind`` and ``owning_entity``, which stay the
golden record's), the billing and the shipping addresses (each as a whole), contacts,
pricing tiers and tax profiles (each collection as a whole). Dimensions, metadata and
legal-entity overrides merge by key as before (the incoming key wins); source references
are added. A golden record created before source records existed has no provenance: its
values are overwritten by an incoming record as an ``on_duplicate=update`` import did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custmaster.domain.context import ParseContext
from custmaster.domain.model import MASTER_FIELDS, Customer
from custmaster.domain.snapshot import snapshot
from custmaster.services.dedup.survivorship import SurvivorshipConfig
from custmaster.services.imports.merge import merged_customer
from custmaster.services.sources.ports import SourceRecord

_CHILDREN = ("contacts", "pricing_tiers", "tax_profiles")
_ADDRESS_TYPES = ("billing", "shipping")
#: Every field a golden record's provenance covers, in display order.
CONSOLIDATED_FIELDS: tuple[str, ...] = (
    *(f for f in MASTER_FIELDS if f not in ("kind", "owning_entity")),
    *(f"addresses[{t}]" for t in _ADDRESS_TYPES),
    *_CHILDREN,
)
STEWARD = "steward"


def _strip(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "id"} for r in records]


def field_value(snap: Mapping[str, Any], name: str) -> Any:
    """The comparable value of a consolidated field in a customer snapshot (child
    records without their ids)."""
    if name.startswith("addresses["):
        kind = name[len("addresses[") : -1]
        return _strip([a for a in snap.get("addresses") or [] if a.get("type") == kind])
    if name in _CHILDREN:
        return _strip(snap.get(name) or [])
    return snap.get(name)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _size(value: Any) -> int:
    return len(value) if isinstance(value, list | dict | str) else len(str(value))


def carried(command: Mapping[str, Any], parsed: Customer) -> list[str]:
    """The consolidated fields an incoming command carries (present and not null)."""
    names = [f for f in CONSOLIDATED_FIELDS if f in command and command[f] is not None]
    if command.get("addresses"):
        names += sorted({f"addresses[{a.type.value}]" for a in parsed.addresses})
    names += [f for f in _CHILDREN if command.get(f)]
    return names


def entry(source: SourceRecord | None, rule: str, value: Any) -> dict[str, Any]:
    return {
        "source": None if source is None else str(source.id),
        "system": None if source is None else source.source_system,
        "rule": rule,
        "value": value,
    }


def derive_provenance(
    current: Mapping[str, Any],
    stored: Mapping[str, Any] | None,
    sources: Sequence[SourceRecord],
) -> dict[str, Any]:
    """The provenance of every field of a golden record (snapshot ``current``): the
    stored one, else from its first source record (values still as that record said
    are its; others were set by a steward). A value that differs from what its stored
    provenance says was changed by a steward since. Empty fields have none."""
    first = next((s for s in sources if s.normalised is not None), None)
    result: dict[str, Any] = {}
    for name in CONSOLIDATED_FIELDS:
        value = field_value(current, name)
        if _empty(value):
            continue
        known = (stored or {}).get(name)
        if known is not None:
            same = known["value"] == value or known["rule"] == STEWARD
            result[name] = known if same else entry(None, STEWARD, value)
        elif stored is not None:  # filled since the provenance was stored
            result[name] = entry(None, STEWARD, value)
        elif first is not None:
            assert first.normalised is not None
            if field_value(first.normalised, name) == value:
                result[name] = entry(first, "first_source", value)
            else:
                result[name] = entry(None, STEWARD, value)
    return result


class Ranks:
    def __init__(self, priority: Sequence[str]) -> None:
        self._order = {s: i for i, s in enumerate(priority)}
        self._last = len(priority)

    def __call__(self, system: str | None) -> int:
        if system is None:
            return self._last
        return self._order.get(system.casefold(), self._last)


def decide(
    name: str,
    current: Any,
    incoming: Any,
    held: Mapping[str, Any] | None,
    source: SourceRecord,
    rule: str,
    rank: Ranks,
) -> tuple[bool, str]:
    """Whether the incoming value replaces the golden record's, and why."""
    if _empty(current):
        return True, "fills_gap"
    if held is None:
        return True, "no_provenance"
    if held["source"] is None:
        # a steward's value stays; a merge's combination of records is no one's choice
        return (False, STEWARD) if held["rule"] == STEWARD else (True, "no_provenance")
    if held["source"] == str(source.id):
        return True, "same_source"
    mine, theirs = rank(source.source_system), rank(held["system"])
    if mine != theirs:
        return mine < theirs, "source_priority"
    if rule in ("survivor", "steward_choice"):
        return False, rule
    if rule == "most_complete":
        return _size(incoming) > _size(current), rule
    return True, rule


@dataclass
class Consolidation:
    customer: Customer
    provenance: dict[str, Any]
    #: per carried field: {field, taken, rule, held_by}
    decisions: list[dict[str, Any]]


def consolidate(
    current: Customer,
    parsed: Customer,
    command: Mapping[str, Any],
    source: SourceRecord,
    *,
    provenance: Mapping[str, Any],
    config: SurvivorshipConfig,
    now: datetime,
    ctx: ParseContext,
) -> Consolidation | None:
    """``current`` with what ``source`` (parsed into ``parsed``) may change of it (see the
    module docstring); ``None`` when the result breaks an aggregate rule (in ``ctx``)."""
    rank = Ranks(config.source_priority)
    before = snapshot(current)
    incoming = snapshot(parsed)
    decisions: list[dict[str, Any]] = []
    blocked: set[str] = set()
    for name in carried(command, parsed):
        value = field_value(incoming, name)
        if _empty(value):
            continue
        held = provenance.get(name)
        base = name.split("[", 1)[0]
        taken, why = decide(
            name, field_value(before, name), value, held, source, config.rule_for(base), rank
        )
        if not taken:
            blocked.add(name)
        decisions.append(
            {
                "field": name,
                "taken": taken,
                "rule": why,
                "held_by": None if held is None else held.get("system"),
            }
        )
    filtered = {k: v for k, v in command.items() if k not in blocked}
    kept_types = {t for t in _ADDRESS_TYPES if f"addresses[{t}]" in blocked}
    narrowed = dataclasses.replace(
        parsed, addresses=[a for a in parsed.addresses if a.type.value not in kept_types]
    )
    if "addresses" in filtered and not narrowed.addresses:
        del filtered["addresses"]
    merged = merged_customer(current, narrowed, filtered, now=now, ctx=ctx)
    if merged is None:
        return None
    after = snapshot(merged)
    result = dict(provenance)
    by_field = {d["field"]: d for d in decisions}
    for name in CONSOLIDATED_FIELDS:
        value = field_value(after, name)
        decision = by_field.get(name)
        if _empty(value):
            result.pop(name, None)
        elif decision is not None and decision["taken"]:
            result[name] = entry(source, decision["rule"], value)
        elif name in result:
            result[name] = dict(result[name], value=value)
    return Consolidation(merged, result, decisions)
