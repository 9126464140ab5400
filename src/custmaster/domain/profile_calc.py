"""The profile features (``domain.profile.PROFILE_FEATURES``) of one customer, computed
from its activity state as of a day: one row per legal entity with activity (amounts in
the entity's currency) and the ``ALL_ENTITIES`` row (amounts in ``REPORTING_CURRENCY``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from custmaster.domain.activity_state import ActivityState
from custmaster.domain.fx import Rates
from custmaster.domain.profile import ALL_ENTITIES, PROFILE_FEATURES, REPORTING_CURRENCY
from custmaster.domain.receivables import Receivables, receivables
from custmaster.domain.sales import SalesHistory, sales_history

RECENT_DAYS = 90
#: relative tolerance when comparing stored and recomputed amounts
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Money:
    """How to express amounts: the rates and each legal entity's currency."""

    rates: Rates
    entity_currency: Mapping[str, str]

    def currency_of(self, entity: str) -> str:
        if entity == ALL_ENTITIES:
            return REPORTING_CURRENCY
        return self.entity_currency.get(entity, REPORTING_CURRENCY)

    def converter(self, target: str) -> Callable[[float, str], float]:
        return lambda amount, currency: self.rates.convert(amount, currency, target)


def scope_entities(state_entities: Iterable[str], entity: str) -> list[str] | None:
    """The entities whose figures make the row of ``entity`` (None: all)."""
    return None if entity == ALL_ENTITIES else [entity]


def entity_receivables(
    state: ActivityState,
    entities: list[str],
    as_of: date,
    currency: str,
    money: Money,
    credit_limits: Mapping[str, float],
) -> Receivables:
    convert = money.converter(currency)
    limit = sum(
        money.rates.convert(credit_limits.get(e, 0.0), money.currency_of(e), currency)
        for e in entities
    )
    return receivables(state, entities, as_of, currency, convert, limit)


def entity_sales(
    states: Iterable[ActivityState],
    entities: list[str] | None,
    as_of: date,
    currency: str,
    money: Money,
) -> SalesHistory:
    return sales_history(states, entities, as_of, currency, money.converter(currency), detail=False)


def features_row(
    state: ActivityState,
    entities: list[str],
    currency: str,
    as_of: date,
    money: Money,
    credit_limits: Mapping[str, float],
) -> dict[str, Any]:
    """The features over ``entities`` in ``currency``."""
    sales = entity_sales([state], entities, as_of, currency, money)
    ar = entity_receivables(state, entities, as_of, currency, money, credit_limits)
    wanted = set(entities)
    open_cases = [c for (e, _), c in state.cases.items() if e in wanted and c.is_open]
    complaints = [c for c in open_cases if c.kind == "complaint"]
    oldest = min((c.since for c in complaints if c.since is not None), default=None)
    recent = as_of - timedelta(days=RECENT_DAYS)
    visits = sum(
        t.count for (e, day, _), t in state.touches.items() if e in wanted and recent < day <= as_of
    )
    renewals = 0
    for (e, _), register in state.contracts.items():
        renewal = register.value[2] if register.value else None
        if e in wanted and renewal is not None and as_of <= renewal <= as_of + timedelta(days=90):
            renewals += 1
    row: dict[str, Any] = {
        "revenue_12m": sales.revenue_12m,
        "revenue_prev_12m": sales.revenue_prev_12m,
        "revenue_yoy": sales.revenue_yoy,
        "orders_12m": sales.orders_12m,
        "order_frequency": sales.order_frequency,
        "order_frequency_trend": sales.order_frequency_trend,
        "last_order_date": sales.last_order_date,
        "returns_12m": sales.returns_12m,
        "open_items_amount": ar.open_items_amount,
        "overdue_amount": ar.overdue_amount,
        "overdue_over_90": ar.overdue_over_90,
        "dso": ar.dso,
        "avg_days_late": ar.avg_days_late,
        "credit_limit": ar.credit_limit,
        "credit_exposure": ar.credit_exposure,
        "exposure_over_limit": ar.exposure_over_limit,
        "open_service_cases": sum(1 for c in open_cases if c.kind == "service"),
        "open_quality_complaints": len(complaints),
        "oldest_open_complaint_date": oldest,
        "visits_90d": visits,
        "contracts_renewal_90d": renewals,
    }
    assert set(row) == set(PROFILE_FEATURES), "every feature of the contract is computed"
    return row


def profile_rows(
    state: ActivityState, as_of: date, money: Money, credit_limits: Mapping[str, float]
) -> dict[str, dict[str, Any]]:
    """legal entity -> features, for every entity with activity and ``ALL_ENTITIES``."""
    entities = sorted(state.entities())
    rows = {
        e: features_row(state, [e], money.currency_of(e), as_of, money, credit_limits)
        for e in entities
    }
    rows[ALL_ENTITIES] = features_row(
        state, entities, REPORTING_CURRENCY, as_of, money, credit_limits
    )
    return rows


def same_features(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The features whose values differ (floats within a relative tolerance)."""
    differ = []
    for name in PROFILE_FEATURES:
        x, y = a.get(name), b.get(name)
        if isinstance(x, float) or isinstance(y, float):
            fx, fy = float(x or 0.0), float(y or 0.0)
            if abs(fx - fy) > TOLERANCE * max(1.0, abs(fx), abs(fy)):
                differ.append(name)
        elif x != y:
            differ.append(name)
    return differ
