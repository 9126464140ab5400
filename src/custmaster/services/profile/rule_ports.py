"""The ports of profile rules, scores, segments and affinity (``persistence`` implements
them: ``profile_rules.py``, ``segments.py``, ``affinity.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

import numpy as np

from custmaster.domain.expressions import Node
from custmaster.domain.profile_scoring import Score


@dataclass(frozen=True, slots=True)
class StoredRuleSet:
    version: int
    definition: Mapping[str, Any]
    created_by: str
    created_at: datetime
    change_request_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One profile row of a customer: its legal entity (or ``*``) and the values the rules
    read (master fields, ``legal_entity`` and the features)."""

    legal_entity: str
    values: Mapping[str, Any]


class ProfileRulesRepository(Protocol):
    def active(self) -> StoredRuleSet | None: ...
    def get(self, version: int) -> StoredRuleSet | None: ...
    def versions(self) -> list[StoredRuleSet]: ...
    def add(self, rule_set: StoredRuleSet) -> None: ...
    def rows(self, customer_id: UUID) -> list[ProfileRow]: ...
    def scores(self, customer_id: UUID) -> dict[str, Score]: ...
    def rows_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, list[ProfileRow]]:
        """:meth:`rows` of several customers (every id a key)."""
        ...

    def scores_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, dict[str, Score]]:
        """:meth:`scores` of several customers (every id a key)."""
        ...

    def save_scores_of(self, scores_of: Mapping[UUID, Mapping[str, Score]], at: datetime) -> None:
        """Replace these customers' score rows with theirs (customer -> legal entity ->
        score)."""
        ...

    def profiled_customers(self, after: UUID | None, limit: int) -> list[UUID]:
        """Customers with profile rows, by id (for rescoring everyone)."""
        ...


@dataclass(frozen=True, slots=True)
class SavedSegment:
    id: UUID
    name: str
    expression: str
    description: str | None
    entity: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class QueryScope:
    """Which profile rows an expression is evaluated on: one legal entity (or ``*``), or
    several (a customer matches when the expression holds on one of its rows there, or
    on an empty profile when it has none there)."""

    entities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Total:
    """How many customers a query matches: ``exact``, or an estimate (more than the
    exact-count limit were found; ``value`` is the database's estimate, at least that)."""

    value: int
    exact: bool


class SegmentRepository(Protocol):
    def add(self, segment: SavedSegment) -> None: ...
    def get(self, segment_id: UUID) -> SavedSegment | None: ...
    def by_name(self, name: str) -> SavedSegment | None: ...
    def all(self) -> list[SavedSegment]: ...
    def save(self, segment: SavedSegment) -> None: ...
    def delete(self, segment_id: UUID) -> None: ...
    def query(
        self, tree: Node, scope: QueryScope, today: date, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Customers matching ``tree`` ordered by number, after number ``after``."""
        ...

    def page(
        self,
        tree: Node,
        scope: QueryScope,
        today: date,
        after: str | None,
        limit: int,
        exact_up_to: int | None = None,
    ) -> tuple[list[dict[str, Any]], Total]:
        """:meth:`query`'s page and :meth:`total`."""
        ...

    def count(self, tree: Node, scope: QueryScope, today: date) -> int:
        """The exact number of matching customers."""
        ...

    def total(
        self, tree: Node, scope: QueryScope, today: date, exact_up_to: int | None = None
    ) -> Total:
        """The number of matching customers: without ``exact_up_to`` exact; with it the
        implementation may count only up to ``exact_up_to`` (or fewer, when it expects
        far more) and give an estimate beyond, marked not exact."""
        ...


@dataclass(frozen=True, slots=True)
class AffinityItem:
    kind: str  # "over" (bought more than expected) or "similar" (bought by similar customers)
    rank: int
    product: str
    product_group: str | None
    score: float


#: the kinds of affinity item, numbered as :attr:`AffinityBatch.kind` gives them
AFFINITY_KINDS = ("over", "similar")


@dataclass(frozen=True, slots=True)
class AffinityBatch:
    """Affinity items as columns of numbers (item ``i``: customer
    ``customers[customer[i]]``, kind ``AFFINITY_KINDS[kind[i]]``, product
    ``products[product[i]]`` of group ``groups[product[i]]``): a batch of millions is
    written without an object an item."""

    customers: Sequence[UUID]
    products: Sequence[str]
    groups: Sequence[str | None]
    customer: np.ndarray  # integers
    kind: np.ndarray  # integers
    rank: np.ndarray  # integers, 1-based
    product: np.ndarray  # integers
    score: np.ndarray  # floats


class AffinityRepository(Protocol):
    def replace(self, batches: Iterable[AffinityBatch], at: datetime) -> int:
        """Replace every stored result by the batches' items (a batch run replaces them
        all; in the unit of work's transaction); the number of rows written."""
        ...

    def of(self, customer_id: UUID) -> list[AffinityItem]: ...
    def computed_at(self, customer_id: UUID) -> datetime | None: ...
