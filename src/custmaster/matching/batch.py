"""Batch deduplication: blocking, comparison, scoring and clustering of a record set."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import tax_ids_conflict
from custmaster.matching.keys import DEFAULT_MAX_POSTINGS, match_keys
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import match_weight, probability_from_weight

__all__ = ["BatchResult", "ScoredPair", "batch_match", "candidate_pairs"]


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A scored candidate pair (``id_l`` < ``id_r`` in input order)."""

    id_l: str
    id_r: str
    match_weight: float
    probability: float


@dataclass
class BatchResult:
    """Output of :func:`batch_match`.

    Attributes:
        pairs: Pairs at or above the review threshold, strongest first.
        clusters: Groups of ids linked at the auto-merge threshold (size >= 2).
        stats: Counts and timings (``records``, ``candidate_pairs``, seconds per phase).
    """

    pairs: list[ScoredPair]
    clusters: list[list[str]]
    stats: dict[str, float] = field(default_factory=dict)

    def decisions(self, model: MatchModel) -> dict[str, list[ScoredPair]]:
        """Pairs grouped by decision (``auto_merge`` / ``review``)."""
        out: dict[str, list[ScoredPair]] = {"auto_merge": [], "review": []}
        for p in self.pairs:
            decision = model.thresholds.decide(p.probability)
            if decision in out:
                out[decision].append(p)
        return out


def candidate_pairs(
    features: list[MatchFeatures], max_block_size: int = DEFAULT_MAX_POSTINGS
) -> Iterable[tuple[int, int]]:
    """Yield each pair of positions sharing a blocking key exactly once.

    A pair is emitted under the first key (in the record's key order) the two share;
    keys shared by more than ``max_block_size`` records are ignored.

    Args:
        features: Prepared records.
        max_block_size: Largest posting list still used for blocking.

    Yields:
        ``(i, j)`` with ``i < j``.

    Example:
        >>> recs = [prepare(MatchRecord(str(i), name="Acme", country="DE")) for i in range(3)]
        >>> sorted(candidate_pairs(recs))
        [(0, 1), (0, 2), (1, 2)]
    """
    postings: dict[int, list[int]] = {}
    rec_keys: list[tuple[int, ...]] = []
    for pos, f in enumerate(features):
        hashes = tuple(hash(f"{t}\x1f{v}") for t, v in match_keys(f))
        rec_keys.append(hashes)
        for h in hashes:
            postings.setdefault(h, []).append(pos)
    usable = {h for h, ids in postings.items() if 1 < len(ids) <= max_block_size}
    rec_keys = [tuple(h for h in ks if h in usable) for ks in rec_keys]
    for h in usable:
        ids = postings[h]
        for x, i in enumerate(ids):
            keys_i = rec_keys[i]
            for j in ids[x + 1 :]:
                keys_j = rec_keys[j]
                first = next(k for k in keys_i if k in keys_j)
                if first == h:
                    yield i, j


def batch_match(
    records: Iterable[MatchRecord | MatchFeatures],
    model: MatchModel = DEFAULT_MODEL,
    max_block_size: int = DEFAULT_MAX_POSTINGS,
    keep_min_probability: float | None = None,
    max_cluster_size: int | None = 50,
    tax_id_constraint: bool | None = None,
) -> BatchResult:
    """Deduplicate a set of records.

    Blocks on :func:`~custmaster.matching.keys.match_keys`, scores every candidate pair
    with the Fellegi-Sunter model, keeps the pairs at or above the review threshold and
    clusters the auto-merge pairs (strongest first, refusing unions of clusters with
    tax ids that differ by more than a typo, see ``tax_id_constraint``).

    Args:
        records: Records (raw or prepared) with distinct ids.
        model: Model parameters and thresholds.
        max_block_size: Blocks larger than this are skipped (non-selective keys).
        keep_min_probability: Keep pairs at or above this probability (default: the
            model's review threshold).
        max_cluster_size: Cap on cluster size (guard against runaway chaining).
        tax_id_constraint: Refuse to cluster records whose tax ids differ by more than
            a typo. None (default) decides from the model: on when matches almost never
            disagree on tax id (m of level "different" below 1%), off for data where tax
            ids are unreliable.

    Returns:
        A :class:`BatchResult`.

    Example:
        >>> recs = [MatchRecord("1", name="Acme GmbH", email="a@acme.example", country="DE"),
        ...         MatchRecord("2", name="ACME G.m.b.H.", email="A@acme.example",
        ...                     country="DE"),
        ...         MatchRecord("3", name="Other AG", country="DE")]
        >>> batch_match(recs).clusters
        [['1', '2']]
    """
    t0 = time.perf_counter()
    feats = [r if isinstance(r, MatchFeatures) else prepare(r) for r in records]
    t1 = time.perf_counter()
    keep = model.thresholds.review if keep_min_probability is None else keep_min_probability
    pairs: list[ScoredPair] = []
    n_candidates = 0
    for i, j in candidate_pairs(feats, max_block_size):
        n_candidates += 1
        weight = match_weight(feats[i], feats[j], model)
        prob = probability_from_weight(weight)
        if prob >= keep:
            pairs.append(ScoredPair(feats[i].id, feats[j].id, weight, prob))
    t2 = time.perf_counter()
    pairs.sort(key=lambda p: (-p.match_weight, p.id_l, p.id_r))
    if tax_id_constraint is None:
        tax_id_constraint = model.levels["tax_id"][0].m < 0.01
    tax = {f.id: f.tax_id for f in feats if f.tax_id} if tax_id_constraint else {}
    clusters = cluster_pairs(
        ((p.id_l, p.id_r, p.probability) for p in pairs),
        model.thresholds.auto_merge,
        exclusive=tax,
        max_cluster_size=max_cluster_size,
        conflict=tax_ids_conflict,
    )
    t3 = time.perf_counter()
    stats = {
        "records": float(len(feats)),
        "candidate_pairs": float(n_candidates),
        "kept_pairs": float(len(pairs)),
        "prepare_s": t1 - t0,
        "block_score_s": t2 - t1,
        "cluster_s": t3 - t2,
    }
    return BatchResult(pairs, clusters, stats)
