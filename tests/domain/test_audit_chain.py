from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.audit_chain import (
    GENESIS_HASH,
    ChainLink,
    canonical_json,
    entry_hash,
    link,
    verify_chain,
)


class Colour(Enum):
    RED = "red"


def build(contents: list[dict[str, Any]]) -> list[ChainLink]:
    chain: list[ChainLink] = []
    previous = GENESIS_HASH
    for i, content in enumerate(contents, start=1):
        entry = link(i, content, previous)
        chain.append(entry)
        previous = entry.hash
    return chain


def contents(n: int) -> list[dict[str, Any]]:
    return [
        {"seq": i, "actor": f"user{i % 3}", "field": "credit_limit", "after": Decimal(i * 100)}
        for i in range(n)
    ]


def test_genesis_is_64_zeros() -> None:
    assert GENESIS_HASH == "0" * 64


def test_canonical_json_is_sorted_and_compact() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "ü"]}) == '{"a":[true,null,"ü"],"b":1}'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("100.50"), '"100.5"'),
        (Decimal("100"), '"100"'),
        (Decimal("1E+3"), '"1000"'),
        (Decimal("-0.00"), '"0"'),
        (Decimal("0.000001"), '"0.000001"'),
        (date(2026, 1, 2), '"2026-01-02"'),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), '"2026-01-02T03:04:05.000000Z"'),
        (datetime(2026, 1, 2, 3, 4, 5), '"2026-01-02T03:04:05.000000Z"'),
        (
            datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            '"2026-01-02T03:04:05.000000Z"',
        ),
        (UUID("12345678-1234-5678-1234-567812345678"), '"12345678-1234-5678-1234-567812345678"'),
        (Colour.RED, '"red"'),
        ((1, 2), "[1,2]"),
        (frozenset({"b", "a"}), '["a","b"]'),
    ],
)
def test_canonical_values(value: Any, text: str) -> None:
    assert canonical_json(value) == text


def test_decimal_scale_does_not_change_the_hash() -> None:
    a = entry_hash({"x": Decimal("5.00")}, GENESIS_HASH)
    assert a == entry_hash({"x": Decimal("5")}, GENESIS_HASH)


@pytest.mark.parametrize(
    "bad",
    [{1: "int key"}, {"x": b"bytes"}, {"x": float("nan")}, {"x": Decimal("NaN")}, {"x": object()}],
)
def test_non_canonical_content_is_refused(bad: dict[Any, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(bad)


def test_entry_hash_is_sha256_of_previous_and_content() -> None:
    content = {"a": 1}
    expected = hashlib.sha256(f'{GENESIS_HASH}\n{{"a":1}}'.encode()).hexdigest()
    assert entry_hash(content, GENESIS_HASH) == expected
    assert entry_hash(content, "f" * 64) != expected


def test_an_intact_chain_verifies() -> None:
    chain = build(contents(5))
    result = verify_chain(chain)
    assert result.ok and result.checked == 5 and result.first_bad_id is None
    assert result.last_hash == chain[-1].hash
    assert verify_chain(chain, expected_head=chain[-1].hash).ok


def test_an_empty_chain_verifies() -> None:
    result = verify_chain([])
    assert result.ok and result.checked == 0 and result.last_hash == GENESIS_HASH


def test_changed_content_names_the_entry() -> None:
    chain = build(contents(5))
    chain[2] = replace(chain[2], content={**chain[2].content, "after": Decimal(999)})
    result = verify_chain(chain)
    assert not result.ok and result.first_bad_id == "3" and result.checked == 3
    assert result.reason is not None and "content" in result.reason


def test_rehashed_entry_breaks_the_next_link() -> None:
    chain = build(contents(5))
    forged = link(3, {"forged": True}, chain[1].hash)
    chain[2] = forged
    result = verify_chain(chain)
    assert not result.ok and result.first_bad_id == "4"
    assert result.reason is not None and "previous_hash" in result.reason


def test_removed_and_reordered_entries_are_caught() -> None:
    chain = build(contents(5))
    assert verify_chain(chain[:2] + chain[3:]).first_bad_id == "4"
    assert verify_chain([chain[1], chain[0], *chain[2:]]).first_bad_id == "2"


def test_truncated_tail_is_caught_with_the_expected_head() -> None:
    chain = build(contents(5))
    assert verify_chain(chain[:3]).ok
    result = verify_chain(chain[:3], expected_head=chain[-1].hash)
    assert not result.ok and result.first_bad_id == "3"


def test_resuming_from_a_known_hash() -> None:
    chain = build(contents(6))
    assert verify_chain(chain[3:], start_hash=chain[2].hash).ok
    assert not verify_chain(chain[3:]).ok


def test_unhashable_content_is_reported_not_raised() -> None:
    bad = ChainLink(1, {"x": object()}, GENESIS_HASH, "0" * 64)
    result = verify_chain([bad])
    assert not result.ok and result.first_bad_id == "1"


def test_verification_streams() -> None:
    consumed = 0

    def entries() -> Iterator[ChainLink]:
        nonlocal consumed
        previous = GENESIS_HASH
        for i in range(10_000):
            entry = link(i, {"i": i}, previous)
            previous = entry.hash
            consumed += 1
            yield entry if i != 10 else replace(entry, hash="f" * 64)

    result = verify_chain(entries())
    assert result.first_bad_id == "10" and consumed == 11  # stopped at once


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
content_st = st.dictionaries(st.text(max_size=5), json_leaf, max_size=5)


@settings(max_examples=100, deadline=None)
@given(items=st.lists(content_st, min_size=1, max_size=8), data=st.data())
def test_any_single_change_is_detected(items: list[dict[str, Any]], data: st.DataObject) -> None:
    chain = build(items)
    assert verify_chain(chain).ok
    i = data.draw(st.integers(0, len(chain) - 1))
    tampered = {**chain[i].content, "tampered": True}
    chain[i] = replace(chain[i], content=tampered)
    result = verify_chain(chain)
    assert not result.ok and result.first_bad_id == str(i + 1)
