"""A steward's decision on a review-queue cluster: merge it (under the approval policy)
or mark it not a duplicate. ``POST /api/v1/duplicates/{id}/decision`` and the console's
duplicates page both call :func:`submit_cluster_decision`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import ChangeRequest, Policy
from custmaster.domain.permissions import Principal
from custmaster.services.dedup.merge import MergeResult
from custmaster.services.dedup.ports import ClusterRecord
from custmaster.services.dedup.review import absorbed_members, decide, get_cluster, open_cluster
from custmaster.services.governance.merges import submit_merge
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.pending import join_pending_members


@dataclass(frozen=True, slots=True)
class ClusterOutcome:
    """The cluster after the decision, the merge it made, or the change request the merge
    waits in (then ``cluster`` is None)."""

    cluster: ClusterRecord | None
    merge: MergeResult | None = None
    request: ChangeRequest | None = None


def submit_cluster_decision(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    cluster_id: int,
    decision: str,
    *,
    survivor_id: UUID | None = None,
    choices: Mapping[str, Any] | None = None,
) -> ClusterOutcome:
    if decision != "merge":
        decided = decide(uow, actor, cluster_id, decision, survivor_id=survivor_id, choices=choices)
        return ClusterOutcome(decided.cluster)
    # a merge goes through the approval policy (a change request, or applied at once)
    cluster = open_cluster(uow, actor, cluster_id)
    members = [UUID(m) for m in cluster.members]
    absorbed = absorbed_members(members, survivor_id)  # ValidationFailed without a member
    assert survivor_id is not None
    # incomplete source records in the cluster join the survivor at once
    absorbed = join_pending_members(uow, actor, cluster_id, survivor_id, absorbed)
    if not absorbed:
        return ClusterOutcome(get_cluster(uow, actor, cluster_id))
    outcome = submit_merge(
        uow, actor, policy, survivor_id, absorbed, choices or {}, cluster_id=cluster_id
    )
    if outcome.request is not None:
        return ClusterOutcome(None, request=outcome.request)
    return ClusterOutcome(get_cluster(uow, actor, cluster_id), merge=outcome.merge)
