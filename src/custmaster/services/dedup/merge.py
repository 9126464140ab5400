"""Merge duplicates into a golden record (survivorship rules per field).

The absorbed customers leave the ``customers`` table but are kept whole in the merge
record (snapshots of every absorbed aggregate and of the survivor before the merge), so
:func:`custmaster.services.dedup.unmerge.unmerge` restores them exactly; their ids
redirect to the survivor. Audit entries and events for every record touched:
``custmaster.customer.merged`` (survivor) and ``custmaster.customer.absorbed`` (each
absorbed record). No limit on the number of records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning, FieldError, ValidationFailed
from custmaster.domain.events import customer_event
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import diff, snapshot
from custmaster.services.customers.common import check_references, check_version, load
from custmaster.services.dedup.index import refresh_match_keys, remove_match_keys
from custmaster.services.dedup.ports import MergeRecord, Redirect
from custmaster.services.dedup.survivorship import (
    SurvivorshipConfig,
    load_survivorship,
    plan_merge,
    refs_of,
)
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile import merges as profile_merges
from custmaster.services.recording import record_change, utcnow
from custmaster.services.sources.merging import merge_sources


@dataclass(frozen=True, slots=True)
class MergeResult:
    merge_id: UUID
    customer: Customer
    absorbed_ids: list[UUID]
    rules: dict[str, str]
    sources: dict[str, str]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[ChangeWarning] = field(default_factory=list)


def _check_ids(survivor_id: UUID, absorbed_ids: Sequence[UUID]) -> None:
    problems: list[FieldError] = []
    if not absorbed_ids:
        problems.append(FieldError("absorbed_ids", "required", "name at least one record"))
    if len(set(absorbed_ids)) != len(absorbed_ids):
        problems.append(FieldError("absorbed_ids", "duplicate", "lists a record twice"))
    if survivor_id in absorbed_ids:
        problems.append(
            FieldError("absorbed_ids", "is_survivor", "the survivor cannot absorb itself")
        )
    if problems:
        raise ValidationFailed(problems)


def merge_customers(
    uow: UnitOfWork,
    actor: Principal,
    survivor_id: UUID,
    absorbed_ids: Sequence[UUID],
    choices: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    config: SurvivorshipConfig | None = None,
    change_request_id: UUID | None = None,
) -> MergeResult:
    """Merge ``absorbed_ids`` into ``survivor_id`` in one transaction.

    Args:
        uow: The unit of work.
        actor: Who merges (needs ``merge.propose``; approval routing is the caller's).
        survivor_id: The record that stays (its id and number are the golden record's).
        absorbed_ids: The records absorbed (any number, at least one).
        choices: The steward's choices per field, ``{"field": {"from": id}}`` or
            ``{"field": {"value": ...}}``; they win over the survivorship rules.
        expected_version: The survivor's version the steward saw (If-Match).
        config: Survivorship rules (default: ``custmaster/survivorship.yaml``).
        change_request_id: The approved change request this merge applies, if any.

    Returns:
        The golden record, the merge id, the rule and source record of every field.
    """
    require(actor, Permission.MERGE_PROPOSE)
    with uow:
        survivor, absorbed = load_merge(uow, survivor_id, absorbed_ids, expected_version)
        return merge_loaded(
            uow,
            actor,
            survivor,
            absorbed,
            choices,
            config=config,
            change_request_id=change_request_id,
        )


def load_merge(
    uow: UnitOfWork,
    survivor_id: UUID,
    absorbed_ids: Sequence[UUID],
    expected_version: int | None = None,
) -> tuple[Customer, list[Customer]]:
    """The survivor and the absorbed records of a merge, checked and locked (survivor
    first, then the absorbed in the order given), inside the caller's transaction."""
    _check_ids(survivor_id, absorbed_ids)
    survivor = load(uow, survivor_id, for_update=True)
    check_version(survivor, expected_version)
    return survivor, [load(uow, customer_id, for_update=True) for customer_id in absorbed_ids]


def merge_loaded(
    uow: UnitOfWork,
    actor: Principal,
    survivor: Customer,
    absorbed: Sequence[Customer],
    choices: Mapping[str, Any],
    *,
    config: SurvivorshipConfig | None = None,
    change_request_id: UUID | None = None,
) -> MergeResult:
    """The merge itself, on records :func:`load_merge` loaded in the same transaction."""
    require(actor, Permission.MERGE_PROPOSE)
    rules_config = config or load_survivorship()
    absorbed_ids = [customer.id for customer in absorbed]
    with uow:
        now = utcnow()
        ctx = ParseContext()
        plan = plan_merge(survivor, absorbed, rules_config, choices, now=now, ctx=ctx)
        check_references(uow, ctx)
        ctx.errors.raise_if_any()
        merge_id = uuid4()
        before = snapshot(survivor)
        absorbed_snapshots = [snapshot(c) for c in absorbed]
        kept_sources = merge_sources(uow, survivor, absorbed, plan.customer, plan.sources, now)
        for customer in absorbed:
            uow.customers.delete(customer.id)
        uow.customers.update(survivor, plan.customer)
        after = snapshot(plan.customer)
        uow.matching.add_merge(
            MergeRecord(
                id=merge_id,
                survivor_id=survivor.id,
                absorbed_ids=list(absorbed_ids),
                survivor_before=before,
                survivor_after=after,
                absorbed=absorbed_snapshots,
                rules={
                    "config": rules_config.to_dict(),
                    "applied": plan.rules,
                    "sources": plan.sources,
                    "dropped": plan.dropped,
                    "source_records": kept_sources,
                },
                choices=dict(choices),
                merged_at=now,
                merged_by=actor.user_id,
                moved_refs=[
                    (r.source_system, r.source_id, owner)
                    for r, owner in refs_of(absorbed_snapshots)
                ],
            )
        )
        uow.matching.add_redirects([Redirect(c.id, survivor.id, merge_id) for c in absorbed], now)
        profile_merges.absorb(uow, survivor.id, list(absorbed_ids))  # activity follows
        remove_match_keys(uow, list(absorbed_ids))
        refresh_match_keys(uow, plan.customer)
        _close_clusters(uow, actor, {survivor.id, *absorbed_ids}, merge_id, now)
        absorbed_text = [str(i) for i in absorbed_ids]
        changes = [
            *diff(before, after),
            {"field": "merged_from", "before": None, "after": absorbed_text},
        ]
        record_change(
            uow,
            actor,
            operation="merge",
            resource_type="customer",
            resource_id=str(survivor.id),
            changes=changes,
            change_request_id=change_request_id,
            event=customer_event(
                "merged",
                survivor.id,
                now,
                {
                    "merge_id": str(merge_id),
                    "absorbed_ids": absorbed_text,
                    "changes": changes,
                    "customer": after,
                },
            ),
        )
        for customer, snap in zip(absorbed, absorbed_snapshots, strict=True):
            record_change(
                uow,
                actor,
                operation="absorb",
                resource_type="customer",
                resource_id=str(customer.id),
                changes=[
                    {"field": "customer", "before": snap, "after": None},
                    {"field": "merged_into", "before": None, "after": str(survivor.id)},
                ],
                change_request_id=change_request_id,
                event=customer_event(
                    "absorbed",
                    customer.id,
                    now,
                    {
                        "merge_id": str(merge_id),
                        "survivor_id": str(survivor.id),
                        "number": customer.number,
                        "customer": snap,
                    },
                ),
            )
        return MergeResult(
            merge_id,
            plan.customer,
            list(absorbed_ids),
            plan.rules,
            plan.sources,
            plan.dropped,
            ctx.warnings,
        )


def _close_clusters(
    uow: UnitOfWork, actor: Principal, merged: set[UUID], merge_id: UUID, now: Any
) -> None:
    """Open review clusters the merge settles are merged; those it only touches are
    superseded (their records changed; the next batch run proposes them again)."""
    for cluster_id in uow.matching.open_clusters_with(sorted(merged, key=str)):
        cluster = uow.matching.get_cluster(cluster_id)
        if cluster is None:  # pragma: no cover - listed a moment ago in this transaction
            continue
        settled = {UUID(m) for m in cluster.members} <= merged
        uow.matching.decide_cluster(
            cluster_id,
            "merged" if settled else "superseded",
            now,
            actor.user_id,
            merge_id if settled else None,
        )
