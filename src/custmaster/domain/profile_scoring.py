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


def score(
    rules: RuleSet,
    version: int,
    values: Mapping[str, Any],
    today: date,
    previous: Score | None = None,
) -> Score:
    """Score one row (master fields + features of one legal entity); ``previous`` is the
    row's last score (for the trend and the measures that moved)."""
    tier, tier_rule = rules.default_tier, "default_tier"
    for i, rule in enumerate(rules.tiers):
        if rule.when.run(values, today) is True:
            tier, tier_rule = rule.tier, f"tiers[{i}]: {rule.when.source}"
            break
    groups: list[dict[str, Any]] = []
    total = weights = 0.0
    for group in rules.groups:
        measures: list[dict[str, Any]] = []
        g_total = g_weights = 0.0
        for measure in group.measures:
            raw = measure.score.run(values, today)
            value = None if raw is None else _clamp(float(raw))
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
    trend = None
    if health is not None and previous is not None and previous.health_score is not None:
        trend = health - previous.health_score
    factors = [f for f in rules.churn if f.when.run(values, today) is True]
    risk = round(min(1.0, sum(f.weight for f in factors)), 4)
    churn_band = "low"
    for name, low in sorted(rules.churn_bands.items(), key=lambda item: -item[1]):
        if risk >= low:
            churn_band = name
            break
    derived = {
        **values,
        "tier": tier,
        "health_score": health,
        "health_band": band,
        "health_trend": trend,
        "churn_risk": risk,
        "churn_band": churn_band,
    }
    segments = tuple(s.name for s in rules.segments if s.when.run(derived, today) is True)
    actions = sorted(
        (a for a in rules.actions if a.when.run(derived, today) is True),
        key=lambda a: (a.priority, a.name),
    )
    explanation = {
        "rules_version": version,
        "tier": {"tier": tier, "rule": tier_rule},
        "health": {
            "score": health,
            "band": band,
            "trend": trend,
            "groups": groups,
            "moved": _moved(groups, previous),
        },
        "churn": {
            "risk": risk,
            "band": churn_band,
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
        tier,
        health,
        band,
        trend,
        risk,
        churn_band,
        segments,
        tuple(a.name for a in actions),
        version,
        explanation,
    )


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
