"""The living profile's features (migration 0015): one row per customer and legal entity,
plus the row of legal entity ``ALL_ENTITIES`` ("*") with the customer's figures over every
entity. The columns are generated from ``domain.profile.PROFILE_FEATURES``, the contract
between the profile's writers (activity intake, rebuild) and its readers (rules, segment
queries); migration 0015 creates the same columns from the same mapping.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    String,
    Table,
    Uuid,
)
from sqlalchemy.types import TypeEngine

from custmaster.domain.profile import PROFILE_FEATURES, FeatureType
from custmaster.persistence.tables import metadata
from custmaster.persistence.types import UtcDateTime


def feature_column_type(kind: FeatureType) -> TypeEngine[Any]:
    """The column type of a feature of ``kind`` (the same on SQLite and PostgreSQL)."""
    types: dict[FeatureType, TypeEngine[Any]] = {
        FeatureType.INT: BigInteger(),
        FeatureType.DOUBLE: Float(precision=53),
        FeatureType.BOOL: Boolean(),
        FeatureType.STRING: String(255),
        FeatureType.DATE: Date(),
    }
    return types[kind]


profile_features = Table(
    "profile_features",
    metadata,
    Column(
        "customer_id",
        Uuid,
        ForeignKey("customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("legal_entity", String(64), primary_key=True),
    *(Column(name, feature_column_type(kind)) for name, kind in PROFILE_FEATURES.items()),
    Column("updated_at", UtcDateTime(), nullable=False),
)
