"""The port the matching services need (``custmaster.persistence.matching`` implements
it; the unit of work exposes it as ``uow.matching``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from custmaster.domain.model import Customer


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One customer in the match index: its prepared features (JSON) and keys."""

    customer_id: UUID
    number: str
    name: str
    features: dict[str, Any]
    keys: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    customer_id: UUID
    number: str
    name: str
    features: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    """A candidate cluster of the review queue."""

    id: int
    status: str
    proposal: str
    score: float
    members: list[str]
    pairs: list[dict[str, Any]]
    created_at: datetime
    run_id: UUID | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    merge_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class NewCluster:
    proposal: str
    score: float
    members: list[str]
    pairs: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A stored, trained match model (``match_models``)."""

    version: int
    created_at: datetime
    created_by: str
    model: dict[str, Any]
    report: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MergeRecord:
    id: UUID
    survivor_id: UUID
    absorbed_ids: list[UUID]
    survivor_before: dict[str, Any]
    survivor_after: dict[str, Any]
    absorbed: list[dict[str, Any]]
    rules: dict[str, Any]
    choices: dict[str, Any]
    merged_at: datetime
    merged_by: str
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None
    moved_refs: list[tuple[str, str, UUID]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Redirect:
    absorbed_id: UUID
    survivor_id: UUID
    merge_id: UUID


class MatchingRepository(Protocol):
    # -- the online index ---------------------------------------------------------------
    def replace_entries(self, entries: Sequence[IndexEntry]) -> None:
        """Rewrite the index rows of these customers (delete, then insert)."""
        ...

    def add_entries(self, entries: Sequence[IndexEntry]) -> None:
        """Index customers that have no index rows yet (new ones; insert only, bulk)."""
        ...

    def remove_entries(self, customer_ids: Sequence[UUID]) -> None: ...
    def lookup(
        self, keys: Sequence[tuple[str, str]], max_postings: int
    ) -> dict[tuple[str, str], list[UUID]]:
        """Ids per key, each list cut at ``max_postings + 1`` (longer means skip it)."""
        ...

    def candidates(
        self, keys: Sequence[tuple[str, str]], max_postings: int, max_candidates: int
    ) -> list[IndexedRecord]:
        """Indexed records sharing a key with at most ``max_postings`` ids (one query);
        the ``max_candidates`` that share the most keys."""
        ...

    def records(self, customer_ids: Sequence[UUID]) -> list[IndexedRecord]: ...
    def iter_records(self, batch_size: int) -> Iterator[list[IndexedRecord]]: ...
    def count_records(self) -> int: ...
    def count_customers(self) -> int:
        """Active customers (what a reindex covers)."""
        ...

    def iter_customers(self, batch_size: int) -> Iterator[list[Customer]]:
        """Active customers with their addresses (for reindexing), by number."""
        ...

    # -- batch runs and the review queue ------------------------------------------------
    def latest_run_id(self) -> UUID | None:
        """The latest finished batch run (whose model online matching uses)."""
        ...

    def run_model(self, run_id: UUID) -> dict[str, Any]:
        """The model a run stored (never changed after the run started)."""
        ...

    def start_run(
        self,
        run_id: UUID,
        actor_id: str,
        at: datetime,
        model: dict[str, Any],
        model_version: int | None = None,
    ) -> None: ...

    # -- model versions ------------------------------------------------------------------
    def add_model_version(
        self, model: dict[str, Any], report: dict[str, Any], at: datetime, by: str
    ) -> int:
        """Store a model as the next version (1, 2, ...) and return its number."""
        ...

    def latest_model_version(self) -> int | None:
        """The current (highest) model version, None before the first training."""
        ...

    def get_model_version(self, version: int) -> ModelVersion | None: ...
    def list_model_versions(self, limit: int) -> list[ModelVersion]:
        """The latest versions first."""
        ...

    def decided_clusters(self, limit: int) -> list[ClusterRecord]:
        """Clusters a steward merged or marked not duplicate, latest first (the labelled
        pairs training learns from)."""
        ...

    def finish_run(self, run_id: UUID, at: datetime, stats: dict[str, Any]) -> None: ...
    def supersede_open_clusters(self, at: datetime) -> int: ...
    def add_clusters(
        self, run_id: UUID | None, at: datetime, clusters: list[NewCluster]
    ) -> None: ...

    def get_cluster(self, cluster_id: int, *, for_update: bool = False) -> ClusterRecord | None: ...

    def list_clusters(
        self,
        status: str | None,
        after_id: int | None,
        limit: int,
        *,
        uncertain_first: bool = False,
        after_uncertainty: float | None = None,
    ) -> list[ClusterRecord]:
        """Clusters by id, or with ``uncertain_first`` by ``|score - 0.5|`` then id (the
        keyset after ``(after_uncertainty, after_id)``)."""
        ...

    def decide_cluster(
        self, cluster_id: int, status: str, at: datetime, by: str, merge_id: UUID | None
    ) -> None: ...
    def open_clusters_with(self, customer_ids: Sequence[UUID]) -> list[int]: ...
    def add_not_duplicates(
        self, pairs: Sequence[tuple[UUID, UUID]], at: datetime, by: str, cluster_id: int | None
    ) -> None: ...
    def not_duplicate_pairs(self) -> set[tuple[str, str]]: ...

    # -- merges -------------------------------------------------------------------------
    def add_merge(self, merge: MergeRecord) -> None: ...
    def get_merge(self, merge_id: UUID, *, for_update: bool = False) -> MergeRecord | None: ...
    def mark_unmerged(self, merge_id: UUID, at: datetime, by: str) -> None: ...
    def merges_of(self, customer_id: UUID) -> list[MergeRecord]: ...
    def merges_involving(self, customer_id: UUID) -> list[MergeRecord]:
        """Merges with the customer as survivor or among the absorbed (unmerged too)."""
        ...

    def replace_merge_snapshots(
        self,
        merge_id: UUID,
        survivor_before: dict[str, Any],
        survivor_after: dict[str, Any],
        absorbed: list[dict[str, Any]],
        rules: dict[str, Any],
        choices: dict[str, Any],
    ) -> None:
        """Rewrite a merge record's snapshots, rules and choices (an erasure scrubbing
        them)."""
        ...

    def add_redirects(self, redirects: Sequence[Redirect], at: datetime) -> None: ...
    def remove_redirects(self, merge_id: UUID) -> None: ...
    def redirect(self, absorbed_id: UUID) -> Redirect | None: ...
    def merges_moving_ref(self, source_system: str, source_id: str) -> list[UUID]:
        """Merges not undone that moved this source reference, oldest first."""
        ...
