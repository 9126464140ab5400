"""Profile rules as versioned data: the rule set, parsed and type-checked from JSON.

A rule set has five parts, evaluated in this order on one profile row (master fields +
features of one legal entity, or of ``*``):

1. ``tiers``: the first rule whose ``when`` holds names the tier (else ``default_tier``);
2. ``health``: weighted measure groups; each measure is a number expression clamped to
   0-100, a group is the weighted mean of its measures, the score the weighted mean of
   the groups (measures whose value is missing are left out); ``bands`` name the red,
   yellow and green ranges;
3. ``churn``: the weights of the factors whose ``when`` holds, summed and capped at 1;
4. ``segments``: every segment whose ``when`` holds;
5. ``actions``: every next-best action whose ``when`` holds, by priority.

Segment and action rules may read ``tier``, ``health_score``, ``health_band``,
``health_trend``, ``churn_risk`` and ``churn_band``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custmaster.domain.errors import ErrorCollector
from custmaster.domain.expressions import Compiled, ExpressionError, Node, Type, check, compile_tree
from custmaster.domain.profile_schema import BASE_SCHEMA, DERIVED_SCHEMA

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NUMBER = (Type.INT, Type.DOUBLE)


@dataclass(frozen=True, slots=True)
class Rule:
    """One expression of a rule set, checked and compiled."""

    source: str
    tree: Node
    run: Compiled


@dataclass(frozen=True, slots=True)
class TierRule:
    tier: str
    when: Rule


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    weight: float
    score: Rule


@dataclass(frozen=True, slots=True)
class MeasureGroup:
    name: str
    weight: float
    measures: tuple[Measure, ...]


@dataclass(frozen=True, slots=True)
class Bands:
    """red below ``yellow_from``, yellow below ``green_from``, green from there."""

    yellow_from: int = 51
    green_from: int = 76

    def of(self, score: int) -> str:
        return (
            "green"
            if score >= self.green_from
            else "yellow"
            if score >= self.yellow_from
            else "red"
        )


@dataclass(frozen=True, slots=True)
class ChurnFactor:
    name: str
    weight: float
    when: Rule


@dataclass(frozen=True, slots=True)
class NamedRule:
    """A segment (``name``) or a next-best action (``name`` is its code)."""

    name: str
    when: Rule
    text: str = ""
    priority: int = 0


@dataclass(frozen=True, slots=True)
class RuleSet:
    tiers: tuple[TierRule, ...]
    default_tier: str
    groups: tuple[MeasureGroup, ...]
    bands: Bands
    churn: tuple[ChurnFactor, ...]
    churn_bands: Mapping[str, float]  # band -> lowest risk of the band ("high": 0.6, ...)
    segments: tuple[NamedRule, ...]
    actions: tuple[NamedRule, ...]
    definition: Mapping[str, Any]


class _Reader:
    def __init__(self) -> None:
        self.errors = ErrorCollector()

    def obj(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.errors.add(path, "type", "must be an object")
            return {}
        return value

    def items(self, value: Any, path: str, *, limit: int = 200) -> Sequence[Any]:
        if not isinstance(value, list):
            self.errors.add(path, "type", "must be a list")
            return []
        if len(value) > limit:
            self.errors.add(path, "too_many", f"at most {limit} entries")
            return []
        return value

    def name(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            self.errors.add(path, "name", "must be a lower-case name (a-z, 0-9, _; up to 64)")
            return "invalid"
        return value

    def text(self, value: Any, path: str, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            self.errors.add(path, "text", "must be a non-empty text of up to 500 characters")
            return ""
        return value

    def number(self, value: Any, path: str, low: float, high: float) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (low <= value <= high)
        ):
            self.errors.add(path, "range", f"must be a number from {low:g} to {high:g}")
            return low
        return float(value)

    def rule(
        self, value: Any, path: str, schema: Mapping[str, Type], expect: Type | tuple[Type, ...]
    ) -> Rule:
        if not isinstance(value, str):
            self.errors.add(path, "type", "must be an expression (text)")
            value = "true" if expect is Type.BOOL else "0"
        try:
            tree = check(value, schema, expect)
        except ExpressionError as error:
            self.errors.extend(error.for_field(value, path).errors)
            tree = check("true" if expect is Type.BOOL else "0", schema)
        return Rule(value, tree, compile_tree(tree))

    def unique(self, names: Sequence[str], path: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.errors.add(f"{path}[{i}].name", "duplicate", f"{name} is named twice")
            seen.add(name)


def parse_rule_set(definition: Any) -> RuleSet:
    """A rule set from its JSON form; every problem (with an expression's position) is
    reported at once as :class:`ValidationFailed`."""
    r = _Reader()
    root = r.obj(definition, "rules")
    known = {"tiers", "default_tier", "health", "churn", "segments", "actions", "description"}
    for key in sorted(set(root) - known):
        r.errors.add(key, "unknown_field", "is not a part of a rule set")
    tiers = tuple(
        TierRule(
            r.name(t.get("tier"), f"tiers[{i}].tier"),
            r.rule(t.get("when"), f"tiers[{i}].when", BASE_SCHEMA, Type.BOOL),
        )
        for i, raw in enumerate(r.items(root.get("tiers", []), "tiers"))
        for t in [r.obj(raw, f"tiers[{i}]")]
    )
    default_tier = r.name(root.get("default_tier", "standard"), "default_tier")
    health = r.obj(root.get("health", {}), "health")
    groups: list[MeasureGroup] = []
    for i, raw in enumerate(r.items(health.get("groups", []), "health.groups")):
        path = f"health.groups[{i}]"
        group = r.obj(raw, path)
        measures = tuple(
            Measure(
                r.name(m.get("name"), f"{path}.measures[{j}].name"),
                r.number(m.get("weight", 1), f"{path}.measures[{j}].weight", 0, 100),
                r.rule(m.get("score"), f"{path}.measures[{j}].score", BASE_SCHEMA, _NUMBER),
            )
            for j, mraw in enumerate(r.items(group.get("measures"), f"{path}.measures"))
            for m in [r.obj(mraw, f"{path}.measures[{j}]")]
        )
        if not measures:
            r.errors.add(f"{path}.measures", "empty", "a group needs at least one measure")
        r.unique([m.name for m in measures], f"{path}.measures")
        groups.append(
            MeasureGroup(
                r.name(group.get("name"), f"{path}.name"),
                r.number(group.get("weight", 1), f"{path}.weight", 0, 100),
                measures,
            )
        )
    r.unique([g.name for g in groups], "health.groups")
    raw_bands = r.obj(health.get("bands", {}), "health.bands")
    yellow = int(r.number(raw_bands.get("yellow_from", 51), "health.bands.yellow_from", 1, 100))
    green = int(r.number(raw_bands.get("green_from", 76), "health.bands.green_from", 1, 100))
    if green <= yellow:
        r.errors.add("health.bands.green_from", "range", "must be above yellow_from")
    churn = r.obj(root.get("churn", {}), "churn")
    factors = tuple(
        ChurnFactor(
            r.name(f.get("name"), f"churn.factors[{i}].name"),
            r.number(f.get("weight"), f"churn.factors[{i}].weight", 0, 1),
            r.rule(f.get("when"), f"churn.factors[{i}].when", BASE_SCHEMA, Type.BOOL),
        )
        for i, raw in enumerate(r.items(churn.get("factors", []), "churn.factors"))
        for f in [r.obj(raw, f"churn.factors[{i}]")]
    )
    r.unique([f.name for f in factors], "churn.factors")
    raw_churn_bands = r.obj(churn.get("bands", {"high": 0.6, "medium": 0.3}), "churn.bands")
    churn_bands = {
        r.name(name, f"churn.bands.{name}"): r.number(low, f"churn.bands.{name}", 0, 1)
        for name, low in raw_churn_bands.items()
    }
    segments = tuple(_named(r, root.get("segments", []), "segments"))
    actions = tuple(_named(r, root.get("actions", []), "actions", action=True))
    r.errors.raise_if_any()
    return RuleSet(
        tiers,
        default_tier,
        tuple(groups),
        Bands(yellow, green),
        factors,
        churn_bands,
        segments,
        actions,
        dict(root),
    )


def _named(r: _Reader, value: Any, part: str, action: bool = False) -> list[NamedRule]:
    found: list[NamedRule] = []
    for i, raw in enumerate(r.items(value, part)):
        item = r.obj(raw, f"{part}[{i}]")
        found.append(
            NamedRule(
                r.name(item.get("name"), f"{part}[{i}].name"),
                r.rule(item.get("when"), f"{part}[{i}].when", DERIVED_SCHEMA, Type.BOOL),
                r.text(item.get("text"), f"{part}[{i}].text", required=action),
                int(r.number(item.get("priority", 0), f"{part}[{i}].priority", 0, 1000)),
            )
        )
    r.unique([n.name for n in found], part)
    return found
