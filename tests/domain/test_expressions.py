"""The expression language: parsing and type errors with their positions, and evaluation
with missing values (three-valued logic, as SQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from custmaster.domain.expressions import ExpressionError, Type, check, compile_tree, holds
from custmaster.domain.profile_schema import QUERY_SCHEMA

TODAY = date(2026, 12, 6)
QUESTION = (
    'tier == "strategic" && industry == "automotive" && order_frequency_trend < 0 '
    "&& open_quality_complaints > 0"
)


def run(source: str, **values: Any) -> Any:
    return compile_tree(check(source, QUERY_SCHEMA))(values, TODAY)


def error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        check(source, QUERY_SCHEMA, Type.BOOL)
    return caught.value


def test_the_seed_question_checks_and_evaluates() -> None:
    tree = compile_tree(check(QUESTION, QUERY_SCHEMA, Type.BOOL))
    row = {
        "tier": "strategic",
        "industry": "automotive",
        "order_frequency_trend": -0.5,
        "open_quality_complaints": 2,
    }
    assert holds(tree, row, TODAY)
    assert not holds(tree, {**row, "open_quality_complaints": 0}, TODAY)
    assert not holds(tree, {**row, "order_frequency_trend": None}, TODAY)


@pytest.mark.parametrize(
    ("source", "offset", "needle"),
    [
        ("revenue_12m > 'x'", 14, "orders numbers or dates"),
        ('tier == "a" && revenue_12m + "x" > 1', 29, "needs numbers"),
        ("open_quality_complaints > 0 && revenu_12m > 1", 31, "did you mean revenue_12m"),
        ("tier ==", 7, "unexpected end"),
        ("name.startsWith(1)", 16, "takes a string"),
        ("revenue_12m / 0 > 1", 14, "non-zero"),
        ("tier in []", 8, "empty list"),
        ("a < b < c", 6, "do not chain"),
        ('"unterminated', 0, "unterminated"),
        ("revenue_12m", 0, "must be a bool"),
        ('last_order_date < date("2026-13-01")', 23, "not a date"),
        ("tier == 'a' ? 1 : 'b'", 18, "one type"),
        ("name < 'b'", 0, "orders numbers or dates"),
        ("segments == 'a'", 12, "cannot compare"),
        ("1 in segments && 'x' in tier", 0, "never in"),
    ],
)
def test_errors_name_their_position(source: str, offset: int, needle: str) -> None:
    found = error(source)
    assert found.offset == offset, found.detail
    assert needle in found.detail
    assert found.errors[0].as_dict()["column"] == offset + 1


def test_the_position_has_a_line_and_a_column() -> None:
    found = error('tier == "strategic"\n  && revenue_12m > "x"')
    assert (found.line, found.column) == (2, 20)


def test_missing_values_follow_sql() -> None:
    assert run("revenue_12m > 1.0") is None
    assert run("revenue_12m > 1.0 && false") is False
    assert run("revenue_12m > 1.0 || true") is True
    assert run("!(revenue_12m > 1.0)") is None
    assert run("revenue_12m > 1.0 ? 1 : 2") == 2
    assert run("size(name)") is None
    assert run("tier in ['a', 'b']") is None
    assert run("'declining' in segments", segments=["declining"]) is True
    assert run("'x' in segments", segments=[]) is False


def test_numbers_mix_and_divide_as_doubles() -> None:
    assert run("orders_12m / 2 == 1.5", orders_12m=3) is True
    assert run("orders_12m * 2 + 1", orders_12m=3) == 7
    assert run("orders_12m + 0.5", orders_12m=3) == 3.5
    assert run("orders_12m in [1, 3]", orders_12m=3) is True
    assert run("revenue_12m in [1, 3]", revenue_12m=3.0) is True


def test_strings_and_dates() -> None:
    assert (
        run("name.startsWith('Ac') && name.endsWith('me') && name.contains('cm')", name="Acme")
        is True
    )
    assert run("size(name)", name="Zoë") == 3
    assert run("days_since(last_order_date)", last_order_date=date(2026, 9, 7)) == 90
    assert run('last_order_date < date("2026-01-01")', last_order_date=date(2025, 5, 1)) is True


def test_limits() -> None:
    assert "longer than" in error("1 == 1 && " * 500 + "true").detail
    assert "deeper" in error("(" * 70 + "true" + ")" * 70).detail
