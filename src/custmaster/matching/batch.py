"""Batch deduplication: blocking, comparison, scoring and clustering of a record set."""

from __future__ import annotations

import gc
import math
import multiprocessing
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import tax_ids_conflict
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.keys import DEFAULT_MAX_POSTINGS, match_keys
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import match_weight_filter, probability_from_weight

__all__ = [
    "BatchResult",
    "BlockPairSample",
    "Blocking",
    "ScoredPair",
    "batch_match",
    "block_pair_sample",
    "candidate_pairs",
]


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


#: Blocks up to this size are compared in full; larger ones (up to the block cap) by
#: a sliding window over their members sorted by name (sorted neighbourhood).
DEFAULT_FULL_BLOCK_SIZE = 30
#: Neighbours on each side in a windowed block of one name word (``token`` keys): the
#: broadest keys, there to catch reordered and partly written names.
TOKEN_WINDOW = 3
#: Neighbours on each side a member of a windowed block is compared with.
DEFAULT_WINDOW = 8


@dataclass(frozen=True, slots=True)
class Blocking:
    """How candidate pairs are formed from blocking keys.

    Attributes:
        max_block_size: Keys shared by more records are ignored (None, the default:
            no key is ever skipped).
        full_block_size: Blocks up to this size yield every pair of their members.
            Larger blocks are sub-blocked by sorted neighbourhood: sorted by normalised
            name (then street, phone), each member is paired with its ``window``
            neighbours on either side: a big block (a common name word, one company
            written hundreds of ways) is mostly unrelated records or copies that sort
            next to each other, and linked copies chain into one cluster.
        window: Neighbours per side in a windowed block.
    """

    max_block_size: int | None = None
    full_block_size: int = DEFAULT_FULL_BLOCK_SIZE
    window: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        too_small = self.max_block_size is not None and self.max_block_size < 2
        if too_small or self.full_block_size < 2 or self.window < 1:
            raise ValueError(f"blocking needs block sizes >= 2 and a window >= 1: {self}")

    @classmethod
    def exhaustive(cls, max_block_size: int = DEFAULT_MAX_POSTINGS) -> Blocking:
        """Every pair of every block up to ``max_block_size`` (no windowing)."""
        return cls(max_block_size, max_block_size, max_block_size)


def _sort_key(f: MatchFeatures) -> tuple[str, str, str]:
    return (f.name or "", f.street or "", f.phone or "")


def _blocks(
    features: Sequence[MatchFeatures], blocking: Blocking
) -> tuple[list[list[int]], list[tuple[int, ...]]]:
    """Usable blocks (posting lists of 2..max_block_size positions: ascending up to
    ``full_block_size``, by name above, followed by a position -> index map) and, per
    record, the indexes of its usable blocks in the record's key order."""
    postings: dict[tuple[str, str], list[int]] = {}
    rec_keys: list[list[tuple[str, str]]] = []
    for pos, f in enumerate(features):
        keys = match_keys(f)
        rec_keys.append(keys)
        for key in keys:
            ids = postings.get(key)
            if ids is None:
                postings[key] = [pos]
            else:
                ids.append(pos)
    blocks: list[list[int]] = []
    block_of: dict[tuple[str, str], int] = {}
    cap = blocking.max_block_size
    _narrow.clear()
    for key, ids in postings.items():
        if len(ids) > 1 and (cap is None or len(ids) <= cap):
            if len(ids) > blocking.full_block_size:
                ids.sort(key=lambda pos: (_sort_key(features[pos]), pos))
            block_of[key] = len(blocks)
            if key[0] == "token":
                _narrow.add(len(blocks))
            blocks.append(ids)
    del postings
    rec_blocks = [tuple(block_of[k] for k in keys if k in block_of) for keys in rec_keys]
    return blocks, rec_blocks


_where: dict[int, dict[int, int]] = {}
#: Blocks of a ``token`` key (windowed with :data:`TOKEN_WINDOW`), set by ``_blocks``.
_narrow: set[int] = set()


def _index_in(ids: list[int], i: int, b: int) -> int:
    """Where position ``i`` stands in the large block ``b`` (a map built once per block
    and process: ``list.index`` on every member would be quadratic)."""
    where = _where.get(b)
    if where is None or len(where) != len(ids):
        where = {pos: k for k, pos in enumerate(ids)}
        _where[b] = where
    return where[i]


