"""Tests of custmaster.domain.contacts: the sellable rule."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.domain.contacts import ContactState, mark_participation, merge_states
from custmaster.domain.errors import ValidationFailed

T1 = datetime(2026, 3, 1, 9, 0)
T2 = datetime(2026, 5, 1, 9, 0)


def test_quote_or_order_makes_a_contact_sellable() -> None:
    for kind in ("quote", "order", " Order "):
        state = mark_participation(ContactState(), kind, T1)
        assert state == ContactState(True, T1, kind.strip().lower())


def test_other_events_do_not_flip_it_and_return_the_same_state() -> None:
    start = ContactState()
    for kind in ("service_case", "invoice", "visit", "newsletter"):
        assert mark_participation(start, kind, T1) is start


def test_sellable_never_flips_back_and_keeps_its_first_date() -> None:
    sellable = mark_participation(ContactState(), "quote", T1)
    assert mark_participation(sellable, "order", T2) is sellable
    assert mark_participation(sellable, "complaint", T2) is sellable


def test_custom_kinds_and_empty_kind() -> None:
    assert mark_participation(ContactState(), "contract", sellable_kinds={"contract"}).sellable
    with pytest.raises(ValidationFailed) as exc:
        mark_participation(ContactState(), " ")
    assert [(e.field, e.code) for e in exc.value.errors] == [("event_kind", "required")]


def test_merge_keeps_sellable_and_the_earliest_date() -> None:
    early, late = ContactState(True, T1, "quote"), ContactState(True, T2, "order")
    assert merge_states(late, early) == early
    assert merge_states(ContactState(), late) == late
    assert merge_states(ContactState(), ContactState()) == ContactState()
    undated = ContactState(True)
    assert merge_states(undated, ContactState()) == undated


@given(st.lists(st.sampled_from(["quote", "order", "visit", "case", "invoice"]), max_size=20))
def test_sellable_is_monotonic(events: list[str]) -> None:
    state = ContactState()
    seen_sellable_event = False
    for kind in events:
        was = state.sellable
        state = mark_participation(state, kind)
        seen_sellable_event = seen_sellable_event or kind in ("quote", "order")
        assert state.sellable >= was
        assert state.sellable == seen_sellable_event
