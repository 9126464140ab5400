"""The review queue's clusters exported with their members' source records
(``custmaster match clusters``, ``GET /api/v1/clusters/export``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.dedup.ports import ClusterRecord
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.ports import SourceRecord

PAGE = 500
#: The columns of the CSV export: one line per member of a cluster.
CSV_COLUMNS = (
    "cluster_id",
    "status",
    "proposal",
    "score",
    "member_id",
    "member_kind",
    "number",
    "name",
    "source_ids",
)


def export_clusters(
    new_uow: Callable[[], UnitOfWork], actor: Principal, *, status: str | None = "open"
) -> Iterator[dict[str, Any]]:
    """Every cluster (of ``status``; ``None``: all), page by page, each member with its
    kind (a customer, or an incomplete source record), number, name and the source ids
    (``system/id``) of its source records (of a pending group's member: the group's)."""
    require(actor, Permission.CUSTOMER_READ)
    after: int | None = None
    while True:
        uow = new_uow()
        with uow.read_only():
            clusters = uow.matching.list_clusters(status, after, PAGE)
            ids = sorted({UUID(m) for c in clusters for m in c.members}, key=str)
            indexed = {r.customer_id: r for r in uow.matching.records(ids)}
            pending = {r.id: r for r in uow.sources.get(ids) if r.golden_id is None}
            golden = uow.sources.for_golden([i for i in ids if i not in pending])
            groups = {r.pending_group for r in pending.values() if r.pending_group is not None}
            grouped = uow.sources.in_groups(sorted(groups, key=str))
        # a pending group's member stands for the group: every record's source id
        group_refs: dict[UUID, list[str]] = {}
        for kept in grouped:
            assert kept.pending_group is not None
            group_refs.setdefault(kept.pending_group, []).append(
                _ref(kept.source_system, kept.source_id)
            )
        sources: dict[UUID, list[str]] = {}
        for kept in golden:
            assert kept.golden_id is not None
            ref = _ref(kept.source_system, kept.source_id)
            sources.setdefault(kept.golden_id, []).append(ref)
        for cluster in clusters:
            members = []
            for member in cluster.members:
                key = UUID(member)
                record = pending.get(key)
                index = indexed.get(key)
                members.append(
                    {
                        "id": member,
                        "kind": "source_record" if record is not None else "customer",
                        "number": None if record is not None or index is None else index.number,
                        "name": index.name if index is not None else None,
                        "source_ids": _pending_refs(record, group_refs)
                        if record is not None
                        else sorted(set(sources.get(key, []))),
                    }
                )
            yield {
                "id": cluster.id,
                "status": cluster.status,
                "proposal": cluster.proposal,
                "score": cluster.score,
                "run_id": None if cluster.run_id is None else str(cluster.run_id),
                "members": members,
                "pairs": cluster.pairs,
            }
        if len(clusters) < PAGE:
            return
        after = clusters[-1].id


def pending_members(
    uow: UnitOfWork, actor: Principal, clusters: Sequence[ClusterRecord]
) -> set[str]:
    """Which members of ``clusters`` are pending source records (not customers)."""
    require(actor, Permission.CUSTOMER_READ)
    ids = sorted({UUID(m) for c in clusters for m in c.members}, key=str)
    if not ids:
        return set()
    with uow.read_only():
        return {str(r.id) for r in uow.sources.get(ids) if r.golden_id is None}


def _pending_refs(record: SourceRecord, groups: dict[UUID, list[str]]) -> list[str]:
    if record.pending_group is not None and record.pending_group in groups:
        return sorted(set(groups[record.pending_group]))
    return [_ref(record.source_system, record.source_id)]


def _ref(system: str, source_id: str | None) -> str:
    return f"{system}/{source_id}" if source_id is not None else system


def csv_rows(cluster: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The CSV lines of one exported cluster (one per member)."""
    for member in cluster["members"]:
        yield {
            "cluster_id": cluster["id"],
            "status": cluster["status"],
            "proposal": cluster["proposal"],
            "score": round(cluster["score"], 6),
            "member_id": member["id"],
            "member_kind": member["kind"],
            "number": member["number"] or "",
            "name": member["name"] or "",
            "source_ids": " ".join(member["source_ids"]),
        }
