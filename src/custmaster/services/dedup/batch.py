"""Batch matching (``custmaster match run``): score the whole base and fill the review
queue.

Reads the prepared features of every active customer from the match index (streamed,
no re-normalisation), blocks on the match keys, scores every candidate pair with the
Fellegi-Sunter model, skips the pairs a steward marked as not duplicates, clusters the
pairs at or above the review threshold (strongest first, refusing clusters whose tax ids
conflict when the model trusts tax ids) and writes one review cluster per group. A
cluster whose links are all at or above the auto-merge threshold is proposed as
``auto_merge``; it is merged without review only when the run is asked to
(``auto_merge=True``, ``custmaster match run --auto-merge``, which also merges the groups
linked at that threshold inside review clusters: ``services.dedup.auto_merge``): by
default everything is queued for a steward. Each run supersedes the open clusters of the
previous run (decisions stay). The model is the current model version (``custmaster match train``),
unless one is passed; the run stores the model and its version.
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.matching.batch import batch_match, own_records
from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import tax_ids_conflict
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.model import MatchModel
from custmaster.matching.record import MatchFeatures
from custmaster.matching.scoring import score
from custmaster.services.dedup.auto_merge import auto_merge as merge_automatically
from custmaster.services.dedup.models import current_model_and_version
from custmaster.services.dedup.online import explain
from custmaster.services.dedup.ports import NewCluster
from custmaster.services.dedup.records import features_from_json
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.variants import Variants, load_variants, owner_pairs

#: progress(phase, done, total)
Progress = Callable[[str, int, int], None]
Trainer = Callable[[Sequence[MatchFeatures], int], MatchModel]
#: No cap: one company written hundreds of ways is one cluster.
MAX_CLUSTER_SIZE: int | None = None
#: Clusters up to this size store every scored link of their members; larger ones the
#: strongest links that connect them (a spanning tree: size - 1 pairs to review).
ALL_LINKS_UP_TO = 50
#: Smallest base scored in several processes by default (below, forking costs more than
#: it saves).
PARALLEL_FROM = 50_000


@dataclass
class BatchRun:
    run_id: UUID
    stats: dict[str, Any] = field(default_factory=dict)
    model: MatchModel | None = None
    model_version: int | None = None


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _load(
    uow: UnitOfWork, batch_size: int, progress: Progress | None
) -> tuple[list[MatchFeatures], dict[str, str], set[tuple[str, str]], Variants]:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a million small objects without cycles: collections only cost time
    try:
        with uow.read_only():
            total = uow.matching.count_records()
            feats: list[MatchFeatures] = []
            numbers: dict[str, str] = {}
            for batch in uow.matching.iter_records(batch_size):
                for record in batch:
                    feats.append(features_from_json(record.features))
                    numbers[str(record.customer_id)] = record.number
                if progress:
                    progress("reading", len(feats), total)
            rejected = uow.matching.not_duplicate_pairs()
            # the other forms the golden records' sources gave them (services.sources)
            variants = load_variants(uow, {f.id: f for f in feats}, batch_size)
    finally:
        if gc_was_enabled:
            gc.enable()
    return feats, numbers, rejected, variants


def run_batch(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    settings: ServiceSettings,
    *,
    model: MatchModel | None = None,
    trainer: Trainer | None = None,
    train_sample: int = 100_000,
    auto_merge: bool = False,
    batch_size: int = 20_000,
    workers: int | None = None,
    progress: Progress | None = None,
) -> BatchRun:
    """Score the whole base and fill the review queue (see the module docstring).

    Args:
        new_uow: Makes a unit of work (one per transaction: reading, writing the
            queue, each auto-merge).
        actor: Who runs it (needs ``merge.propose``).
        settings: Service settings (auto-merges).
        model: The model to use; default: ``trainer``'s, else the current model version
            (else the latest run's model, else the default model).
        trainer: Estimates a model without labels (``(sample, population) -> model``,
            e.g. Splink EM through ``custmaster.matching.splink_training``).
        train_sample: Records sampled for training.
        auto_merge: Merge ``auto_merge`` clusters, and the groups linked at the auto-merge
            threshold inside review clusters, without review (survivor: the oldest
            customer number).
        batch_size: Rows per read.
        workers: Processes scoring the candidate pairs (default: one per CPU from
            :data:`PARALLEL_FROM` records on, else 1). The result does not depend on it.
        progress: Called with (phase, done, total).
    """
    require(actor, Permission.MERGE_PROPOSE)
    started = time.perf_counter()
    run = BatchRun(uuid4())
    feats, numbers, rejected, variants = _load(new_uow(), batch_size, progress)
    t_read = time.perf_counter()
    if model is None and trainer is not None and len(feats) > 1:
        if progress:
            progress("training", 0, 1)
        sample = (
            feats if len(feats) <= train_sample else random.Random(7).sample(feats, train_sample)
        )
        model = trainer(sample, len(feats))
    if model is None:
        uow = new_uow()
        with uow.read_only():
            model, run.model_version = current_model_and_version(uow)
    run.model = model
    t_train = time.perf_counter()
    if progress:
        progress("scoring", 0, 1)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(feats) >= PARALLEL_FROM else 1
    stored_model = model
    scored = feats + variants.features
    # the values many of these records share weigh less (scores and explanations alike)
    own = own_records(model, len(scored))
    model = model.with_tf(TermFrequencies.from_features(scored, own=own))
    result = batch_match(
        scored, model, max_cluster_size=MAX_CLUSTER_SIZE, workers=workers, term_frequencies=False
    )
    t_score = time.perf_counter()
    # a variant's links count for its golden record: per pair of records the strongest
    pairs, via = owner_pairs(result.pairs, variants.owner)
    kept = [p for p in pairs if _pair(p.id_l, p.id_r) not in rejected]
    clusters = _clusters(feats, kept, model, rejected)
    by_id = {f.id: f for f in scored}
    links_of: dict[str, list[tuple[str, str, float]]] = {}
    for p in kept:
        link = (*_pair(p.id_l, p.id_r), p.probability)
        links_of.setdefault(p.id_l, []).append(link)
        links_of.setdefault(p.id_r, []).append(link)
    new_clusters = [_new_cluster(members, links_of, by_id, model, via) for members in clusters]
    new_clusters.sort(key=lambda c: (-c.score, c.members))
    t_cluster = time.perf_counter()
    now = utcnow()
    uow = new_uow()
    with uow:
        uow.matching.start_run(
            run.run_id, actor.user_id, now, stored_model.to_dict(), run.model_version
        )
        superseded = uow.matching.supersede_open_clusters(now)
        uow.matching.add_clusters(run.run_id, now, new_clusters)
        run.stats = {
            "records": len(feats),
            "source_variants": len(variants.features),
            "model_version": run.model_version,
            "candidate_pairs": int(result.stats["candidate_pairs"]),
            "pairs_at_review_threshold": len(pairs),
            "pairs_skipped_not_duplicate": len(pairs) - len(kept),
            "clusters": len(new_clusters),
            "auto_merge_clusters": sum(c.proposal == "auto_merge" for c in new_clusters),
            "review_clusters": sum(c.proposal == "review" for c in new_clusters),
            "superseded_clusters": superseded,
            "workers": workers,
            "seconds": {
                "read": round(t_read - started, 2),
                "train": round(t_train - t_read, 2),
                "block_score": round(t_score - t_train, 2),
                "cluster": round(t_cluster - t_score, 2),
            },
        }
        uow.matching.finish_run(run.run_id, utcnow(), run.stats)
    if auto_merge:
        run.stats.update(
            merge_automatically(
                new_uow,
                actor,
                settings,
                run.run_id,
                new_clusters,
                numbers,
                model.thresholds.auto_merge,
            )
        )
    run.stats["seconds"]["total"] = round(time.perf_counter() - started, 2)
    return run


def _clusters(
    feats: list[MatchFeatures],
    pairs: Sequence[Any],
    model: MatchModel,
    rejected: set[tuple[str, str]],
) -> list[list[str]]:
    """Groups at the review threshold; a group holding a pair a steward rejected falls
    apart into its remaining pairs (a rejected pair is never proposed again)."""
    tax = {f.id: f.tax_id for f in feats if f.tax_id} if model.levels["tax_id"][0].m < 0.01 else {}
    groups = cluster_pairs(
        ((p.id_l, p.id_r, p.probability) for p in pairs),
        model.thresholds.review,
        exclusive=tax,
        max_cluster_size=MAX_CLUSTER_SIZE,
        conflict=tax_ids_conflict,
    )
    if not rejected:
        return groups
    out: list[list[str]] = []
    linked = {_pair(p.id_l, p.id_r) for p in pairs}
    for group in groups:
        inside = {_pair(a, b) for a, b in combinations(group, 2)}
        if inside & rejected:
            out.extend(list(pair) for pair in sorted(inside & linked))
        else:
            out.append(group)
    return out


def _spanning(links: list[tuple[tuple[str, str], float]]) -> list[tuple[tuple[str, str], float]]:
    """The strongest links that connect the members (Kruskal on descending score)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out = []
    for pair, p in links:
        ra, rb = find(pair[0]), find(pair[1])
        if ra != rb:
            parent[ra] = rb
            out.append((pair, p))
    return out


def _new_cluster(
    members: list[str],
    links_of: dict[str, list[tuple[str, str, float]]],
    by_id: dict[str, MatchFeatures],
    model: MatchModel,
    via: dict[tuple[str, str], tuple[str, str]],
) -> NewCluster:
    inside = set(members)
    found = {
        (a, b): p for m in members for a, b, p in links_of.get(m, ()) if a in inside and b in inside
    }
    links = sorted(found.items(), key=lambda x: (-x[1], x[0]))
    shown = links if len(members) <= ALL_LINKS_UP_TO else _spanning(links)
    pairs = []
    for (a, b), _ in shown:
        records = via.get((a, b))
        ra, rb = records or (a, b)
        result = score(by_id[ra], by_id[rb], model)
        pair: dict[str, Any] = {
            "a": a,
            "b": b,
            "score": result.probability,
            "match_weight": round(result.match_weight, 4),
            "explanation": explain(result),
        }
        if records is not None:  # linked through a source record's form of a or b
            pair["source_records"] = [ra, rb]
        pairs.append(pair)
    auto = model.thresholds.auto_merge
    strong = {frozenset(pair) for pair, p in links if p >= auto}
    connected = cluster_pairs(((a, b, 1.0) for a, b in strong), 0.5, max_cluster_size=None)
    proposal = (
        "auto_merge" if len(connected) == 1 and len(connected[0]) == len(members) else "review"
    )
    return NewCluster(proposal, max(p for _, p in links), members, pairs)
