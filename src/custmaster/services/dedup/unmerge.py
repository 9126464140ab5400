"""Undo a merge: the absorbed records come back exactly as they were, the survivor keeps
every change made to it after the merge.

The rule, per field of the survivor (master fields, each dimension and metadata key,
each override field per entity), from the merge's before and after snapshots and the
current state:

- the merge did not change the field: the current value stays;
- the merge changed it and nobody changed it since (current == after): back to the value
  before the merge;
- the merge changed it and it was changed again after the merge: the later change wins
  (the current value stays).

Child records the merge moved in (ids of the absorbed records' children) and the source
references it moved in leave the survivor and go back to their restored owner as they
were at merge time (an edit made to a moved-in child after the merge is not kept).
Child records added to the survivor after the merge stay. Events
``custmaster.customer.unmerged`` for the survivor and for every restored record.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain.context import ParseContext
from custmaster.domain.errors import Conflict, NotFound
from custmaster.domain.events import customer_event
from custmaster.domain.model import OVERRIDABLE_FIELDS, Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.restore import customer_from_snapshot
from custmaster.domain.rules import check_aggregate
from custmaster.domain.snapshot import CHILD_COLLECTIONS, diff, snapshot
from custmaster.services.dedup.index import refresh_match_keys_many
from custmaster.services.dedup.ports import MergeRecord
from custmaster.services.dedup.redirects import resolve
from custmaster.services.dedup.survivorship import moved_child_ids, refs_of
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile import merges as profile_merges
from custmaster.services.recording import record_change, utcnow
from custmaster.services.sources.merging import unmerge_sources

_FIXED = frozenset(
    {
        "id",
        "number",
        "status",
        "version",
        "created_at",
        "updated_at",
        "source_refs",
        "overrides",
        "dimensions",
        "metadata",
        *CHILD_COLLECTIONS,
    }
)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class UnmergeResult:
    merge_id: UUID
    customer: Customer
    restored: list[Customer]


def _three_way(before: Any, after: Any, current: Any) -> Any:
    """The value after the unmerge: the pre-merge value unless changed since the merge."""
    return before if before != after and current == after else current


def _mapping_three_way(
    before: Mapping[str, Any], after: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in [*current, *(k for k in before if k not in current)]:
        value = _three_way(
            before.get(key, _MISSING), after.get(key, _MISSING), current.get(key, _MISSING)
        )
        if value is not _MISSING:
            result[key] = value
    return result


def unmerged_snapshot(
    merge: MergeRecord, current: Mapping[str, Any], moved_children: set[str]
) -> dict[str, Any]:
    """The survivor's snapshot after undoing ``merge`` (see the module docstring)."""
    before, after = merge.survivor_before, merge.survivor_after
    result = copy.deepcopy(dict(current))
    for name in current:
        if name not in _FIXED:
            result[name] = _three_way(before.get(name), after.get(name), current[name])
    for name in ("dimensions", "metadata"):
        result[name] = _mapping_three_way(
            before.get(name) or {}, after.get(name) or {}, current.get(name) or {}
        )
    for kind in CHILD_COLLECTIONS:
        result[kind] = [r for r in current.get(kind) or [] if r["id"] not in moved_children]
    moved = {(s, i) for s, i, _ in merge.moved_refs}
    result["source_refs"] = [
        r
        for r in current.get("source_refs") or []
        if (r["source_system"], r["source_id"]) not in moved
    ]
    overrides: dict[str, Any] = {}
    empty: dict[str, Any] = {name: None for name in OVERRIDABLE_FIELDS}
    empty.update(dimensions={}, addresses=[])
    for entity, now in (current.get("overrides") or {}).items():
        b = (before.get("overrides") or {}).get(entity, empty)
        a = (after.get("overrides") or {}).get(entity, empty)
        o = {
            name: _three_way(b.get(name), a.get(name), now.get(name)) for name in OVERRIDABLE_FIELDS
        }
        o["dimensions"] = _mapping_three_way(
            b.get("dimensions") or {}, a.get("dimensions") or {}, now.get("dimensions") or {}
        )
        o["addresses"] = [x for x in now.get("addresses") or [] if x["id"] not in moved_children]
        if (
            any(o[name] is not None for name in OVERRIDABLE_FIELDS)
            or o["dimensions"]
            or (o["addresses"])
        ):
            overrides[entity] = o
    result["overrides"] = overrides
    return result


