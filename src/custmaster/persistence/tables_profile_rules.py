"""Profile rules, scores, saved segments and affinity (migration 0017_profile_rules).

- ``profile_rule_sets``: every version of the rule set; the highest version is active
  (a new version lands when its change request is approved).
- ``profile_scores``: one row per profile row (customer, legal entity or ``*``): what the
  active rules computed. ``segments`` and ``actions`` are stored as ``|a|b|`` so that a
  segment query tests membership with one string search on both databases.
- ``segments``: saved segment queries.
- ``customer_affinity``: the affinity batch's result, per customer and kind
  (``over``: bought more than expected; ``similar``: bought by customers like it).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, UtcDateTime

profile_rule_sets = Table(
    "profile_rule_sets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("definition", Json, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("change_request_id", Uuid),
    Column("created_at", UtcDateTime(), nullable=False),
)

profile_scores = Table(
    "profile_scores",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("legal_entity", String(64), primary_key=True),
    Column("tier", String(64), nullable=False),
    Column("health_score", BigInteger),
    Column("health_band", String(16)),
    Column("health_trend", BigInteger),
    Column("churn_risk", Float(precision=53), nullable=False),
    Column("churn_band", String(16), nullable=False),
    Column("segments", Text, nullable=False),
    Column("actions", Text, nullable=False),
    Column("explanation", Json, nullable=False),
    Column("rules_version", Integer, nullable=False),
    Column("scored_at", UtcDateTime(), nullable=False),
)
Index("ix_profile_scores_tier", profile_scores.c.legal_entity, profile_scores.c.tier)

segments = Table(
    "segments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("description", Text),
    Column("expression", Text, nullable=False),
    Column("entity", String(64)),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

customer_affinity = Table(
    "customer_affinity",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("product", String(128), nullable=False),
    Column("product_group", String(128)),
    Column("score", Float(precision=53), nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
)
