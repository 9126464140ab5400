"""Auto-merge after a batch run (``custmaster match run --auto-merge``).

Every link at or above the auto-merge threshold is merged, wherever it sits:

* an ``auto_merge`` cluster (all its members linked at the threshold) is settled whole:
  its customers merged into the oldest, its pending source records joined to it (or made
  a golden record together, ``services.sources.pending.settle_cluster``);
* a ``review`` cluster may hold groups linked at the threshold, joined to each other by
  weaker links only: each such group is settled the same way, and the cluster goes back
  to the queue with the golden records the groups became as members (the weaker links
  between them are what the steward reviews). Without this a strong pair waited for a
  steward only because a third, weaker record was linked to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Principal
from custmaster.matching.cluster import cluster_pairs
from custmaster.services.dedup.merge import merge_customers
from custmaster.services.dedup.ports import NewCluster
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.pending import settle_cluster


def strong_groups(cluster: NewCluster, auto: float) -> list[list[str]]:
    """The groups of a cluster's members linked at or above ``auto`` (two or more each;
    its stored pairs hold every link, or a maximum spanning tree, which connects the same
    groups at any threshold)."""
    return cluster_pairs(
        ((str(p["a"]), str(p["b"]), float(p["score"])) for p in cluster.pairs),
        auto,
        max_cluster_size=None,
    )


def regrouped(cluster: NewCluster, owner: dict[str, str]) -> NewCluster | None:
    """``cluster`` with each member replaced by the golden record it became (``owner``);
    per pair of owners the strongest link stays. ``None`` when fewer than two are left."""
    members = list(dict.fromkeys(owner.get(m, m) for m in cluster.members))
    if len(members) < 2:
        return None
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for pair in cluster.pairs:
        a, b = owner.get(pair["a"], pair["a"]), owner.get(pair["b"], pair["b"])
        if a == b:
            continue
        key = (a, b) if a < b else (b, a)
        if key not in best or pair["score"] > best[key]["score"]:
            best[key] = {**pair, "a": key[0], "b": key[1], "linked": [pair["a"], pair["b"]]}
    if not best:
        return None
    pairs = sorted(best.values(), key=lambda p: (-p["score"], p["a"], p["b"]))
    return NewCluster("review", pairs[0]["score"], members, pairs)


def auto_merge(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    settings: ServiceSettings,
    run_id: UUID,
    clusters: Sequence[NewCluster],
    numbers: dict[str, str],
    auto: float,
) -> dict[str, int]:
    """Merge what the run linked at the auto-merge threshold (see the module docstring).
    Counts: ``auto_merged`` (whole clusters), ``auto_merged_groups`` (groups inside review
    clusters), ``requeued`` (review clusters put back with the merged groups), ``queued``
    (clusters of the run left in the review queue)."""

    def settle(members: Sequence[str]) -> UUID | None:
        return settle_cluster(
            new_uow,
            actor,
            settings,
            members,
            numbers,
            lambda survivor, absorbed: merge_customers(new_uow(), actor, survivor, absorbed, {}),
        )

    counts = {"auto_merged": 0, "auto_merged_groups": 0, "requeued": 0, "queued": 0}
    requeue: list[NewCluster] = []
    replaced: list[NewCluster] = []
    for cluster in clusters:
        if cluster.proposal == "auto_merge":
            counts["auto_merged"] += settle(cluster.members) is not None
            continue
        owner: dict[str, str] = {}
        for group in strong_groups(cluster, auto):
            golden = settle(group)
            if golden is not None:
                counts["auto_merged_groups"] += 1
                owner.update((m, str(golden)) for m in group)
        if owner:
            left = regrouped(cluster, owner)
            replaced.append(cluster)
            if left is not None:
                requeue.append(left)
    if replaced:
        uow = new_uow()
        with uow:
            _supersede(uow, actor, replaced)
            uow.matching.add_clusters(run_id, utcnow(), requeue)
        counts["requeued"] = len(requeue)
    # what is left for the stewards: the clusters not merged, regrouped ones as requeued
    counts["queued"] = len(clusters) - counts["auto_merged"] - len(replaced) + len(requeue)
    return counts


def _supersede(uow: UnitOfWork, actor: Principal, clusters: Sequence[NewCluster]) -> None:
    """The review clusters whose groups were merged are superseded (by the requeued ones;
    a merge supersedes those it touches already, a group of pending records made a golden
    record touches none)."""
    members = sorted({UUID(m) for c in clusters for m in c.members}, key=str)
    now = utcnow()
    for cluster_id in uow.matching.open_clusters_with(members):
        uow.matching.decide_cluster(cluster_id, "superseded", now, actor.user_id, None)
