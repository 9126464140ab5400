"""The profile's read row (migration 0022_profile_wide): one denormalised row per customer
and legal entity (and ``*``) holding what segment queries and the 360 view read -- the
customer's master fields the expression language names, every feature of
``profile_features`` and the scores of ``profile_scores`` -- so that a segment query is a
WHERE over one table and a profile read one indexed lookup.

``profile_features`` and ``profile_scores`` stay the stored truth; this table is derived
from them and the customer's master record:

- the writers of features and scores refresh the rows of the customers they wrote, in the
  same transaction (``persistence/profile_wide.refresh``, called by
  ``SqlProfileRulesRepository.save_scores_of``, which every writer of features calls after
  them: ``services/profile/features.write_rows``), once per batch;
- a database trigger on ``customers`` copies a changed master field to the customer's rows
  (every path that changes a customer -- services, imports, merges -- goes through it);
- a customer's deletion cascades.

Indexes: ``(legal_entity, number)`` (the keyset order of a query's pages), one
single-column index per field selective questions name (``WIDE_INDEXES``), which
PostgreSQL combines with a bitmap AND, and the segment axes ``(industry, tier,
open_quality_complaints)`` of the ``*`` rows (a partial index) for the questions the
issue is about.
"""

from __future__ import annotations

from typing import Any

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
    text,
)
from sqlalchemy.types import TypeEngine

from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.tables import metadata
from custmaster.persistence.tables_profile import feature_column_type
from custmaster.persistence.types import Json, UtcDateTime


def master_column_types() -> dict[str, TypeEngine[Any]]:
    """The master fields copied to the read row (``domain.profile_schema.MASTER_FIELDS``),
    typed as in ``customers``."""
    return {
        "number": String(32),
        "name": String(255),
        "kind": String(16),
        "customer_type": String(16),
        "country": String(2),
        "industry": String(64),
        "customer_group": String(64),
        "account_tier": String(64),
        "relationship_status": String(16),
        "status": String(16),
        "owning_entity": String(64),
        "currency": String(3),
        "payment_terms": String(64),
    }


def score_column_types() -> dict[str, TypeEngine[Any]]:
    """The score columns (as ``profile_scores``, all nullable: a row may be unscored)."""
    return {
        "tier": String(64),
        "health_score": BigInteger(),
        "health_band": String(16),
        "health_trend": BigInteger(),
        "churn_risk": Float(precision=53),
        "churn_band": String(16),
        "segments": Text(),
        "actions": Text(),
        "explanation": Json,
        "rules_version": Integer(),
        "scored_at": UtcDateTime(),
    }


#: the columns with an index of their own (besides ``(legal_entity, number)``, the keyset
#: order): single-column, so that PostgreSQL combines several with a bitmap AND (it does
#: not AND indexes whose conditions overlap, as a shared ``legal_entity`` prefix would)
WIDE_INDEXES: tuple[str, ...] = (
    "tier",
    "industry",
    "country",
    "account_tier",
    "customer_group",
    "health_band",
    "churn_band",
    "open_quality_complaints",
    "revenue_12m",
)

profile_wide = Table(
    "profile_wide",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("legal_entity", String(64), primary_key=True),
    *(Column(n, t) for n, t in master_column_types().items()),
    *(Column(n, feature_column_type(k)) for n, k in PROFILE_FEATURES.items()),
    *(Column(n, t) for n, t in score_column_types().items()),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_profile_wide_number", profile_wide.c.legal_entity, profile_wide.c.number)
#: the segment axes of the rows over every entity (an unscoped user's questions): industry,
#: then tier, then open complaints -- "strategic accounts in automotive with open quality
#: complaints" is one index range instead of a bitmap AND of three large indexes
AXES_WHERE = "legal_entity = '*'"
Index(
    "ix_profile_wide_axes",
    profile_wide.c.industry,
    profile_wide.c.tier,
    profile_wide.c.open_quality_complaints,
    postgresql_where=text(AXES_WHERE),
    sqlite_where=text(AXES_WHERE),
)
for _name in WIDE_INDEXES:
    Index(f"ix_profile_wide_{_name}", profile_wide.c[_name])
