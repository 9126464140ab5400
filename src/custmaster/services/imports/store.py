"""What the import job keeps in the database: the job, its per-record report, the
duplicate keys seen in its file, its incomplete drafts; and the port that stores them
(``uow.imports``, implemented by ``custmaster.persistence.imports``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from custmaster.domain.model import Customer
from custmaster.services.customer_queries import CustomerQuery, SimilarCustomer


class JobStatus(StrEnum):
    VALIDATING = "validating"
    AWAITING_REVIEW = "awaiting_review"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"


class Outcome(StrEnum):
    """What happens (or happened, once its batch is committed) to one record."""

    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    DRAFT = "draft"


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    ERROR = "error"
    #: every e-mail/tax-id hit lands as its own record and is queued for review
    REVIEW = "review"


class InvalidField(StrEnum):
    """What an invalid value of a top-level field does to its row (a bad tax-id
    checksum, an unassigned phone number ...)."""

    #: the value is dropped with a warning on the row and its source record; the row lands
    DROP = "drop"
    #: the row becomes an incomplete draft (the field counts as missing)
    DRAFT = "draft"
    #: the row fails (as before)
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """The operator's choices (defaults as in the issue)."""

    on_duplicate: OnDuplicate = OnDuplicate.SKIP
    batch_size: int = 100
    stop_on_first_error: bool = False
    validate_only: bool = False
    entity: str | None = None
    keep_incomplete_as_drafts: bool = False
    on_invalid_field: InvalidField = InvalidField.DROP

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_duplicate": self.on_duplicate.value,
            "batch_size": self.batch_size,
            "stop_on_first_error": self.stop_on_first_error,
            "validate_only": self.validate_only,
            "entity": self.entity,
            "keep_incomplete_as_drafts": self.keep_incomplete_as_drafts,
            "on_invalid_field": self.on_invalid_field.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportOptions:
        return cls(
            on_duplicate=OnDuplicate(data.get("on_duplicate", "skip")),
            batch_size=int(data.get("batch_size", 100)),
            stop_on_first_error=bool(data.get("stop_on_first_error", False)),
            validate_only=bool(data.get("validate_only", False)),
            entity=data.get("entity"),
            keep_incomplete_as_drafts=bool(data.get("keep_incomplete_as_drafts", False)),
            # jobs submitted before the option rejected invalid rows
            on_invalid_field=InvalidField(data.get("on_invalid_field", "reject")),
        )


@dataclass(slots=True)
class ImportJob:
    """One import job. ``validated_records`` is the validation stage's resume point (the
    records before it are validated and committed); ``last_committed_batch`` the import
    stage's (-1: none yet). Batch ``k`` holds the records ``k*batch_size ..``."""

    id: UUID
    status: JobStatus
    template: str
    files: list[dict[str, str]]
    options: ImportOptions
    submitted_by: str
    submitted_by_name: str
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    total_rows: int | None = None
    validated_records: int = 0
    record_count: int | None = None
    last_committed_batch: int = -1
    summary: dict[str, Any] = field(default_factory=dict)
    failed_stage: str | None = None
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def entities(self) -> frozenset[str]:
        """Every legal entity the job touches, as far as validation has seen: the job's
        entity, the owning entities and overrides its records name, the owning entities of
        the existing customers they update or join (``summary["entities"]``, kept batch by
        batch). Who may see and act on the job follows from it
        (``governance.access.may_see_job``)."""
        found = {str(e) for e in self.summary.get("entities") or ()}
        if self.options.entity:
            found.add(self.options.entity)
        return frozenset(found)

    @property
    def batch_count(self) -> int:
        if self.record_count is None:
            return 0
        return -(-self.record_count // self.options.batch_size)


@dataclass(slots=True)
class RowReport:
    """The report line of one record (a source row, or the rows of a grouped customer)."""

    seq: int
    row_numbers: list[int]
    source_id: str | None
    outcome: Outcome
    customer_id: UUID | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    payload: dict[str, Any] | None = None


@dataclass(slots=True)
class Draft:
    id: UUID
    job_id: UUID
    seq: int
    source_system: str | None
    source_id: str | None
    name: str | None
    command: dict[str, Any]
    missing: list[str]
    warnings: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ExistingMatches:
    """Customers already in the database that share a key with records of a batch."""

    by_email: dict[str, UUID] = field(default_factory=dict)
    by_tax_id: dict[str, UUID] = field(default_factory=dict)
    by_source_ref: dict[tuple[str, str], UUID] = field(default_factory=dict)


class ImportRepository(Protocol):
    # jobs
    def add_job(self, job: ImportJob) -> None: ...
    def get_job(self, job_id: UUID, *, for_update: bool = False) -> ImportJob | None: ...
    def save_job(self, job: ImportJob) -> None: ...
    def list_jobs(self, *, before: datetime | None, limit: int) -> list[ImportJob]: ...
    def jobs_in(self, statuses: list[JobStatus]) -> list[ImportJob]: ...
    # the per-record report
    def add_rows(self, job_id: UUID, rows: list[RowReport]) -> None: ...
    def rows(
        self,
        job_id: UUID,
        *,
        after_seq: int = -1,
        until_seq: int | None = None,
        outcomes: list[Outcome] | None = None,
        limit: int | None = None,
        with_payload: bool = False,
    ) -> list[RowReport]: ...
    def set_outcome(
        self, job_id: UUID, seq: int, outcome: Outcome, errors: list[dict[str, Any]]
    ) -> None: ...
    def outcome_counts(self, job_id: UUID) -> dict[str, int]: ...
    # duplicate keys seen in the job's file
    def seen_keys(self, job_id: UUID, keys: list[str]) -> dict[str, int]: ...
    def add_keys(self, job_id: UUID, keys: dict[str, int]) -> None: ...
    def drop_keys(self, job_id: UUID) -> None: ...
    def drop_payloads(self, job_id: UUID) -> None: ...
    # new customers (bulk: what uow.customers.add_many writes, COPY where the database has it)
    def add_customers(self, batch: list[Customer]) -> None: ...
    # look-ups against the customer master
    def existing(
        self, emails: list[str], tax_ids: list[str], refs: list[tuple[str, str]]
    ) -> ExistingMatches: ...
    def owning_entities(self, customer_ids: list[UUID]) -> dict[UUID, str | None]: ...
    def similar_names(
        self, names: list[str], *, keys: Mapping[str, str] | None = None
    ) -> dict[str, list[SimilarCustomer]]:
        """``keys``: the names' normalised keys where the caller has them already."""
        ...

    # incomplete drafts
    def add_drafts(self, drafts: list[Draft]) -> None: ...
    def drafts_by_source(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], UUID]: ...
    def replace_draft(self, draft_id: UUID, draft: Draft) -> None: ...
    def drafts(self, job_id: UUID, *, after_seq: int, limit: int) -> list[Draft]: ...
    # exports
    def export_page(self, query: CustomerQuery, *, with_children: bool) -> list[Customer]: ...
