"""Property: scoring in the database (``persistence/profile_scoring_sql.py``, PostgreSQL,
what the set-based rebuild writes) gives exactly what ``scoring.score_customers`` gives in
Python: the same ``profile_scores`` rows (explanations compared as stored JSON text, the
trend and the measures that moved against the previous score included) and the same
``scores_changed`` events, in the same order, but their ids and times -- for random
profiles (missing values, several legal entities, previous scores with and without an
explanation, customers without rows) under the shipped rules and a rule set of continuous
measures."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, text

from custmaster.bootstrap import Container
from custmaster.domain.profile_rules import parse_rule_set
from custmaster.domain.profile_rules_default import DEFAULT_RULES
from custmaster.domain.profile_schema import FEATURES
from custmaster.persistence.profile_scoring_sql import ScoringRun
from custmaster.persistence.tables_profile_rules import profile_rule_sets
from custmaster.services.profile.scoring import score_customers
from tests.persistence.test_expression_sql_property import TODAY, VALUES, random_world, store

CONTINUOUS: dict[str, Any] = {
    "tiers": [
        {"tier": "big", "when": 'revenue_12m > 0.1 && legal_entity == "*"'},
        {"tier": "mid", "when": 'orders_12m >= 1 || account_tier == "key"'},
    ],
    "default_tier": "small",
    "health": {
        "bands": {"yellow_from": 40, "green_from": 70},
        "groups": [
            {
                "name": "buying",
                "weight": 3,
                "measures": [
                    {"name": "yoy", "weight": 1.5, "score": "revenue_yoy * 100.0"},
                    {"name": "recency", "weight": 1, "score": "100 - days_since(last_order_date)"},
                    {"name": "orders", "weight": 0.5, "score": "orders_12m / 3"},
                ],
            },
            {
                "name": "paying",
                "weight": 1.25,
                "measures": [
                    {"name": "late", "weight": 2, "score": "100.0 - avg_days_late * 2.5"},
                    {"name": "zero", "weight": 0, "score": "dso"},
                ],
            },
            {"name": "idle", "weight": 0, "measures": [{"name": "x", "weight": 1, "score": "1"}]},
        ],
    },
    "churn": {
        "bands": {"high": 0.6, "medium": 0.3},
        "factors": [
            {"name": "a", "weight": 0.1, "when": "order_frequency_trend < 0.0"},
            {"name": "b", "weight": 0.2, "when": "exposure_over_limit"},
            {"name": "c", "weight": 0.3, "when": "open_quality_complaints > 0"},
            {"name": "d", "weight": 0.7, "when": "!(visits_90d > 0)"},
        ],
    },
    "segments": [
        {"name": "falling", "when": "health_trend < 0"},
        {"name": "risky", "when": 'churn_risk >= 0.3 && tier != "small"'},
        {"name": "unscored", "when": 'health_score == 0 || health_band == "red"'},
    ],
    "actions": [
        {"name": "zz_call", "priority": 5, "text": "call", "when": 'churn_band == "high"'},
        {"name": "aa_call", "priority": 5, "text": "call too", "when": "health_trend > 3"},
        {"name": "visit", "priority": 1, "text": "visit", "when": 'tier == "big"'},
    ],
}
NOW = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)


def _scores(connection: Connection) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in connection.execute(
            text(
                "SELECT customer_id, legal_entity, tier, health_score, health_band, "
                "health_trend, churn_risk, churn_band, segments, actions, explanation::text, "
                "rules_version FROM profile_scores ORDER BY customer_id, legal_entity"
            )
        )
    ]


def _reshuffle(container: Container, rng: random.Random) -> None:
    """New feature values on about half the rows (the previous scores stay)."""
    with container.engine.begin() as connection:
        rows = connection.execute(
            text("SELECT customer_id, legal_entity FROM profile_features")
        ).all()
        for customer_id, entity in rows:
            if rng.random() < 0.5:
                values = {n: rng.choice(VALUES[t]) for n, t in FEATURES.items()}
                sets = ", ".join(f"{n} = :{n}" for n in values)
                connection.execute(
                    text(
                        f"UPDATE profile_features SET {sets} "
                        "WHERE customer_id = :c AND legal_entity = :e"
                    ),
                    {**values, "c": customer_id, "e": entity},
                )


@given(seed=st.integers(min_value=0, max_value=10**9), continuous=st.booleans())
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_sql_scoring_equals_score_customers(
    container: Container, seed: int, continuous: bool
) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("scoring in SQL is PostgreSQL's (SQLite scores in Python)")
    rng = random.Random(seed)
    world = random_world(rng, 14)
    store(container, world)  # rows with stored scores whose explanation is {}
    definition = CONTINUOUS if continuous else DEFAULT_RULES
    rules = parse_rule_set(definition)
    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM profile_rule_sets WHERE version = 99"))
        connection.execute(
            insert(profile_rule_sets).values(
                version=99, definition=definition, created_by="test", created_at=NOW
            )
        )
    ids: list[UUID] = [c["id"] for c in world]
    if rng.random() < 0.6:  # previous scores with real explanations, then new features
        with container.uow() as uow:
            score_customers(uow, rng.sample(ids, 10), TODAY)
        _reshuffle(container, rng)
    with container.engine.connect() as connection, connection.begin():
        before = connection.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
        connection.execute(text("CREATE TEMPORARY TABLE t_batch (customer_id uuid)"))
        connection.execute(
            text("INSERT INTO t_batch SELECT unnest(CAST(:ids AS uuid[]))"), {"ids": ids}
        )
        count = ScoringRun(connection, "t_sc", "t_batch", rules, 99, TODAY).run(NOW)
        got = _scores(connection)
        outbox = connection.execute(
            text("SELECT type, subject, time, envelope FROM outbox WHERE id > :b ORDER BY id"),
            {"b": before},
        ).all()
        connection.rollback()
    with container.uow() as uow:
        events = score_customers(uow, ids, TODAY)
    with container.engine.connect() as connection:
        want = _scores(connection)
    assert got == want
    assert count == len(events) == len(outbox)
    for row, event in zip(outbox, events, strict=True):
        mine, theirs = dict(row.envelope), event.envelope()
        assert (row.type, row.subject, row.time) == (event.type, event.subject, NOW)
        assert mine.pop("time") == NOW.isoformat()
        assert UUID(mine.pop("id")) and theirs.pop("id") and theirs.pop("time")
        assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)
