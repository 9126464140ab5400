"""The port the profile use cases need; ``persistence.activity`` implements it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from custmaster.domain.activity_state import ActivityState
from custmaster.domain.profile_rules import RuleSet


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    customer_id: UUID
    envelope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: UUID
    event_id: str | None
    legal_entity: str | None
    channel: str
    reason: str
    attempts: int
    status: str  # "open" | "replayed"
    envelope: Any
    created_at: datetime
    replayed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "legal_entity": self.legal_entity,
            "channel": self.channel,
            "reason": self.reason,
            "attempts": self.attempts,
            "status": self.status,
            "created_at": self.created_at,
            "replayed_at": self.replayed_at,
            "envelope": self.envelope,
        }


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """One customer's activity state, its read rows (``profile_wide``: master fields,
    features and scores) by legal entity, its effective credit limits by legal entity
    (as :meth:`ActivityRepository.credit_limits`), every legal entity's currency and its
    descendants in the hierarchy asked for on the day asked for (breadth first, as
    ``HierarchyGraph.descendants``: the subtree its figures roll up)."""

    state: ActivityState
    rows: dict[str, dict[str, Any]]
    limits: dict[str, float]
    currencies: dict[str, str]
    descendants: list[UUID]
    #: the master's number, name, customer_group and owning_entity when read with the rest
    #: (PostgreSQL; None there: no such customer), else None
    master: dict[str, Any] | None = None


class AsyncProfileReads(Protocol):
    """The 360 view's one statement for an event loop (PostgreSQL)."""

    async def profile_snapshot(
        self, customer_id: UUID, hierarchy_type: str, as_of: date
    ) -> ProfileSnapshot: ...


class ActivityRepository(Protocol):
    def lock_customers(self, customer_ids: Iterable[UUID]) -> None: ...
    def lock_event_ids(self, event_ids: Iterable[str]) -> None:
        """Serialise the writers of these event ids' dead letters (in id order)."""
        ...

    def existing_customers(self, customer_ids: Iterable[UUID]) -> set[UUID]: ...
    def credit_limits(self, customer_ids: Iterable[UUID]) -> dict[UUID, dict[str, float]]: ...
    def entity_currencies(self) -> dict[str, str]: ...
    def known_events(self, event_ids: Iterable[str]) -> set[str]: ...
    def add_events(self, rows: list[dict[str, Any]], lines: list[dict[str, Any]]) -> None: ...
    def count_events(self) -> int: ...
    def iter_events(self, batch_size: int) -> Iterator[list[StoredEvent]]: ...
    def events_of(self, customer_ids: Iterable[UUID]) -> list[StoredEvent]: ...
    def move_events(self, from_id: UUID, to_id: UUID) -> int: ...
    def move_event(self, event_id: str, to_id: UUID) -> int: ...
    def redirects(self) -> dict[UUID, UUID]: ...
    def redirects_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, UUID]: ...
    def customers_with_state(self) -> set[UUID]: ...
    def load_states(self, customer_ids: Iterable[UUID]) -> dict[UUID, ActivityState]: ...
    def upsert_states(self, states: dict[UUID, ActivityState]) -> None: ...
    def replace_states(self, states: dict[UUID, ActivityState]) -> None: ...
    def set_based_rebuild(self) -> bool: ...
    def rebuild_split(self, slices: int) -> list[UUID]: ...
    def rebuild_stage(self, run: str, bounds: list[UUID], slice_no: int) -> int: ...
    def rebuild_compare(
        self, run: str, bounds: list[UUID], slice_no: int, rates: Mapping[str, float]
    ) -> int: ...
    def rebuild_drifted(
        self, run: str, bounds: list[UUID], limit: int
    ) -> tuple[int, list[tuple[UUID, list[str], dict[str, list[str]]]]]: ...
    def rebuild_plan(
        self, run: str, bounds: list[UUID], as_of: date, rates: Mapping[str, float]
    ) -> int: ...
    def rebuild_write(
        self,
        run: str,
        first: int,
        last: int,
        at: datetime,
        rules: RuleSet,
        version: int,
        today: date,
    ) -> int: ...
    def rebuild_drop(self, run: str) -> None: ...
    def write_profiles(self, rows: dict[UUID, dict[str, dict[str, Any]]], at: datetime) -> None: ...
    def read_profiles(
        self, customer_ids: Iterable[UUID]
    ) -> dict[UUID, dict[str, dict[str, Any]]]: ...
    def profile_snapshot(
        self, customer_id: UUID, hierarchy_type: str, as_of: date
    ) -> ProfileSnapshot:
        """What the 360 view reads of one customer (its descendants in ``hierarchy_type``
        on ``as_of`` included), in one round trip where possible."""
        ...

    def add_dead_letter(self, letter: DeadLetter) -> None: ...
    def open_dead_letter(self, event_id: str) -> DeadLetter | None: ...
    def get_dead_letter(
        self, letter_id: UUID, *, for_update: bool = False
    ) -> DeadLetter | None: ...
    def list_dead_letters(
        self,
        *,
        status: str | None,
        entities: frozenset[str] | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[DeadLetter]: ...
    def update_dead_letter(self, letter_id: UUID, **values: Any) -> None: ...
