"""Merges and unmerges under the approval policy (issue 4: "merges go through the
approval policy"): green applies at once, otherwise a change request is opened and its
last approval applies the merge (or unmerge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import ChangeRequest, Operation, Policy, require_submit
from custmaster.domain.errors import Conflict, NotFound
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, Principal
from custmaster.services.dedup.merge import (
    MergeResult,
    load_merge,
    merge_customers,
    merge_loaded,
)
from custmaster.services.dedup.ports import MergeRecord
from custmaster.services.dedup.unmerge import UnmergeResult, unmerge
from custmaster.services.governance.access import (
    require_permission,
    visible_customer,
    visible_data,
)
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow


@dataclass
class MergeOutcome:
    merge: MergeResult | None = None
    unmerge: UnmergeResult | None = None
    request: ChangeRequest | None = None


def _entities(customers: Sequence[Customer]) -> frozenset[str]:
    found: set[str] = set()
    for customer in customers:
        if customer.owning_entity:
            found.add(customer.owning_entity)
        found.update(customer.overrides)
    return frozenset(found)


def submit_merge(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    survivor_id: UUID,
    absorbed_ids: Sequence[UUID],
    choices: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    cluster_id: int | None = None,
) -> MergeOutcome:
    """Merge ``absorbed_ids`` into ``survivor_id`` (from a review-queue cluster when
    ``cluster_id`` is given, which is marked merged when the merge applies)."""
    direct = require_submit(actor, Operation.MERGE)
    with uow:
        survivor, absorbed = load_merge(uow, survivor_id, absorbed_ids, expected_version)
        ids = [str(customer_id) for customer_id in absorbed_ids]
        request = open_request(
            uow,
            actor,
            policy,
            Operation.MERGE,
            customer_id=survivor_id,
            changes=[{"field": "merge", "before": None, "after": ids}],
            payload={"absorbed_ids": ids, "choices": dict(choices), "cluster_id": cluster_id},
            before=None,
            after=None,
            base_version=survivor.version,
            entities=_entities([survivor, *absorbed]),
            direct=direct,
        )
        if request is not None:
            return MergeOutcome(request=request)
        merged = merge_loaded(uow, actor, survivor, absorbed, choices)
        _close_cluster(uow, actor, cluster_id, merged)
        return MergeOutcome(merge=visible_merge(actor, merged))


def visible_merge(actor: Principal, result: MergeResult) -> MergeResult:
    """A merge's answer showing ``actor`` only the overrides it may see."""
    return replace(
        result,
        customer=visible_customer(actor, result.customer),
        rules=visible_data(actor, result.rules),
        sources=visible_data(actor, result.sources),
        dropped=visible_data(actor, result.dropped),
    )


def apply_merge(
    uow: UnitOfWork,
    actor: Principal,
    survivor_id: UUID,
    absorbed_ids: Sequence[UUID],
    choices: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    cluster_id: int | None = None,
    change_request_id: UUID | None = None,
) -> MergeResult:
    with uow:
        result = merge_customers(
            uow,
            actor,
            survivor_id,
            absorbed_ids,
            choices,
            expected_version=expected_version,
            change_request_id=change_request_id,
        )
        _close_cluster(uow, actor, cluster_id, result)
        return result


def _close_cluster(
    uow: UnitOfWork, actor: Principal, cluster_id: int | None, merged: MergeResult
) -> None:
    """Mark the review-queue cluster a merge came from as merged."""
    if cluster_id is not None:
        uow.matching.decide_cluster(cluster_id, "merged", utcnow(), actor.user_id, merged.merge_id)


def submit_unmerge(
    uow: UnitOfWork, actor: Principal, policy: Policy, merge_id: UUID
) -> MergeOutcome:
    direct = require_submit(actor, Operation.UNMERGE)
    with uow:
        merge = uow.matching.get_merge(merge_id)
        if merge is None:
            raise NotFound(f"no merge {merge_id}")
        if merge.unmerged_at is not None:  # before any change request is opened for it
            raise Conflict(f"merge {merge_id} was undone already")
        survivor = uow.customers.get(merge.survivor_id)
        request = open_request(
            uow,
            actor,
            policy,
            Operation.UNMERGE,
            customer_id=merge.survivor_id,
            changes=[
                {"field": "merge", "before": [str(a) for a in merge.absorbed_ids], "after": None}
            ],
            payload={"merge_id": str(merge_id)},
            before=None,
            after=None,
            base_version=survivor.version if survivor else None,
            entities=_entities([survivor] if survivor else []),
            direct=direct,
        )
        if request is not None:
            return MergeOutcome(request=request)
        result = unmerge(uow, actor, merge_id)
        return MergeOutcome(
            unmerge=replace(
                result,
                customer=visible_customer(actor, result.customer),
                restored=[visible_customer(actor, c) for c in result.restored],
            )
        )


def get_merge(uow: UnitOfWork, actor: Principal, merge_id: UUID) -> MergeRecord:
    """A merge record (``customer.read``): the stored snapshots with only the overrides
    ``actor`` may see."""
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        found = uow.matching.get_merge(merge_id)
    if found is None:
        raise NotFound(f"no merge {merge_id}")
    return replace(
        found,
        survivor_before=visible_data(actor, found.survivor_before),
        survivor_after=visible_data(actor, found.survivor_after),
        absorbed=visible_data(actor, found.absorbed),
        rules=visible_data(actor, found.rules),
        choices=visible_data(actor, found.choices),
    )
