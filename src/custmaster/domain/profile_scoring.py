"""Scoring one profile row with a rule set: tier, health (with its trend), churn risk,
segments and next-best actions, each with the explanation of what decided it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from custmaster.domain.profile_rules import RuleSet


@dataclass(frozen=True, slots=True)
class Score:
    tier: str
    health_score: int | None
    health_band: str | None
    health_trend: int | None  # health - the previous health (None: no previous value)
    churn_risk: float
    churn_band: str
    segments: tuple[str, ...]
    actions: tuple[str, ...]
    rules_version: int
    explanation: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def outcome(self) -> dict[str, Any]:
        """What a change of is an event: band, tier, churn band, segments, actions."""
        return {
            "tier": self.tier,
            "health_band": self.health_band,
            "churn_band": self.churn_band,
            "segments": list(self.segments),
            "actions": list(self.actions),
        }


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the tier, health and churn rules give on one row, before they are combined:
    the index of the first tier rule that holds (``None``: the default tier), every
    measure's value in rule order (groups flattened; ``float()`` of what the rule gave,
    not yet clamped; ``None``: missing) and whether each churn factor holds. The SQL
    scoring (``persistence/profile_scoring_sql.py``) computes these in the database and
    hands each distinct combination to :func:`base` and :func:`finish`."""

    tier_index: int | None
    measures: tuple[float | None, ...]
    factors: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Base:
    """Tier, health and churn of a row (what segments and actions may read)."""

    tier: str
    tier_rule: str
    health: int | None
    band: str | None
    groups: list[dict[str, Any]]
    risk: float
    churn_band: str
    factors: tuple[int, ...]  # indexes of the churn factors that hold


def inputs(rules: RuleSet, values: Mapping[str, Any], today: date) -> Inputs:
    """:class:`Inputs` of one row, evaluated in Python."""
    tier_index = None
    for i, rule in enumerate(rules.tiers):
        if rule.when.run(values, today) is True:
            tier_index = i
            break
    measures: list[float | None] = []
    for group in rules.groups:
        for measure in group.measures:
            raw = measure.score.run(values, today)
            measures.append(None if raw is None else float(raw))
    factors = tuple(f.when.run(values, today) is True for f in rules.churn)
    return Inputs(tier_index, tuple(measures), factors)


def base(rules: RuleSet, found: Inputs) -> Base:
    """Tier, health (weighted means of the clamped measures) and churn of :class:`Inputs`."""
    if found.tier_index is None:
        tier, tier_rule = rules.default_tier, "default_tier"
    else:
        rule = rules.tiers[found.tier_index]
        tier, tier_rule = rule.tier, f"tiers[{found.tier_index}]: {rule.when.source}"
    groups: list[dict[str, Any]] = []
    total = weights = 0.0
    values = iter(found.measures)
    for group in rules.groups:
        measures: list[dict[str, Any]] = []
        g_total = g_weights = 0.0
        for measure in group.measures:
            raw = next(values)
            value = None if raw is None else _clamp(raw)
            measures.append(
                {
                    "name": measure.name,
                    "value": value,
                    "weight": measure.weight,
                    "rule": measure.score.source,
                }
            )
            if value is not None and measure.weight > 0:
                g_total += value * measure.weight
                g_weights += measure.weight
        g_value = g_total / g_weights if g_weights else None
        groups.append(
            {"name": group.name, "weight": group.weight, "value": g_value, "measures": measures}
        )
        if g_value is not None and group.weight > 0:
            total += g_value * group.weight
            weights += group.weight
    health = round(total / weights) if weights else None
    band = None if health is None else rules.bands.of(health)
    held = tuple(i for i, holds in enumerate(found.factors) if holds)
    risk = round(min(1.0, sum(rules.churn[i].weight for i in held)), 4)
    churn_band = "low"
    for name, low in sorted(rules.churn_bands.items(), key=lambda item: -item[1]):
        if risk >= low:
            churn_band = name
            break
    return Base(tier, tier_rule, health, band, groups, risk, churn_band, held)


