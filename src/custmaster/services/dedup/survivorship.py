"""Survivorship: the golden record a merge keeps, from declarative rules per field.

The rules live in ``custmaster/survivorship.yaml`` (format documented there); a steward's
choice in the merge request always wins over a field's rule. Pure functions: no unit of
work, no I/O except reading the YAML file.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from custmaster.domain.build import parse_master_field
from custmaster.domain.context import ParseContext, RefCheck, RefKind, dimension_ref
from custmaster.domain.model import (
    MASTER_FIELDS,
    REQUIRED_FIELDS,
    Address,
    Contact,
    Customer,
    EntityOverride,
    PricingTier,
    SourceRef,
    TaxProfile,
)
from custmaster.domain.rules import check_aggregate, tiers_overlap
from custmaster.matching.normalize import fold, normalize_postal_code, normalize_street

RULES = frozenset(
    {"survivor", "source_priority", "most_recent", "most_complete", "union", "steward_choice"}
)
#: Fields that always stay the survivor's.
FIXED_FIELDS = frozenset({"kind", "owning_entity"})
#: Fields the rules decide (master fields and dimensions).
RULE_FIELDS: tuple[str, ...] = (
    *(f for f in MASTER_FIELDS if f not in FIXED_FIELDS),
    "dimensions",
)
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "survivorship.yaml"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SurvivorshipConfig:
    """Parsed ``survivorship.yaml``."""

    source_priority: tuple[str, ...] = ()
    default: str = "survivor"
    fields: Mapping[str, str] = field(default_factory=dict)

    def rule_for(self, name: str) -> str:
        return self.fields.get(name, self.default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_priority": list(self.source_priority),
            "default": self.default,
            "fields": {name: self.rule_for(name) for name in RULE_FIELDS},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurvivorshipConfig:
        """Check and load the YAML's content; unknown rules and fields are errors."""
        problems: list[str] = []
        default = str(data.get("default", "survivor"))
        fields = {str(k): str(v) for k, v in (data.get("fields") or {}).items()}
        for name, rule in {"default": default, **fields}.items():
            if rule not in RULES:
                problems.append(f"{name}: unknown rule {rule!r}")
        for name in fields:
            if name not in RULE_FIELDS:
                problems.append(f"fields.{name}: not a field the rules decide")
        for name, rule in fields.items():
            if rule == "union" and name not in ("metadata", "dimensions"):
                problems.append(f"fields.{name}: union applies to metadata and dimensions only")
        if problems:
            raise ValueError("invalid survivorship rules: " + "; ".join(problems))
        priority = tuple(str(s).casefold() for s in data.get("source_priority") or ())
        return cls(source_priority=priority, default=default, fields=fields)


@functools.cache
def load_survivorship(path: Path = DEFAULT_CONFIG) -> SurvivorshipConfig:
    with path.open(encoding="utf-8") as fh:
        return SurvivorshipConfig.from_dict(yaml.safe_load(fh) or {})


@dataclass
class MergePlan:
    """The golden record and what the merge decided on the way."""

    customer: Customer
    rules: dict[str, str]
    sources: dict[str, str]
    dropped: list[dict[str, Any]] = field(default_factory=list)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _size(value: Any) -> int:
    return len(value) if isinstance(value, list | dict | str) else len(str(value))


class _Ranking:
    """Orders of the merged records per rule (index 0 is the survivor)."""

    def __init__(self, records: Sequence[Customer], priority: Sequence[str]) -> None:
        self.records = list(records)
        order = list(range(len(records)))
        recency = sorted(order, key=lambda i: records[i].updated_at or _EPOCH, reverse=True)
        self.recent = recency
        self.survivor_first = [0, *(i for i in recency if i != 0)]

        def source_rank(i: int) -> int:
            systems = [r.source_system.casefold() for r in records[i].source_refs]
            ranks = [priority.index(s) for s in systems if s in priority]
            return min(ranks, default=len(priority))

        self.by_source = sorted(self.survivor_first, key=source_rank)

    def pick(self, name: str, rule: str) -> int:
        values = [getattr(r, name) for r in self.records]
        if rule == "steward_choice":
            return 0
        if rule == "most_complete":
            best = max(
                (i for i in self.survivor_first if not _empty(values[i])),
                key=lambda i: _size(values[i]),
                default=0,
            )
            return best
        order = {
            "survivor": self.survivor_first,
            "source_priority": self.by_source,
            "most_recent": self.recent,
        }.get(rule, self.survivor_first)
        return next((i for i in order if not _empty(values[i])), 0)


