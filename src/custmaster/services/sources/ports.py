"""Source records (what arrived from each source system) and the port that stores them
(``uow.sources``, implemented by ``custmaster.persistence.sources``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Origin:
    IMPORT = "import"
    API = "api"
    INBOUND = "inbound"


@dataclass(slots=True)
class SourceRecord:
    """One record as a source system sent it.

    Attributes:
        received: the values as received (the create-request shape the import mapped the
            row to, or the API request body).
        normalised: the parsed customer's snapshot (validated, compacted, E.164 ...);
            ``None`` for an incomplete record (required fields missing).
        features: the matcher's prepared features of the record (also for incomplete
            records: they are matched like any other).
        missing: required fields the record lacks.
        warnings: what was dropped or noticed on the way (``{field, code, message}``).
        golden_id: the golden record (customer) it belongs to; ``None`` while an
            incomplete record waits for a match or for what is required.
    """

    id: UUID
    source_system: str
    source_id: str | None
    golden_id: UUID | None
    origin: str
    received: dict[str, Any]
    normalised: dict[str, Any] | None
    received_at: datetime
    features: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    job_id: UUID | None = None
    file: str | None = None
    rows: list[int] = field(default_factory=list)
    #: pending records matched together that still lack what is required: one group
    pending_group: UUID | None = None

    @property
    def ref(self) -> tuple[str, str] | None:
        return (self.source_system, self.source_id) if self.source_id is not None else None


class SourceRepository(Protocol):
    def add_many(self, records: Sequence[SourceRecord]) -> None: ...
    def replace(self, record: SourceRecord) -> None:
        """Rewrite a stored record (same id): a source record that arrived again."""
        ...

    def get(self, record_ids: Sequence[UUID]) -> list[SourceRecord]: ...
    def for_golden(self, golden_ids: Sequence[UUID]) -> list[SourceRecord]:
        """The records of these golden records, oldest first."""
        ...

    def by_refs(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], SourceRecord]:
        """The latest record per (source system, source id)."""
        ...

    def move(self, record_ids: Sequence[UUID], golden_id: UUID | None) -> None: ...
    def pending_groups(self) -> dict[UUID, UUID]:
        """record id -> group of every pending record in a group."""
        ...

    def in_groups(self, groups: Sequence[UUID]) -> list[SourceRecord]:
        """The pending records of these groups."""
        ...

    def set_group(self, record_ids: Sequence[UUID], group: UUID | None) -> None: ...
    def delete_for_golden(self, golden_ids: Sequence[UUID]) -> int:
        """Delete these golden records' source records and field provenance (a hard
        delete); how many records went."""
        ...

    def iter_features(self, batch_size: int) -> Iterator[list[tuple[UUID, dict[str, Any]]]]:
        """(record id, match features) of every source record that has them, in batches."""
        ...

    def iter_attached_features(
        self, batch_size: int
    ) -> Iterator[list[tuple[UUID, UUID, dict[str, Any]]]]:
        """(record id, golden id, match features) of every source record that belongs to
        a golden record and has features, by golden record, in batches."""
        ...

    def provenance(self, customer_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]: ...
    def save_provenance(self, customer_id: UUID, fields: dict[str, Any], at: datetime) -> None: ...
    def drop_provenance(self, customer_ids: Sequence[UUID]) -> None: ...