def unmerge(uow: UnitOfWork, actor: Principal, merge_id: UUID) -> UnmergeResult:
    """Undo merge ``merge_id``: restore the absorbed records, their children and source
    references exactly as they were, and take back from the survivor what the merge
    brought in, keeping every change made to it since."""
    require(actor, Permission.MERGE_PROPOSE)
    with uow:
        merge = uow.matching.get_merge(merge_id, for_update=True)
        if merge is None:
            raise NotFound(f"no merge {merge_id}")
        if merge.unmerged_at is not None:
            raise Conflict(f"merge {merge_id} was undone already")
        current = uow.customers.get(merge.survivor_id, for_update=True)
        if current is None:
            target, followed = resolve(uow, merge.survivor_id)
            if followed:
                raise Conflict(
                    f"the survivor {merge.survivor_id} was merged into {target} afterwards "
                    f"(merge {followed[0]}); undo that merge first"
                )
            raise Conflict(f"the survivor {merge.survivor_id} was deleted after the merge")
        _check_restorable(uow, merge)
        now = utcnow()
        before = snapshot(current)
        result = unmerged_snapshot(merge, before, moved_child_ids(merge.absorbed))
        survivor = customer_from_snapshot(result)
        survivor.version = current.version + 1
        survivor.updated_at = now
        ctx = ParseContext()
        check_aggregate(survivor, ctx)
        ctx.errors.raise_if_any()
        uow.customers.update(current, survivor)
        restored = [customer_from_snapshot(snap) for snap in merge.absorbed]
        for customer in restored:
            uow.customers.add(customer)
        unmerge_sources(uow, merge.rules.get("source_records"), survivor, now)
        uow.matching.remove_redirects(merge.id)
        profile_merges.release(uow, survivor.id, [c.id for c in restored])  # activity too
        uow.matching.mark_unmerged(merge.id, now, actor.user_id)
        refresh_match_keys_many(uow, [survivor, *restored])
        _record(uow, actor, merge, before, survivor, restored, now)
        return UnmergeResult(merge.id, survivor, restored)


def _check_restorable(uow: UnitOfWork, merge: MergeRecord) -> None:
    for snap in merge.absorbed:
        if uow.customers.get(UUID(snap["id"])) is not None:  # pragma: no cover - ids are unique
            raise Conflict(f"customer {snap['id']} exists again")
    for ref, _ in refs_of(merge.absorbed):
        owner = uow.customers.by_source_ref(ref)
        if owner is not None and owner != merge.survivor_id:
            raise Conflict(
                f"{ref.source_system}/{ref.source_id} points at customer {owner} now; "
                "move it back to the survivor before undoing the merge"
            )


def _record(
    uow: UnitOfWork,
    actor: Principal,
    merge: MergeRecord,
    before: dict[str, Any],
    survivor: Customer,
    restored: list[Customer],
    now: datetime,
) -> None:
    after = snapshot(survivor)
    restored_ids = [str(c.id) for c in restored]
    changes = [
        *diff(before, after),
        {"field": "merged_from", "before": restored_ids, "after": None},
    ]
    record_change(
        uow,
        actor,
        operation="unmerge",
        resource_type="customer",
        resource_id=str(survivor.id),
        changes=changes,
        event=customer_event(
            "unmerged",
            survivor.id,
            now,
            {
                "merge_id": str(merge.id),
                "role": "survivor",
                "restored_ids": restored_ids,
                "changes": changes,
                "customer": after,
            },
        ),
    )
    for customer in restored:
        snap = snapshot(customer)
        record_change(
            uow,
            actor,
            operation="unmerge",
            resource_type="customer",
            resource_id=str(customer.id),
            changes=[
                *diff(None, snap),
                {"field": "merged_into", "before": str(survivor.id), "after": None},
            ],
            event=customer_event(
                "unmerged",
                customer.id,
                now,
                {
                    "merge_id": str(merge.id),
                    "role": "restored",
                    "survivor_id": str(survivor.id),
                    "customer": snap,
                },
            ),
        )
