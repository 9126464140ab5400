"""KPI sets: named, ordered KPI definitions, read measures and calculated ones, at a
granularity of month, quarter or year; evaluated over one or several (a parent and its
subtree) customers' activity.

A calculated KPI is arithmetic (``+ - * /``, parentheses, numbers) over measure names,
checked when the set is loaded (:func:`check_formula`) and evaluated per period on the
period's summed measures; a division by zero gives ``None``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from custmaster.domain.activity import AMOUNT_SCALE, QUANTITY_SCALE
from custmaster.domain.activity_state import ActivityState
from custmaster.domain.sales import add_months

MEASURES = ("revenue", "quantity", "orders", "returns", "return_amount", "visits")
GRANULARITIES = ("month", "quarter", "year")
#: customer group key of the set every customer without a set of its own gets
DEFAULT_GROUP = "*"


Convert = Callable[[float, str], float]


class KpiError(ValueError):
    pass


_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
    ast.Constant,
    ast.Name,
    ast.Load,
)


def check_formula(formula: str) -> ast.Expression:
    """Parse a calculated KPI's formula; ``KpiError`` with the position of a problem."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise KpiError(f"formula {formula!r}: syntax error at column {exc.offset}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            col = getattr(node, "col_offset", 0) + 1
            raise KpiError(
                f"formula {formula!r}: {type(node).__name__} not allowed at column {col}"
            )
        if isinstance(node, ast.Name) and node.id not in MEASURES:
            raise KpiError(
                f"formula {formula!r}: unknown measure {node.id!r} at column "
                f"{node.col_offset + 1} (measures: {', '.join(MEASURES)})"
            )
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float)
        ):
            raise KpiError(f"formula {formula!r}: only numbers are constants")
    return tree


@functools.lru_cache(maxsize=1024)
def _compiled(formula: str) -> ast.Expression:
    """A formula checked and parsed once per process (a KPI set's formulas are checked
    when it is loaded; a read evaluates the tree only)."""
    return check_formula(formula)


def _evaluate(node: ast.AST, values: Mapping[str, float]) -> float | None:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        return values.get(node.id, 0.0)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return None if right == 0 else left / right
    raise KpiError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    name: str
    granularity: str
    periods: int
    measure: str | None = None
    formula: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise KpiError(f"KPI {self.name}: granularity one of {', '.join(GRANULARITIES)}")
        if (self.measure is None) == (self.formula is None):
            raise KpiError(f"KPI {self.name}: give either a measure or a formula")
        if self.measure is not None and self.measure not in MEASURES:
            raise KpiError(f"KPI {self.name}: unknown measure {self.measure!r}")
        if self.formula is not None:
            check_formula(self.formula)
        if not 1 <= self.periods <= 36:
            raise KpiError(f"KPI {self.name}: periods from 1 to 36")


@dataclass(frozen=True, slots=True)
class KpiSet:
    name: str
    customer_groups: tuple[str, ...]
    kpis: tuple[KpiDefinition, ...]


def period_of(day: date, granularity: str) -> str:
    if granularity == "month":
        return f"{day.year}-{day.month:02d}"
    if granularity == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def periods_back(as_of: date, granularity: str, count: int) -> list[str]:
    step = {"month": 1, "quarter": 3, "year": 12}[granularity]
    first = as_of.replace(day=1)
    return [period_of(add_months(first, -step * i), granularity) for i in range(count - 1, -1, -1)]


def measures_by_period(
    states: Iterable[ActivityState],
    entities: set[str] | None,
    granularity: str,
    convert: Convert,
) -> dict[str, dict[str, float]]:
    """period -> measure -> value, summed over ``states`` for ``entities`` (None: all)."""
    out: dict[str, dict[str, float]] = {}
    periods: dict[date, str] = {}  # a day's (a month's) period, worked out once

    def slot(day: date) -> dict[str, float]:
        period = periods.get(day)
        if period is None:
            period = periods[day] = period_of(day, granularity)
        found = out.get(period)
        if found is None:
            found = out[period] = dict.fromkeys(MEASURES, 0.0)
        return found

    for state in states:
        for (entity, month, _, currency), sales in sorted(state.sales.items()):
            if entities is None or entity in entities:
                measures = slot(month)
                measures["revenue"] += convert(
                    (sales.amount - sales.return_amount) / AMOUNT_SCALE, currency
                )
                measures["return_amount"] += convert(sales.return_amount / AMOUNT_SCALE, currency)
                measures["quantity"] += (sales.quantity - sales.return_quantity) / QUANTITY_SCALE
        for (entity, month), counts in sorted(state.counts.items()):
            if entities is None or entity in entities:
                measures = slot(month)
                measures["orders"] += counts.orders
                measures["returns"] += counts.returns
        for (entity, day, _), touches in sorted(state.touches.items()):
            if entities is None or entity in entities:
                slot(day)["visits"] += touches.count
    return out


def evaluate_set(
    kpi_set: KpiSet,
    states: Sequence[ActivityState],
    entities: set[str] | None,
    as_of: date,
    convert: Convert,
) -> list[dict[str, object]]:
    """Each KPI of the set, in order, with its value per period (oldest first)."""
    cache: dict[str, dict[str, dict[str, float]]] = {}
    results: list[dict[str, object]] = []
    for kpi in kpi_set.kpis:
        if kpi.granularity not in cache:
            cache[kpi.granularity] = measures_by_period(states, entities, kpi.granularity, convert)
        table = cache[kpi.granularity]
        tree = _compiled(kpi.formula) if kpi.formula else None
        values = []
        for period in periods_back(as_of, kpi.granularity, kpi.periods):
            measures = table.get(period, dict.fromkeys(MEASURES, 0.0))
            value = _evaluate(tree, measures) if tree is not None else measures[kpi.measure or ""]
            values.append({"period": period, "value": None if value is None else round(value, 4)})
        results.append(
            {
                "name": kpi.name,
                "label": kpi.label or kpi.name,
                "kind": "calculated" if kpi.formula else "measure",
                "measure": kpi.measure,
                "formula": kpi.formula,
                "granularity": kpi.granularity,
                "values": values,
            }
        )
    return results


def set_for(sets: Sequence[KpiSet], customer_group: str | None) -> KpiSet | None:
    """The set assigned to ``customer_group``, else the default set (group ``*``)."""
    for kpi_set in sets:
        if customer_group is not None and customer_group in kpi_set.customer_groups:
            return kpi_set
    for kpi_set in sets:
        if DEFAULT_GROUP in kpi_set.customer_groups:
            return kpi_set
    return None
