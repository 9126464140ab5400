"""Who acts: every use case takes the acting principal."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user or machine. ``entities`` None means every legal entity."""

    id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    entities: frozenset[str] | None = None
