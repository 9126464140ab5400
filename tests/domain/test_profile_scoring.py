"""Rule sets: the shipped defaults check, a rule that does not type-check is refused with
its path and position, scores carry their explanation and trend."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from custmaster.domain.approvals import Lane, Operation, Policy
from custmaster.domain.approvals.policy_schema import DEFAULT_OPERATIONS
from custmaster.domain.errors import ValidationFailed
from custmaster.domain.profile_rules import parse_rule_set
from custmaster.domain.profile_rules_default import DEFAULT_RULES
from custmaster.domain.profile_scoring import score
from tests.domain.test_approvals import POLICY_DATA

TODAY = date(2026, 12, 6)
HEALTHY: dict[str, Any] = {
    "account_tier": "strategic",
    "order_frequency_trend": 0.5,
    "revenue_yoy": 0.1,
    "last_order_date": date(2026, 12, 1),
    "avg_days_late": 2.0,
    "overdue_over_90": 0.0,
    "exposure_over_limit": False,
    "open_quality_complaints": 0,
    "open_service_cases": 0,
    "visits_90d": 3,
    "revenue_12m": 2_000_000.0,
}


def test_defaults_parse() -> None:
    rules = parse_rule_set(DEFAULT_RULES)
    assert [t.tier for t in rules.tiers] == ["strategic", "key", "growth"]
    assert len(rules.actions) == 4


def test_a_healthy_strategic_account() -> None:
    rules = parse_rule_set(DEFAULT_RULES)
    s = score(rules, 1, HEALTHY, TODAY)
    assert (s.tier, s.health_score, s.health_band, s.churn_band) == (
        "strategic",
        100,
        "green",
        "low",
    )
    assert s.explanation["tier"]["rule"].startswith("tiers[0]")
    assert s.actions == () and s.health_trend is None


def test_a_declining_account_moves_and_says_why() -> None:
    rules = parse_rule_set(DEFAULT_RULES)
    before = score(rules, 1, HEALTHY, TODAY)
    worse = {
        **HEALTHY,
        "order_frequency_trend": -2.0,
        "open_quality_complaints": 1,
        "oldest_open_complaint_date": date(2026, 11, 1),
        "visits_90d": 0,
    }
    after = score(rules, 1, worse, TODAY, before)
    assert after.health_score is not None and after.health_score < before.health_score
    assert after.health_trend == after.health_score - 100
    moved = after.explanation["health"]["moved"]
    assert moved[0] == {
        "group": "buying",
        "measure": "order_trend",
        "before": 100.0,
        "after": 0.0,
        "delta": -100.0,
    }
    assert {m["measure"] for m in moved} == {"order_trend", "complaints", "visits"}
    assert "complaint_call" in after.actions
    assert [f["name"] for f in after.explanation["churn"]["factors"]] == [
        "declining_orders",
        "open_complaints",
        "no_contact",
    ]
    assert after.churn_risk == 0.6 and after.churn_band == "high"
    assert "at_risk_strategic" in after.segments


def test_measures_whose_value_is_missing_are_left_out() -> None:
    rules = parse_rule_set(
        {
            "health": {
                "groups": [
                    {
                        "name": "buying",
                        "weight": 1,
                        "measures": [
                            {"name": "growth", "score": "revenue_yoy * 100.0"},
                            {
                                "name": "complaints",
                                "score": "open_quality_complaints == 0 ? 100 : 0",
                            },
                        ],
                    },
                    {
                        "name": "paying",
                        "weight": 3,
                        "measures": [{"name": "late", "score": "100.0 - avg_days_late"}],
                    },
                ]
            }
        }
    )
    assert score(rules, 2, {"open_quality_complaints": 0}, TODAY).health_score == 100
    s = score(rules, 2, {"open_quality_complaints": 0, "avg_days_late": 60.0}, TODAY)
    assert s.health_score == round((100 * 1 + 40 * 3) / 4)
    # growth 200 -> 100, complaints missing -> the else branch (0), late -> 0
    assert score(rules, 2, {"revenue_yoy": 2.0, "avg_days_late": 200.0}, TODAY).health_score == 12
    nothing = parse_rule_set(
        {
            "health": {
                "groups": [
                    {"name": "g", "measures": [{"name": "m", "score": "revenue_yoy * 100.0"}]}
                ]
            }
        }
    )
    assert score(nothing, 2, {}, TODAY).health_score is None


def test_every_problem_is_reported_with_its_path_and_position() -> None:
    bad = copy.deepcopy(DEFAULT_RULES)
    bad["tiers"][1]["when"] = 'account_tier == "key" || revenue_12m >= "lots"'
    bad["health"]["groups"][0]["measures"][0]["score"] = "order_frequency_trend < 0"
    bad["actions"].append({"name": "complaint_call", "text": "again", "when": "true"})
    bad["surprise"] = 1
    with pytest.raises(ValidationFailed) as caught:
        parse_rule_set(bad)
    found = {e.field: e.as_dict() for e in caught.value.errors}
    assert found["tiers[1].when"]["column"] == 41  # the string compared with a number
    assert "must be a int or double" in found["health.groups[0].measures[0].score"]["message"]
    assert "actions[4].name" in found and "surprise" in found


def test_a_policy_written_before_profile_rules_still_loads() -> None:
    policy = Policy.from_dict(POLICY_DATA)
    assert "profile_rules_change" not in POLICY_DATA["operations"]
    assert (
        policy.operations[Operation.PROFILE_RULES_CHANGE]
        == DEFAULT_OPERATIONS[Operation.PROFILE_RULES_CHANGE]
    )
    assert policy.operations[Operation.PROFILE_RULES_CHANGE].lane is Lane.YELLOW
