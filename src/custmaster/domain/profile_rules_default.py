"""The rule set shipped with custmaster (version 1, seeded by migration 0017_profile_rules).

Health follows the bands users know from customer-success tools (0-50 red, 51-75 yellow,
76-100 green) over four weighted groups: buying, paying, service and relationship.
"""

from __future__ import annotations

from typing import Any

DEFAULT_RULES: dict[str, Any] = {
    "description": "custmaster defaults: health in four groups, RFM-style churn factors",
    "tiers": [
        # the master account tier counts (the sample reference data's platinum and gold)
        {
            "tier": "strategic",
            "when": 'account_tier == "strategic" || account_tier == "platinum"'
            " || revenue_12m >= 1000000.0",
        },
        {
            "tier": "key",
            "when": 'account_tier == "key" || account_tier == "gold" || revenue_12m >= 250000.0',
        },
        {"tier": "growth", "when": "revenue_yoy > 0.2 && revenue_12m >= 50000.0"},
    ],
    "default_tier": "standard",
    "health": {
        "bands": {"yellow_from": 51, "green_from": 76},
        "groups": [
            {
                "name": "buying",
                "weight": 40,
                "measures": [
                    {
                        "name": "order_trend",
                        "weight": 2,
                        "score": "order_frequency_trend >= 0.0 ? 100 : "
                        "(order_frequency_trend >= -1.0 ? 50 : 0)",
                    },
                    {
                        "name": "revenue_growth",
                        "weight": 1,
                        "score": "revenue_yoy >= 0.0 ? 100 : (revenue_yoy >= -0.2 ? 60 : 20)",
                    },
                    {
                        "name": "recency",
                        "weight": 1,
                        "score": "days_since(last_order_date) <= 30 ? 100 : "
                        "(days_since(last_order_date) <= 90 ? 60 : 0)",
                    },
                ],
            },
            {
                "name": "paying",
                "weight": 30,
                "measures": [
                    {
                        "name": "days_late",
                        "weight": 1,
                        "score": "avg_days_late <= 5.0 ? 100 : (avg_days_late <= 30.0 ? 50 : 0)",
                    },
                    {"name": "overdue_90", "weight": 1, "score": "overdue_over_90 > 0.0 ? 0 : 100"},
                    {"name": "within_limit", "weight": 1, "score": "exposure_over_limit ? 0 : 100"},
                ],
            },
            {
                "name": "service",
                "weight": 20,
                "measures": [
                    {
                        "name": "complaints",
                        "weight": 2,
                        "score": "open_quality_complaints == 0 ? 100 : "
                        "(open_quality_complaints == 1 ? 40 : 0)",
                    },
                    {"name": "cases", "weight": 1, "score": "open_service_cases <= 2 ? 100 : 50"},
                ],
            },
            {
                "name": "relationship",
                "weight": 10,
                "measures": [
                    {"name": "visits", "weight": 1, "score": "visits_90d > 0 ? 100 : 40"},
                ],
            },
        ],
    },
    "churn": {
        "bands": {"high": 0.6, "medium": 0.3},
        "factors": [
            {"name": "declining_orders", "weight": 0.35, "when": "order_frequency_trend < 0.0"},
            {"name": "no_recent_order", "weight": 0.3, "when": "days_since(last_order_date) > 90"},
            {"name": "revenue_down", "weight": 0.2, "when": "revenue_yoy < -0.2"},
            {"name": "open_complaints", "weight": 0.15, "when": "open_quality_complaints > 0"},
            {"name": "no_contact", "weight": 0.1, "when": "visits_90d == 0"},
        ],
    },
    "segments": [
        {"name": "at_risk_strategic", "when": 'tier == "strategic" && churn_band == "high"'},
        {"name": "declining", "when": "order_frequency_trend < 0.0 && revenue_yoy < 0.0"},
        {"name": "growing", "when": "order_frequency_trend > 0.0 && revenue_yoy > 0.1"},
        {"name": "late_payer", "when": "avg_days_late > 30.0 || overdue_over_90 > 0.0"},
    ],
    "actions": [
        {
            "name": "complaint_call",
            "priority": 10,
            "text": "quality complaint open 14 days: call the customer",
            "when": "days_since(oldest_open_complaint_date) >= 14",
        },
        {
            "name": "credit_review",
            "priority": 20,
            "text": "exposure over limit: credit review",
            "when": "exposure_over_limit",
        },
        {
            "name": "reactivation_visit",
            "priority": 30,
            "text": "no order for 90 days: reactivation visit",
            "when": "days_since(last_order_date) >= 90",
        },
        {
            "name": "renewal_talk",
            "priority": 40,
            "text": "contract renewal within 90 days: prepare the renewal",
            "when": "contracts_renewal_90d > 0",
        },
    ],
}
