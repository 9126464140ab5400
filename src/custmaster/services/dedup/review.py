"""The review queue: candidate clusters a data steward merges or marks as not
duplicates. A not-duplicate decision is remembered for every pair of the cluster and
never proposed again (batch runs skip those pairs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any
from uuid import UUID

from custmaster.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.dedup.merge import MergeResult, merge_customers
from custmaster.services.dedup.ports import ClusterRecord
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow

STATUSES = ("open", "merged", "not_duplicate", "superseded")


def list_clusters(
    uow: UnitOfWork,
    actor: Principal,
    *,
    status: str | None,
    after_id: int | None,
    limit: int,
    uncertain_first: bool = False,
    after_uncertainty: float | None = None,
) -> list[ClusterRecord]:
    """The queue by id, or the most informative clusters first (``uncertain_first``:
    active learning): those whose match probability is closest to 0.5, where the model
    is least sure and a steward's decision teaches it the most."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return uow.matching.list_clusters(
            status,
            after_id,
            limit,
            uncertain_first=uncertain_first,
            after_uncertainty=after_uncertainty,
        )


def uncertainty(cluster: ClusterRecord) -> float:
    """How far a cluster's score is from 0.5 (0: the model cannot tell)."""
    return abs(cluster.score - 0.5)


def get_cluster(uow: UnitOfWork, actor: Principal, cluster_id: int) -> ClusterRecord:
    require(actor, Permission.CUSTOMER_READ)
    return _read_cluster(uow, cluster_id)


def _read_cluster(uow: UnitOfWork, cluster_id: int) -> ClusterRecord:
    with uow.read_only():
        cluster = uow.matching.get_cluster(cluster_id)
    if cluster is None:
        raise NotFound(f"no duplicate candidate {cluster_id}")
    return cluster


@dataclass(frozen=True, slots=True)
class Decision:
    cluster: ClusterRecord
    merge: MergeResult | None = None


def absorbed_members(members: list[UUID], survivor_id: UUID | None) -> list[UUID]:
    """The members a merge into ``survivor_id`` absorbs (it must be a member)."""
    if survivor_id is None or survivor_id not in members:
        raise ValidationFailed(
            [FieldError("survivor_id", "not_member", "must be one of the cluster")]
        )
    return [m for m in members if m != survivor_id]


def open_cluster(uow: UnitOfWork, actor: Principal, cluster_id: int) -> ClusterRecord:
    """A cluster still waiting for a decision."""
    require(actor, Permission.MERGE_PROPOSE)
    cluster = _read_cluster(uow, cluster_id)
    if cluster.status != "open":
        raise Conflict(f"duplicate candidate {cluster_id} is {cluster.status} already")
    return cluster


def decide(
    uow: UnitOfWork,
    actor: Principal,
    cluster_id: int,
    decision: str,
    *,
    survivor_id: UUID | None = None,
    choices: Mapping[str, Any] | None = None,
) -> Decision:
    """``merge`` (into ``survivor_id``, a member; the others are absorbed) or
    ``not_duplicate`` (every pair of the cluster is remembered)."""
    require(actor, Permission.MERGE_PROPOSE)
    with uow:
        cluster = uow.matching.get_cluster(cluster_id, for_update=True)
        if cluster is None:
            raise NotFound(f"no duplicate candidate {cluster_id}")
        if cluster.status != "open":
            raise Conflict(f"duplicate candidate {cluster_id} is {cluster.status} already")
        members = [UUID(m) for m in cluster.members]
        now = utcnow()
        merge: MergeResult | None = None
        if decision == "not_duplicate":
            uow.matching.add_not_duplicates(
                list(combinations(members, 2)), now, actor.user_id, cluster_id
            )
            uow.matching.decide_cluster(cluster_id, "not_duplicate", now, actor.user_id, None)
        elif decision == "merge":
            assert survivor_id is not None
            absorbed = absorbed_members(members, survivor_id)
            merge = merge_customers(uow, actor, survivor_id, absorbed, choices or {})
            uow.matching.decide_cluster(cluster_id, "merged", now, actor.user_id, merge.merge_id)
        else:  # pragma: no cover - the API schema allows only the two
            raise ValidationFailed(
                [FieldError("decision", "invalid_choice", "merge or not_duplicate")]
            )
        decided = uow.matching.get_cluster(cluster_id)
        assert decided is not None
        return Decision(decided, merge)