def _partners(
    i: int, blocks: list[list[int]], mine: tuple[int, ...], full: int, window: int
) -> set[int]:
    """Positions after ``i`` sharing a usable block with it (within the window in a
    windowed block)."""
    if len(mine) == 1 and len(blocks[mine[0]]) <= full:
        ids = blocks[mine[0]]
        return set(ids[ids.index(i) + 1 :])
    out: set[int] = set()
    for b in mine:
        ids = blocks[b]
        if len(ids) <= full:
            out.update(ids)
        else:
            at = _index_in(ids, i, b)
            w = min(window, TOKEN_WINDOW) if b in _narrow else window
            out.update(ids[max(0, at - w) : at + w + 1])
    return {j for j in out if j > i}


def candidate_pairs(
    features: list[MatchFeatures], blocking: Blocking | None = None
) -> Iterable[tuple[int, int]]:
    """Yield each pair of positions sharing a blocking key exactly once.

    Keys shared by more than ``blocking.max_block_size`` records are ignored; large
    blocks are windowed (see :class:`Blocking`). Pairs come grouped by their first
    position, in no particular order otherwise.

    Args:
        features: Prepared records.
        blocking: Block cap and windowing (default: :class:`Blocking`'s defaults).

    Yields:
        ``(i, j)`` with ``i < j``.

    Example:
        >>> recs = [prepare(MatchRecord(str(i), name="Acme", country="DE")) for i in range(3)]
        >>> sorted(candidate_pairs(recs))
        [(0, 1), (0, 2), (1, 2)]
    """
    blocking = blocking or Blocking()
    blocks, rec_blocks = _blocks(features, blocking)
    _where.clear()
    for i, mine in enumerate(rec_blocks):
        if mine:
            for j in _partners(i, blocks, mine, blocking.full_block_size, blocking.window):
                yield i, j


@dataclass(frozen=True, slots=True)
class BlockPairSample:
    """A uniform sample of the pairs that share a blocking key (every pair of every
    block, not only the windowed candidates).

    Attributes:
        pairs: ``(i, j, weight)``: positions ``i < j`` and the pair's weight in the
            sample (1 / the number of usable blocks the two share, so that a pair
            sharing several keys counts once in expectation).
        total: The number of distinct pairs sharing a key (exact when every pair was
            enumerated, else estimated from the sample).
        exact: Whether every pair was enumerated.
    """

    pairs: list[tuple[int, int, float]]
    total: float
    exact: bool


