"""Typed, dated relationships between customers (bill-to, ship-to, payer, ...).

A relationship reads "``related_id`` is the ``relationship_type`` of ``customer_id``"
(e.g. customer C's ``bill_to`` is customer B) from ``valid_from`` (inclusive) to
``valid_to`` (exclusive; None = open-ended). Rules:

* the type is a built-in one or was registered at run time;
* a customer is never related to itself; the period is not empty;
* the same (customer, related customer, type) is not stored twice for overlapping periods;
* a customer may have many relationships of a type, but at most one *primary* of each
  type on any date (overlapping primaries are refused).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Generic, TypeVar

from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.hierarchy import period_is_valid, periods_overlap

N = TypeVar("N", bound=Hashable)

BUILTIN_RELATIONSHIP_TYPES: tuple[str, ...] = (
    "bill_to",
    "ship_to",
    "payer",
    "sold_to",
    "wholesaler",
    "distributor",
    "buying_group",
)
_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,49}$")


@dataclass(frozen=True, slots=True)
class RelationshipType:
    code: str
    name: str
    builtin: bool = False


class RelationshipTypeRegistry:
    """The known relationship types: the built-ins plus those registered at run time."""

    def __init__(self, extra: Iterable[RelationshipType] = ()) -> None:
        self._types: dict[str, RelationshipType] = {
            code: RelationshipType(code, code.replace("_", " ").capitalize(), builtin=True)
            for code in BUILTIN_RELATIONSHIP_TYPES
        }
        for rel_type in extra:
            self.register(rel_type.code, rel_type.name)

    def register(self, code: str, name: str | None = None) -> RelationshipType:
        """Add a user-defined type; codes are lower snake case, 2-50 characters."""
        errors: list[FieldError] = []
        if not _TYPE_CODE.match(code):
            errors.append(
                FieldError(
                    "code",
                    "invalid_format",
                    "a relationship type code is 2-50 characters: a-z, 0-9 and _, "
                    "starting with a letter",
                )
            )
        elif code in self._types:
            errors.append(
                FieldError("code", "duplicate", f"relationship type '{code}' already exists")
            )
        if name is not None and not name.strip():
            errors.append(FieldError("name", "required", "the name must not be blank"))
        if errors:
            raise ValidationFailed(errors)
        rel_type = RelationshipType(code, name or code.replace("_", " ").capitalize())
        self._types[code] = rel_type
        return rel_type

    def __contains__(self, code: object) -> bool:
        return code in self._types

    def get(self, code: str) -> RelationshipType:
        try:
            return self._types[code]
        except KeyError:
            raise NotFound(f"unknown relationship type '{code}'") from None

    def codes(self) -> frozenset[str]:
        return frozenset(self._types)

    def __iter__(self) -> Iterator[RelationshipType]:
        return iter(self._types.values())


@dataclass(frozen=True, slots=True)
class Relationship(Generic[N]):
    """``related_id`` is the ``relationship_type`` of ``customer_id`` in the period."""

    customer_id: N
    related_id: N
    relationship_type: str
    valid_from: date
    valid_to: date | None = None
    is_primary: bool = False

    def active_on(self, as_of: date) -> bool:
        return self.valid_from <= as_of and (self.valid_to is None or as_of < self.valid_to)

    def overlaps(self, other: Relationship[N]) -> bool:
        return periods_overlap(self.valid_from, self.valid_to, other.valid_from, other.valid_to)


def _period(rel: Relationship[N]) -> str:
    end = rel.valid_to.isoformat() if rel.valid_to else "open end"
    return f"{rel.valid_from.isoformat()} to {end}"


def check_relationship(
    rel: Relationship[N], registry: RelationshipTypeRegistry
) -> list[FieldError]:
    """The rules one relationship breaks on its own."""
    errors: list[FieldError] = []
    if rel.relationship_type not in registry:
        known = ", ".join(sorted(registry.codes()))
        errors.append(
            FieldError(
                "relationship_type",
                "unknown_relationship_type",
                f"unknown relationship type '{rel.relationship_type}' (known: {known})",
            )
        )
    if rel.related_id == rel.customer_id:
        errors.append(
            FieldError("related_id", "self_relationship", "a customer cannot be related to itself")
        )
    if not period_is_valid(rel.valid_from, rel.valid_to):
        errors.append(
            FieldError(
                "valid_to",
                "invalid_period",
                f"valid_to ({rel.valid_to}) must be after valid_from ({rel.valid_from})",
            )
        )
    return errors


def check_against(rel: Relationship[N], existing: Iterable[Relationship[N]]) -> list[FieldError]:
    """The rules ``rel`` breaks together with the customer's ``existing`` relationships."""
    errors: list[FieldError] = []
    for other in existing:
        if (
            other.customer_id != rel.customer_id
            or other.relationship_type != rel.relationship_type
            or not rel.overlaps(other)
        ):
            continue
        if other.related_id == rel.related_id:
            errors.append(
                FieldError(
                    "valid_from",
                    "duplicate_relationship",
                    f"{rel.related_id} is already {rel.relationship_type} of "
                    f"{rel.customer_id} from {_period(other)}",
                )
            )
        elif rel.is_primary and other.is_primary:
            errors.append(
                FieldError(
                    "is_primary",
                    "primary_overlap",
                    f"{rel.customer_id} already has primary {rel.relationship_type} "
                    f"{other.related_id} from {_period(other)}; at most one primary of "
                    "each type at a time",
                )
            )
    return errors


