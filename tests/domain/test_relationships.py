"""Tests of custmaster.domain.relationships: typed, dated customer relationships."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.errors import NotFound, ValidationFailed
from custmaster.domain.relationships import (
    BUILTIN_RELATIONSHIP_TYPES,
    Relationship,
    RelationshipBook,
    RelationshipType,
    RelationshipTypeRegistry,
    validate_relationships,
)

D0 = date(2026, 1, 1)


def d(days: int) -> date:
    return D0 + timedelta(days=days)


def rel(
    related: str,
    rel_type: str = "bill_to",
    start: int = 0,
    end: int | None = None,
    primary: bool = False,
    customer: str = "c",
) -> Relationship[str]:
    return Relationship(customer, related, rel_type, d(start), d(end) if end else None, primary)


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def test_builtin_types_and_run_time_registration() -> None:
    registry = RelationshipTypeRegistry()
    assert set(BUILTIN_RELATIONSHIP_TYPES) <= registry.codes()
    assert {"bill_to", "ship_to", "payer", "sold_to"} <= registry.codes()
    created = registry.register("franchisor", "Franchisor")
    assert created == RelationshipType("franchisor", "Franchisor")
    assert "franchisor" in registry
    assert registry.get("bill_to").builtin
    with pytest.raises(NotFound):
        registry.get("nope")
    with pytest.raises(ValidationFailed) as exc:
        registry.register("franchisor")
    assert codes(exc) == [("code", "duplicate")]
    with pytest.raises(ValidationFailed) as exc:
        registry.register("Bad Code", " ")
    assert codes(exc) == [("code", "invalid_format"), ("name", "required")]
    seeded = RelationshipTypeRegistry([RelationshipType("agent", "Agent")])
    assert "agent" in seeded and len(list(seeded)) == len(BUILTIN_RELATIONSHIP_TYPES) + 1


def test_single_relationship_rules_name_the_field() -> None:
    book: RelationshipBook[str] = RelationshipBook()
    with pytest.raises(ValidationFailed) as exc:
        book.add(Relationship("c", "c", "franchisor", d(5), d(5)))
    assert codes(exc) == [
        ("relationship_type", "unknown_relationship_type"),
        ("related_id", "self_relationship"),
        ("valid_to", "invalid_period"),
    ]


def test_many_of_a_type_but_one_primary_at_a_time() -> None:
    book: RelationshipBook[str] = RelationshipBook()
    book.add(rel("s1", "ship_to", primary=True, end=10))
    book.add(rel("s2", "ship_to"))
    book.add(rel("s3", "ship_to"))
    book.add(rel("b1", "bill_to", primary=True))  # another type: its own primary
    with pytest.raises(ValidationFailed) as exc:
        book.add(rel("s4", "ship_to", start=9, primary=True))
    assert codes(exc) == [("is_primary", "primary_overlap")]
    assert "s1" in exc.value.errors[0].message
    book.add(rel("s4", "ship_to", start=10, primary=True))
    assert book.primary("c", "ship_to", d(9)) == "s1"
    assert book.primary("c", "ship_to", d(10)) == "s4"
    assert book.primary("c", "payer", d(10)) is None
    assert [r.related_id for r in book.of("c", d(10), "ship_to")] == ["s4", "s2", "s3"]
    assert len(book.of("c", d(10))) == 4


def test_duplicate_overlapping_relationship_is_refused() -> None:
    book: RelationshipBook[str] = RelationshipBook()
    book.add(rel("p", "payer", end=10))
    with pytest.raises(ValidationFailed) as exc:
        book.add(rel("p", "payer", start=5))
    assert codes(exc) == [("valid_from", "duplicate_relationship")]
    book.add(rel("p", "payer", start=10))
    assert [r.valid_from for r in book.history("c")] == [d(0), d(10)]


def test_user_defined_type_can_be_used_once_registered() -> None:
    registry = RelationshipTypeRegistry()
    registry.register("franchisor")
    book: RelationshipBook[str] = RelationshipBook(registry)
    book.add(rel("f", "franchisor", primary=True))
    assert book.primary("c", "franchisor", d(0)) == "f"


def test_end_and_remove() -> None:
    book: RelationshipBook[str] = RelationshipBook()
    first = rel("a", primary=True)
    book.add(first)
    ended = book.end(first, d(30))
    assert ended.valid_to == d(30)
    book.add(rel("b", start=30, primary=True))
    with pytest.raises(ValidationFailed) as exc:
        book.end(ended, d(40))
    assert codes(exc) == [("valid_to", "extends_period")]
    with pytest.raises(ValidationFailed):
        book.end(ended, d(0))
    with pytest.raises(NotFound):
        book.end(first, d(20))
    book.remove(ended)
    assert book.primary("c", "bill_to", d(5)) is None
    with pytest.raises(NotFound):
        book.remove(ended)


def test_validate_a_list_reports_items_by_position() -> None:
    registry = RelationshipTypeRegistry()
    errors = validate_relationships(
        [rel("a", primary=True), rel("b", primary=True, start=3), rel("c")], registry
    )
    assert [(e.field, e.code) for e in errors] == [
        ("relationships[1].is_primary", "primary_overlap"),
        ("relationships[2].related_id", "self_relationship"),
    ]
    with pytest.raises(ValidationFailed):
        RelationshipBook.from_relationships([rel("a", primary=True), rel("b", primary=True)])
    book = RelationshipBook.from_relationships([rel("a", primary=True), rel("b")])
    assert len(list(book)) == 2


@st.composite
def rel_st(draw: st.DrawFn) -> Relationship[str]:
    start = draw(st.integers(0, 8))
    end = draw(st.one_of(st.none(), st.integers(start + 1, 10)))
    return rel(
        draw(st.sampled_from("abcd")),
        draw(st.sampled_from(["bill_to", "ship_to"])),
        start,
        end,
        draw(st.booleans()),
        customer=draw(st.sampled_from("xy")),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(rel_st(), max_size=15))
def test_at_most_one_primary_per_type_on_any_date(candidates: list[Relationship[str]]) -> None:
    book: RelationshipBook[str] = RelationshipBook()
    for candidate in candidates:
        with contextlib.suppress(ValidationFailed):
            book.add(candidate)
    stored = list(book)
    assert not validate_relationships(stored, book.registry)
    for day in range(-1, 12):
        for customer in "xy":
            for rel_type in ("bill_to", "ship_to"):
                primaries = [r for r in book.of(customer, d(day), rel_type) if r.is_primary]
                assert len(primaries) <= 1
                expected = primaries[0].related_id if primaries else None
                assert book.primary(customer, rel_type, d(day)) == expected