def block_pair_sample(
    features: Sequence[MatchFeatures],
    blocking: Blocking | None = None,
    max_pairs: int = 200_000,
    rng: random.Random | None = None,
) -> BlockPairSample:
    """Sample the pairs sharing a blocking key, whatever the windowing of large blocks.

    Windowing compares a member of a large block with its neighbours only, so the
    candidate pairs of a batch run are no fair sample of the pairs blocking brings
    together: one person written a thousand times shares a name block with a thousand
    records but is compared with a few dozen. Estimates over all pairs (the prior)
    use this sample instead. Up to ``max_pairs`` pairs every pair is enumerated; above,
    a block is drawn by its number of pairs, a pair of it at random, and the pair
    weighted by 1 / the number of blocks the two records share.

    Example:
        >>> recs = [prepare(MatchRecord(str(i), name="Acme", country="DE")) for i in range(3)]
        >>> sample = block_pair_sample(recs)
        >>> sample.total, sample.exact, [p[:2] for p in sample.pairs]
        (3.0, True, [(0, 1), (0, 2), (1, 2)])
    """
    blocking = blocking or Blocking()
    rng = rng or random.Random(1)
    blocks, rec_blocks = _blocks(features, blocking)
    sizes = [len(ids) * (len(ids) - 1) // 2 for ids in blocks]
    all_pairs = sum(sizes)
    if all_pairs <= max_pairs:
        seen: set[tuple[int, int]] = set()
        for ids in blocks:
            for x in range(len(ids)):
                a = ids[x]
                for b in ids[x + 1 :]:
                    seen.add((a, b) if a < b else (b, a))
        pairs = [(i, j, 1.0) for i, j in sorted(seen)]
        return BlockPairSample(pairs, float(len(pairs)), True)
    mine = [frozenset(r) for r in rec_blocks]
    cum: list[int] = []
    running = 0
    for size in sizes:
        running += size
        cum.append(running)
    out: list[tuple[int, int, float]] = []
    for b in rng.choices(range(len(blocks)), cum_weights=cum, k=max_pairs):
        ids = blocks[b]
        x, y = rng.sample(range(len(ids)), 2)
        i, j = ids[x], ids[y]
        shared = len(mine[i] & mine[j]) or 1
        out.append((min(i, j), max(i, j), 1.0 / shared))
    total = all_pairs * sum(w for _, _, w in out) / len(out)
    return BlockPairSample(out, total, False)


Scorer = Callable[[MatchFeatures, MatchFeatures], "float | None"]
_Work = tuple[Sequence[MatchFeatures], list[list[int]], list[tuple[int, ...]], Scorer, Blocking]
#: What forked scoring workers read (set by the parent just before forking).
_WORK: _Work | None = None


def _score_part(part: int, parts: int) -> tuple[int, list[tuple[int, int, float]]]:
    """Score the candidate pairs whose first position is ``part`` modulo ``parts``:
    the number of candidates and the ``(i, j, weight)`` the scorer kept."""
    assert _WORK is not None
    feats, blocks, rec_blocks, scorer, blocking = _WORK
    full, window = blocking.full_block_size, blocking.window
    n = 0
    kept: list[tuple[int, int, float]] = []
    for i in range(part, len(rec_blocks), parts):
        mine = rec_blocks[i]
        if not mine:
            continue
        fi = feats[i]
        partners = _partners(i, blocks, mine, full, window)
        n += len(partners)
        for j in partners:
            weight = scorer(fi, feats[j])
            if weight is not None:
                kept.append((i, j, weight))
    return n, kept


def _score_all(work: _Work, workers: int) -> tuple[int, list[tuple[int, int, float]]]:
    global _WORK
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        parts = workers * 4
        _WORK = work
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.starmap(_score_part, [(p, parts) for p in range(parts)])
        finally:
            _WORK = None
    else:
        _WORK = work
        try:
            results = [_score_part(0, 1)]
        finally:
            _WORK = None
    n = sum(r[0] for r in results)
    return n, [pair for r in results for pair in r[1]]


def own_records(model: MatchModel, population: int) -> float:
    """Records of one entity expected to share a value: the record itself and twice its
    expected duplicates (prior x population), so that the copies of one entity are not
    taken for a value many entities share."""
    return 1.0 + 2.0 * model.prior * max(population - 1, 0)


def batch_match(
    records: Iterable[MatchRecord | MatchFeatures],
    model: MatchModel = DEFAULT_MODEL,
    blocking: Blocking | None = None,
    keep_min_probability: float | None = None,
    max_cluster_size: int | None = None,
    tax_id_constraint: bool | None = None,
    workers: int = 1,
    term_frequencies: bool = True,
) -> BatchResult:
    """Deduplicate a set of records.

    Blocks on :func:`~custmaster.matching.keys.match_keys`, scores every candidate pair
    with the Fellegi-Sunter model, keeps the pairs at or above the review threshold and
    clusters the auto-merge pairs (strongest first, refusing unions of clusters with
    tax ids that differ by more than a typo, see ``tax_id_constraint``).

    Args:
        records: Records (raw or prepared) with distinct ids.
        model: Model parameters and thresholds.
        blocking: Block cap and windowing of large blocks (default:
            :class:`Blocking`'s defaults; :meth:`Blocking.exhaustive` compares every
            pair of every usable block).
        keep_min_probability: Keep pairs at or above this probability (default: the
            model's review threshold).
        max_cluster_size: Cap on cluster size (None, the default: clusters of any size;
            one company written hundreds of ways is one cluster).
        tax_id_constraint: Refuse to cluster records whose tax ids differ by more than
            a typo. None (default) decides from the model: on when matches almost never
            disagree on tax id (m of level "different" below 1%), off for data where tax
            ids are unreliable.
        workers: Processes scoring the candidate pairs (forked; 1 scores in this
            process). The result does not depend on it.
        term_frequencies: Weaken agreement on values many of these records share
            (counted here; see :mod:`custmaster.matching.frequencies`). False keeps the
            model's own (if any).

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
    if term_frequencies:
        model = model.with_tf(
            TermFrequencies.from_features(feats, own=own_records(model, len(feats)))
        )
    t1 = time.perf_counter()
    keep = model.thresholds.review if keep_min_probability is None else keep_min_probability
    # the weight of probability ``keep``; no pruning at the edges (rounded probabilities)
    edge = keep <= 0.0 or keep >= 1.0
    min_weight = -math.inf if edge else math.log2(keep / (1.0 - keep))
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers, no cycles: collections only cost time
    try:
        blocking = blocking or Blocking()
        blocks, rec_blocks = _blocks(feats, blocking)
        _where.clear()
        work = (feats, blocks, rec_blocks, match_weight_filter(model, min_weight), blocking)
        n_candidates, scored = _score_all(work, workers)
        del work, blocks, rec_blocks
    finally:
        if gc_was_enabled:
            gc.enable()
    pairs: list[ScoredPair] = []
    for i, j, weight in scored:
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
        "workers": float(workers),
    }
    return BatchResult(pairs, clusters, stats)