def plan_merge(
    survivor: Customer,
    absorbed: Sequence[Customer],
    config: SurvivorshipConfig,
    choices: Mapping[str, Any],
    *,
    now: datetime,
    ctx: ParseContext,
) -> MergePlan:
    """Build the golden record of ``survivor`` absorbing ``absorbed``.

    ``choices``: field -> ``{"from": "<id of a merged record>"}`` or ``{"value": ...}``
    (a value is parsed and checked like a PATCH of that field; reference-data codes are
    left in ``ctx.refs`` for the caller to check). Raises ``ValidationFailed`` on a bad
    choice. The records passed in are not modified.
    """
    records = [survivor, *absorbed]
    by_id = {str(r.id): i for i, r in enumerate(records)}
    ranking = _Ranking(records, config.source_priority)
    golden = copy.deepcopy(survivor)
    rules: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, choice in choices.items():
        if name not in RULE_FIELDS:
            ctx.errors.add(f"choices.{name}", "unknown_field", "is not a field a merge decides")
        elif not isinstance(choice, Mapping) or set(choice) not in ({"from"}, {"value"}):
            ctx.errors.add(f"choices.{name}", "invalid", 'must be {"from": id} or {"value": ...}')
        elif "from" in choice and str(choice["from"]) not in by_id:
            ctx.errors.add(f"choices.{name}.from", "not_merged", "is not one of the records")
    ctx.errors.raise_if_any()
    for name in RULE_FIELDS:
        rule = config.rule_for(name)
        choice = choices.get(name)
        if choice is not None and "value" in choice:
            setattr(golden, name, _parse_choice(name, choice["value"], golden, ctx))
            rules[name], sources[name] = "steward_choice", "value"
            continue
        if choice is not None:
            index = by_id[str(choice["from"])]
            rules[name] = "steward_choice"
        elif rule == "union":
            merged: dict[str, Any] = {}
            for record in reversed(ranking.survivor_first):
                merged.update(getattr(records[record], name))
            setattr(golden, name, merged)
            rules[name], sources[name] = rule, "union"
            continue
        else:
            index = ranking.pick(name, rule)
            rules[name] = rule
        setattr(golden, name, copy.deepcopy(getattr(records[index], name)))
        sources[name] = str(records[index].id)
    ctx.errors.raise_if_any()
    dropped: list[dict[str, Any]] = []
    for other in absorbed:
        _absorb_children(golden, other, dropped)
    # stored and loaded in this order: the snapshot of the merge equals what a read gives
    golden.source_refs.sort(key=lambda r: (r.source_system, r.source_id))
    golden.version = survivor.version + 1
    golden.updated_at = now
    check_aggregate(golden, ctx)
    ctx.errors.raise_if_any()
    return MergePlan(golden, rules, sources, dropped)


def _parse_choice(name: str, value: Any, golden: Customer, ctx: ParseContext) -> Any:
    path = f"choices.{name}.value"
    if value is None:
        if name in REQUIRED_FIELDS:
            ctx.errors.add(path, "required", "is required and cannot be cleared")
        return {} if name in ("metadata", "dimensions") else None
    if name == "dimensions":
        if not isinstance(value, dict):
            ctx.errors.add(path, "type", "must be an object of dimension type -> value code")
            return {}
        for dim_type, code in value.items():
            ctx.ref(RefKind.DIMENSION_VALUE, dimension_ref(str(dim_type), str(code)), path)
        return {str(k): str(v) for k, v in value.items()}
    sub = ParseContext()
    parsed = parse_master_field(name, value, sub, golden.country)
    for error in sub.errors.errors:
        ctx.errors.add(path, error.code, error.message)
    ctx.refs.extend(RefCheck(r.kind, r.code, path) for r in sub.refs)
    ctx.warnings.extend(sub.warnings)
    return parsed


# -- child records ------------------------------------------------------------------------


def address_key(a: Address) -> tuple[Any, ...]:
    """Addresses equal after normalisation (type, street, number, postal code, city)."""
    street = normalize_street(a.lines)
    return (
        a.type.value,
        street.name,
        street.number,
        normalize_postal_code(a.postal_code, a.country),
        fold(a.city),
        a.country,
    )


