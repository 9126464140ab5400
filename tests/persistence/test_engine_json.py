"""``storable_json`` (persistence.engine): ``json.dumps``'s text, refusing a NUL or a lone
surrogate in any string; what it looks closer at is found by one regex scan, the same
texts as the two substring scans it replaced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custmaster.persistence.engine import _SUSPECT, storable_json

VALUES: list[Any] = [
    {"name": "Acme"},
    {"name": "Köln", "street": "Mozartstraße 7"},
    {"name": "\ud55c\uad6d"},  # Hangul: \ud55c is a valid character, not a surrogate
    {"pair": "\U0001f600"},  # a valid surrogate pair in the escaped text
    {"backslash": "\\u0000 is text here", "other": "\\ud"},
    {"upper": "\\uD800"},
    ["\u00e9", 1, None, {"x": ["\u0101"]}],
]


@pytest.mark.parametrize("value", VALUES)
def test_the_scan_finds_what_the_substring_scans_found(value: Any) -> None:
    text = json.dumps(value)
    found = "\\u0000" in text or "\\ud" in text
    assert (_SUSPECT.search(text) is not None) is found
    assert storable_json(value) == text


@pytest.mark.parametrize("bad", ["Nul\x00 Ltd", "Poison \ud800 Ltd", "low \udc00"])
def test_a_nul_or_a_lone_surrogate_is_refused(bad: str) -> None:
    assert _SUSPECT.search(json.dumps({"name": bad})) is not None
    with pytest.raises(ValueError, match="cannot store"):
        storable_json({"name": bad})
