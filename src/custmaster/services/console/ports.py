"""What the console's sessions need from storage (``persistence/console_sessions.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: str
    user_id: str
    method: str
    key_prefix: str | None
    principal: dict[str, Any]
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class ConsoleSessionStore(Protocol):
    def add(self, record: SessionRecord) -> None: ...
    def get(self, token_hash: str) -> SessionRecord | None: ...
    def end(self, token_hash: str, at: datetime) -> None: ...
    def purge(self, before: datetime) -> int:
        """Delete the sessions that expired or ended before ``before``; how many."""
        ...


@dataclass(frozen=True, slots=True)
class EntityCompleteness:
    """Active customers owned by one legal entity (None: no owner): how many, and per
    field how many have a value and how many hold an implausible one."""

    entity: str | None
    total: int
    filled: dict[str, int]
    invalid: dict[str, int]


class QualityReads(Protocol):
    def completeness(self, fields: tuple[str, ...]) -> list[EntityCompleteness]: ...
    def cluster_counts(self) -> dict[str, int]:
        """Review-queue clusters per status, and ``"members_open"``: the customers in
        open clusters."""
        ...