def contact_key(c: Contact) -> tuple[Any, ...]:
    if c.email:
        return ("email", c.email.casefold())
    return ("name", fold(c.first_name), fold(c.last_name), c.phone)


def tier_key(t: PricingTier) -> tuple[Any, ...]:
    return (t.item, t.min_quantity, t.max_quantity, t.effective_from, t.effective_to)


def tax_profile_key(t: TaxProfile) -> tuple[Any, ...]:
    return (t.tax_code, (t.certificate_number or "").casefold())


def _move_addresses(target: list[Address], incoming: Sequence[Address]) -> None:
    keys = {address_key(a) for a in target}
    for address in incoming:
        if address_key(address) in keys:
            continue
        primary_taken = any(a.is_primary and a.type is address.type for a in target)
        moved = dataclasses.replace(address, lines=list(address.lines))
        if primary_taken:
            moved.is_primary = False
        target.append(moved)
        keys.add(address_key(address))


def _absorb_children(golden: Customer, other: Customer, dropped: list[dict[str, Any]]) -> None:
    _move_addresses(golden.addresses, other.addresses)
    keys = {contact_key(c) for c in golden.contacts}
    for contact in other.contacts:
        if contact_key(contact) not in keys:
            moved = dataclasses.replace(contact)
            if moved.is_primary and any(c.is_primary for c in golden.contacts):
                moved.is_primary = False
            golden.contacts.append(moved)
            keys.add(contact_key(contact))
    tier_keys = {tier_key(t) for t in golden.pricing_tiers}
    for tier in other.pricing_tiers:
        if tier_key(tier) in tier_keys:
            continue
        clash = next(
            (t for t in golden.pricing_tiers if t.item == tier.item and tiers_overlap(t, tier)),
            None,
        )
        if clash is not None:
            dropped.append(
                {
                    "record": "pricing_tiers",
                    "id": str(tier.id),
                    "from": str(other.id),
                    "reason": f"overlaps pricing tier {clash.id} of the golden record",
                }
            )
            continue
        golden.pricing_tiers.append(dataclasses.replace(tier))
        tier_keys.add(tier_key(tier))
    profile_keys = {tax_profile_key(t) for t in golden.tax_profiles}
    for profile in other.tax_profiles:
        if tax_profile_key(profile) not in profile_keys:
            golden.tax_profiles.append(dataclasses.replace(profile))
            profile_keys.add(tax_profile_key(profile))
    for entity, override in other.overrides.items():
        mine = golden.overrides.get(entity)
        if mine is None:
            golden.overrides[entity] = copy.deepcopy(override)
        else:
            _combine_override(mine, override)
    known = set(golden.source_refs)
    golden.source_refs.extend(r for r in other.source_refs if r not in known)


def _combine_override(mine: EntityOverride, other: EntityOverride) -> None:
    """The survivor's override wins per field; the absorbed one fills the gaps."""
    for name in (
        "credit_limit",
        "payment_terms",
        "payment_method",
        "currency",
        "tax_code",
        "revenue_account",
        "customer_group",
    ):
        if getattr(mine, name) is None and getattr(other, name) is not None:
            setattr(mine, name, getattr(other, name))
    for dim_type, value in other.dimensions.items():
        mine.dimensions.setdefault(dim_type, value)
    types = {a.type for a in mine.addresses}
    _move_addresses(mine.addresses, [a for a in other.addresses if a.type not in types])


def moved_child_ids(absorbed: Sequence[Mapping[str, Any]]) -> set[str]:
    """Ids of every child record (override addresses included) in absorbed snapshots."""
    ids: set[str] = set()
    for snap in absorbed:
        for kind in ("addresses", "contacts", "pricing_tiers", "tax_profiles"):
            ids.update(r["id"] for r in snap.get(kind) or [])
        for override in (snap.get("overrides") or {}).values():
            ids.update(a["id"] for a in override.get("addresses") or [])
    return ids


def refs_of(snapshots: Sequence[Mapping[str, Any]]) -> list[tuple[SourceRef, UUID]]:
    return [
        (SourceRef(r["source_system"], r["source_id"]), UUID(s["id"]))
        for s in snapshots
        for r in s.get("source_refs") or []
    ]
