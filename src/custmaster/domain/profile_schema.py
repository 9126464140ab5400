"""What profile rules and segment queries may name: master fields, the profile's features
(``domain/profile.py``) and the scores the rules compute, with their expression types."""

from __future__ import annotations

from collections.abc import Mapping

from custmaster.domain.expressions import Type
from custmaster.domain.profile import PROFILE_FEATURES, FeatureType

_FEATURE_TYPES = {
    FeatureType.INT: Type.INT,
    FeatureType.DOUBLE: Type.DOUBLE,
    FeatureType.BOOL: Type.BOOL,
    FeatureType.STRING: Type.STRING,
    FeatureType.DATE: Type.DATE,
}

#: master fields (columns of ``customers`` of the same name)
MASTER_FIELDS: Mapping[str, Type] = {
    name: Type.STRING
    for name in (
        "name",
        "number",
        "kind",
        "customer_type",
        "country",
        "industry",
        "customer_group",
        "account_tier",
        "relationship_status",
        "status",
        "owning_entity",
        "currency",
        "payment_terms",
    )
}

#: the legal entity of the profile row ("*" for the row over every entity)
ROW_FIELDS: Mapping[str, Type] = {"legal_entity": Type.STRING}

FEATURES: Mapping[str, Type] = {n: _FEATURE_TYPES[k] for n, k in PROFILE_FEATURES.items()}

#: what the rules compute first (tier, health, churn): later rules and queries read them
SCORE_FIELDS: Mapping[str, Type] = {
    "tier": Type.STRING,
    "health_score": Type.INT,
    "health_band": Type.STRING,
    "health_trend": Type.INT,
    "churn_risk": Type.DOUBLE,
    "churn_band": Type.STRING,
}
#: the list-valued outcomes of the last rules (segment membership, next-best actions)
LIST_SCORE_FIELDS: Mapping[str, Type] = {
    "segments": Type.LIST_STRING,
    "actions": Type.LIST_STRING,
}

#: tier, health and churn rules see master fields and features
BASE_SCHEMA: Mapping[str, Type] = {**MASTER_FIELDS, **ROW_FIELDS, **FEATURES}
#: segment and action rules also see the tier, health and churn just computed
DERIVED_SCHEMA: Mapping[str, Type] = {**BASE_SCHEMA, **SCORE_FIELDS}
#: segment queries see everything
QUERY_SCHEMA: Mapping[str, Type] = {**DERIVED_SCHEMA, **LIST_SCORE_FIELDS}

assert not set(MASTER_FIELDS) & set(FEATURES), "a feature shadows a master field"
