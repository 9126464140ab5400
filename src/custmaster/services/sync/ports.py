"""Sync state records and the repository the persistence layer implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from custmaster.services.feed_position import FeedPosition


@dataclass
class TargetState:
    name: str
    updated_at: datetime
    cursor: FeedPosition = field(default_factory=FeedPosition)
    paused: bool = False
    sent: int = 0
    last_run_at: datetime | None = None


@dataclass
class Link:
    """A customer's record in a target: its external id and the values the target is
    known to hold (sent by custmaster or received from the target)."""

    target: str
    customer_id: UUID
    external_id: str
    known_values: dict[str, Any]
    updated_at: datetime


@dataclass
class DeadLetter:
    target: str
    customer_id: UUID
    event_id: str | None
    payload: dict[str, Any]
    error: str
    attempts: int
    created_at: datetime
    id: int | None = None
    resolved_at: datetime | None = None


class SyncRepository(Protocol):
    def state(self, name: str, *, for_update: bool = False) -> TargetState | None: ...
    def save_state(self, state: TargetState) -> None: ...
    def link(self, target: str, customer_id: UUID) -> Link | None: ...
    def save_link(self, link: Link) -> None: ...
    def link_count(self, target: str) -> int: ...
    def add_dead_letter(self, letter: DeadLetter) -> None: ...
    def dead_letters(self, target: str, *, open_only: bool, limit: int) -> list[DeadLetter]: ...
    def resolve_dead_letter(self, letter_id: int, at: datetime) -> None: ...
