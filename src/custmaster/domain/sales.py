"""Sales history of one customer: month by month for 24 months (per legal entity and per
product group), recency, order frequency and its trend, monetary value, year over year.

Revenue is net: order amounts (and their corrections) less returns. A month is the month
of the business date (order date, return date), whenever the event arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from custmaster.domain.activity import QUANTITY_SCALE, from_units
from custmaster.domain.activity_state import ActivityState

HISTORY_MONTHS = 24

Convert = Callable[[float, str], float]


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_back(as_of: date, count: int = HISTORY_MONTHS) -> list[date]:
    """The ``count`` months ending with ``as_of``'s, oldest first."""
    current = as_of.replace(day=1)
    return [add_months(current, -i) for i in range(count - 1, -1, -1)]


@dataclass
class MonthFigures:
    revenue: float = 0.0
    quantity: float = 0.0
    orders: int = 0
    returns: int = 0
    return_amount: float = 0.0

    def add(self, other: MonthFigures) -> None:
        self.revenue += other.revenue
        self.quantity += other.quantity
        self.orders += other.orders
        self.returns += other.returns
        self.return_amount += other.return_amount


@dataclass
class SalesHistory:
    currency: str
    months: list[date]
    total: dict[date, MonthFigures] = field(default_factory=dict)
    by_entity: dict[str, dict[date, MonthFigures]] = field(default_factory=dict)
    by_product_group: dict[str, dict[date, MonthFigures]] = field(default_factory=dict)
    last_order_date: date | None = None
    _windows: dict[tuple[int, int], MonthFigures] = field(default_factory=dict, repr=False)
    _month_labels: list[str] | None = field(default=None, repr=False)

    def window(self, first: int, last: int) -> MonthFigures:
        """The sum of months ``first`` to ``last`` back (0 is the current month)."""
        cached = self._windows.get((first, last))
        if cached is not None:
            return cached
        out = self._windows[(first, last)] = MonthFigures()
        count = len(self.months)
        for back in range(first, min(last, count - 1) + 1):
            figures = self.total.get(self.months[count - 1 - back])
            if figures is not None:
                out.add(figures)
        return out

    @property
    def revenue_12m(self) -> float:
        return self.window(0, 11).revenue

    @property
    def revenue_prev_12m(self) -> float:
        return self.window(12, 23).revenue

    @property
    def revenue_yoy(self) -> float:
        base = self.revenue_prev_12m
        return self.revenue_12m / base - 1 if base > 0 else 0.0

    @property
    def orders_12m(self) -> int:
        return self.window(0, 11).orders

    @property
    def returns_12m(self) -> int:
        return self.window(0, 11).returns

    @property
    def order_frequency(self) -> float:
        """Orders per month over the last 6 months."""
        return self.window(0, 5).orders / 6

    @property
    def order_frequency_trend(self) -> float:
        """Orders per month of the last 3 months less those of the 3 before."""
        return (self.window(0, 2).orders - self.window(3, 5).orders) / 3

    def _labels(self) -> list[str]:
        """The months as ``YYYY-MM`` (worked out once per history)."""
        if self._month_labels is None:
            self._month_labels = [f"{m.year:04d}-{m.month:02d}" for m in self.months]
        return self._month_labels

    def recency_days(self, as_of: date) -> int | None:
        return None if self.last_order_date is None else (as_of - self.last_order_date).days

    def series(self, figures: dict[date, MonthFigures]) -> list[dict[str, object]]:
        rows = []
        empty = MonthFigures()
        for month, label in zip(self.months, self._labels(), strict=True):
            f = figures.get(month, empty)
            rows.append(
                {
                    "month": label,
                    "revenue": round(f.revenue, 4),
                    "quantity": round(f.quantity, 3),
                    "orders": f.orders,
                    "returns": f.returns,
                }
            )
        return rows

    def as_dict(self, as_of: date) -> dict[str, object]:
        return {
            "currency": self.currency,
            "recency_days": self.recency_days(as_of),
            "last_order_date": self.last_order_date,
            "order_frequency": round(self.order_frequency, 4),
            "order_frequency_trend": round(self.order_frequency_trend, 4),
            "monetary_12m": round(self.revenue_12m, 4),
            "revenue_prev_12m": round(self.revenue_prev_12m, 4),
            "revenue_yoy": round(self.revenue_yoy, 4),
            "orders_12m": self.orders_12m,
            "months": self.series(self.total),
            "by_entity": {e: self.series(f) for e, f in sorted(self.by_entity.items())},
            "by_product_group": {
                g: self.series(f) for g, f in sorted(self.by_product_group.items())
            },
        }


def _slot(table: dict[str, dict[date, MonthFigures]], key: str, month: date) -> MonthFigures:
    return table.setdefault(key, {}).setdefault(month, MonthFigures())


def sales_history(
    states: Iterable[ActivityState],
    entities: Iterable[str] | None,
    as_of: date,
    currency: str,
    convert: Convert,
    *,
    detail: bool = True,
) -> SalesHistory:
    """The history of the given states (one customer, or a parent and its subtree) for
    ``entities`` (None: every entity), amounts converted to ``currency``."""
    wanted = None if entities is None else set(entities)
    months = months_back(as_of)
    first = months[0]
    out = SalesHistory(currency, months)
    for state in states:
        for (entity, month, group, cur), sales in sorted(state.sales.items()):
            if (wanted is not None and entity not in wanted) or not first <= month <= months[-1]:
                continue
            figures = MonthFigures(
                revenue=convert(from_units(sales.amount - sales.return_amount), cur),
                quantity=from_units(sales.quantity - sales.return_quantity, QUANTITY_SCALE),
            )
            out.total.setdefault(month, MonthFigures()).add(figures)
            if detail:
                _slot(out.by_entity, entity, month).add(figures)
                _slot(out.by_product_group, group, month).add(figures)
        for (entity, month), counts in sorted(state.counts.items()):
            if wanted is not None and entity not in wanted:
                continue
            if counts.last_order is not None and counts.last_order <= as_of:
                last = out.last_order_date
                out.last_order_date = max(last, counts.last_order) if last else counts.last_order
            if not first <= month <= months[-1]:
                continue
            figures = MonthFigures(orders=counts.orders, returns=counts.returns)
            out.total.setdefault(month, MonthFigures()).add(figures)
            if detail:
                _slot(out.by_entity, entity, month).add(figures)
    return out
