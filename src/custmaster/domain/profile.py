"""The living profile's schema: the named, typed features that activity keeps current and
that rules and segment queries read.

This module is the contract between the profile's writers (activity intake, aggregates,
rebuild: ``services/profile/``) and its readers (the expression language, rules, scores and
segment queries). A feature is one column of ``profile_features`` (``persistence/
tables_profile.py``), one row per customer and legal entity, plus the row of legal entity
``ALL_ENTITIES`` holding the customer's figures over every entity.

Amounts are in the legal entity's currency on an entity's row and in ``REPORTING_CURRENCY``
on the ``ALL_ENTITIES`` row. Dates are calendar dates (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

#: the legal entity code of the row that holds a customer's figures over every entity
ALL_ENTITIES = "*"
#: the currency of the amounts on the ``ALL_ENTITIES`` row
REPORTING_CURRENCY = "EUR"


class FeatureType(StrEnum):
    INT = "int"
    DOUBLE = "double"
    BOOL = "bool"
    STRING = "string"
    DATE = "date"


#: every feature of a profile row, in column order; a new feature needs a migration
PROFILE_FEATURES: Mapping[str, FeatureType] = {
    # sales history (orders, returns)
    "revenue_12m": FeatureType.DOUBLE,  # net order value of the last 12 months
    "revenue_prev_12m": FeatureType.DOUBLE,  # the 12 months before those
    "revenue_yoy": FeatureType.DOUBLE,  # revenue_12m / revenue_prev_12m - 1 (0 when no base)
    "orders_12m": FeatureType.INT,
    "order_frequency": FeatureType.DOUBLE,  # orders per month over the last 6 months
    "order_frequency_trend": FeatureType.DOUBLE,  # orders/month last 3 months - previous 3
    "last_order_date": FeatureType.DATE,
    "returns_12m": FeatureType.INT,
    # receivables
    "open_items_amount": FeatureType.DOUBLE,
    "overdue_amount": FeatureType.DOUBLE,
    "overdue_over_90": FeatureType.DOUBLE,
    "dso": FeatureType.DOUBLE,  # days sales outstanding
    "avg_days_late": FeatureType.DOUBLE,  # of the payments of the last 12 months
    "credit_limit": FeatureType.DOUBLE,  # the effective credit limit (0 when none)
    "credit_exposure": FeatureType.DOUBLE,  # open items + open orders not yet invoiced
    "exposure_over_limit": FeatureType.BOOL,
    # service and quality
    "open_service_cases": FeatureType.INT,
    "open_quality_complaints": FeatureType.INT,
    "oldest_open_complaint_date": FeatureType.DATE,
    # relationship
    "visits_90d": FeatureType.INT,  # visits and calls of the last 90 days
    "contracts_renewal_90d": FeatureType.INT,  # contracts whose renewal date is within 90 days
}
