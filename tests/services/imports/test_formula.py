"""Tests for custmaster.services.imports.formula."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.services.imports.formula import neutralise_cell, unneutralise_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1 415 555 0100", "'+1 415 555 0100"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Acme", "Acme"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_cell(value: str, expected: str) -> None:
    assert neutralise_cell(value) == expected


@given(st.text())
def test_round_trip(value: str) -> None:
    safe = neutralise_cell(value)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralise_cell(safe) == value or value.startswith("'")