def trend_of(health: int | None, previous: Score | None) -> int | None:
    """The health against the row's previous score (``None``: either is missing)."""
    if health is None or previous is None or previous.health_score is None:
        return None
    return health - previous.health_score


def derived(values: Mapping[str, Any], found: Base, trend: int | None) -> dict[str, Any]:
    """The row as segment and action rules read it: its values and the scores so far."""
    return {
        **values,
        "tier": found.tier,
        "health_score": found.health,
        "health_band": found.band,
        "health_trend": trend,
        "churn_risk": found.risk,
        "churn_band": found.churn_band,
    }


def finish(
    rules: RuleSet,
    version: int,
    found: Base,
    trend: int | None,
    previous: Score | None,
    segments_held: tuple[bool, ...],
    actions_held: tuple[bool, ...],
) -> Score:
    """The :class:`Score` (with its explanation) of :class:`Base`, the trend and which
    segments and actions hold (in rule order)."""
    held_segments = [s for s, holds in zip(rules.segments, segments_held, strict=True) if holds]
    segments = tuple(s.name for s in held_segments)
    actions = sorted(
        (a for a, holds in zip(rules.actions, actions_held, strict=True) if holds),
        key=lambda a: (a.priority, a.name),
    )
    factors = [rules.churn[i] for i in found.factors]
    explanation = {
        "rules_version": version,
        "tier": {"tier": found.tier, "rule": found.tier_rule},
        "health": {
            "score": found.health,
            "band": found.band,
            "trend": trend,
            "groups": found.groups,
            "moved": _moved(found.groups, previous),
        },
        "churn": {
            "risk": found.risk,
            "band": found.churn_band,
            "factors": [
                {"name": f.name, "weight": f.weight, "rule": f.when.source} for f in factors
            ],
        },
        "segments": [
            {"name": s.name, "rule": s.when.source} for s in rules.segments if s.name in segments
        ],
        "actions": [
            {"name": a.name, "text": a.text, "priority": a.priority, "rule": a.when.source}
            for a in actions
        ],
    }
    return Score(
        found.tier,
        found.health,
        found.band,
        trend,
        found.risk,
        found.churn_band,
        segments,
        tuple(a.name for a in actions),
        version,
        explanation,
    )


def score(
    rules: RuleSet,
    version: int,
    values: Mapping[str, Any],
    today: date,
    previous: Score | None = None,
) -> Score:
    """Score one row (master fields + features of one legal entity); ``previous`` is the
    row's last score (for the trend and the measures that moved)."""
    found = base(rules, inputs(rules, values, today))
    trend = trend_of(found.health, previous)
    seen = derived(values, found, trend)
    segments_held = tuple(s.when.run(seen, today) is True for s in rules.segments)
    actions_held = tuple(a.when.run(seen, today) is True for a in rules.actions)
    return finish(rules, version, found, trend, previous, segments_held, actions_held)


def _moved(groups: list[dict[str, Any]], previous: Score | None) -> list[dict[str, Any]]:
    """The measures whose value changed since the previous score, largest effect first."""
    if previous is None:
        return []
    before: dict[tuple[str, str], Any] = {}
    for group in previous.explanation.get("health", {}).get("groups", []):
        for measure in group.get("measures", []):
            before[(group["name"], measure["name"])] = measure.get("value")
    moved: list[dict[str, Any]] = []
    for group in groups:
        for measure in group["measures"]:
            old, new = before.get((group["name"], measure["name"])), measure["value"]
            if old != new:
                delta = (new or 0.0) - (old or 0.0)
                moved.append(
                    {
                        "group": group["name"],
                        "measure": measure["name"],
                        "before": old,
                        "after": new,
                        "delta": delta,
                    }
                )
    return sorted(moved, key=lambda m: -abs(m["delta"]))