def validate_relationships(
    rels: Sequence[Relationship[N]],
    registry: RelationshipTypeRegistry,
    prefix: str = "relationships",
) -> list[FieldError]:
    """Every rule a whole list breaks, each error naming its item: ``relationships[2].x``.

    Overlap checks compare each item with the ones before it, so a conflict is reported
    once, on the later item.
    """
    errors: list[FieldError] = []
    seen: dict[tuple[N, str], list[Relationship[N]]] = {}
    for index, rel in enumerate(rels):
        item = [*check_relationship(rel, registry)]
        group = seen.setdefault((rel.customer_id, rel.relationship_type), [])
        if not item:
            item = check_against(rel, group)
        errors.extend(FieldError(f"{prefix}[{index}].{e.field}", e.code, e.message) for e in item)
        group.append(rel)
    return errors


class RelationshipBook(Generic[N]):
    """The relationships of some customers, validated on add, readable as of a date."""

    def __init__(self, registry: RelationshipTypeRegistry | None = None) -> None:
        self.registry = registry or RelationshipTypeRegistry()
        self._by_customer: dict[N, list[Relationship[N]]] = {}

    @classmethod
    def from_relationships(
        cls,
        rels: Iterable[Relationship[N]],
        registry: RelationshipTypeRegistry | None = None,
    ) -> RelationshipBook[N]:
        book: RelationshipBook[N] = cls(registry)
        items = list(rels)
        errors = validate_relationships(items, book.registry)
        if errors:
            raise ValidationFailed(errors)
        for rel in items:
            book._by_customer.setdefault(rel.customer_id, []).append(rel)
        return book

    def check(self, rel: Relationship[N]) -> list[FieldError]:
        errors = check_relationship(rel, self.registry)
        return errors or check_against(rel, self._by_customer.get(rel.customer_id, ()))

    def add(self, rel: Relationship[N]) -> None:
        """Validate and add; raises :class:`ValidationFailed` naming the field."""
        errors = self.check(rel)
        if errors:
            raise ValidationFailed(errors)
        self._by_customer.setdefault(rel.customer_id, []).append(rel)

    def remove(self, rel: Relationship[N]) -> None:
        rels = self._by_customer.get(rel.customer_id, [])
        if rel not in rels:
            raise NotFound(f"no relationship {rel}")
        rels.remove(rel)

    def end(self, rel: Relationship[N], valid_to: date) -> Relationship[N]:
        """Close a relationship on ``valid_to`` (exclusive); returns the stored version."""
        errors: list[FieldError] = []
        if not period_is_valid(rel.valid_from, valid_to):
            errors.append(
                FieldError("valid_to", "invalid_period", "valid_to must be after valid_from")
            )
        elif rel.valid_to is not None and valid_to > rel.valid_to:
            errors.append(
                FieldError("valid_to", "extends_period", "ending cannot extend a relationship")
            )
        if errors:
            raise ValidationFailed(errors)
        rels = self._by_customer.get(rel.customer_id, [])
        if rel not in rels:
            raise NotFound(f"no relationship {rel}")
        ended = replace(rel, valid_to=valid_to)
        rels[rels.index(rel)] = ended
        return ended

    def of(
        self, customer_id: N, as_of: date, relationship_type: str | None = None
    ) -> list[Relationship[N]]:
        """The customer's relationships on ``as_of`` (primary first), optionally of a type."""
        found = [
            rel
            for rel in self._by_customer.get(customer_id, ())
            if rel.active_on(as_of)
            and (relationship_type is None or rel.relationship_type == relationship_type)
        ]
        return sorted(found, key=lambda rel: (rel.relationship_type, not rel.is_primary))

    def primary(self, customer_id: N, relationship_type: str, as_of: date) -> N | None:
        for rel in self._by_customer.get(customer_id, ()):
            if (
                rel.is_primary
                and rel.relationship_type == relationship_type
                and rel.active_on(as_of)
            ):
                return rel.related_id
        return None

    def history(self, customer_id: N) -> list[Relationship[N]]:
        return sorted(self._by_customer.get(customer_id, ()), key=lambda rel: rel.valid_from)

    def __iter__(self) -> Iterator[Relationship[N]]:
        for rels in self._by_customer.values():
            yield from rels
