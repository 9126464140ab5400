"""Customer-product affinity: which products a customer buys more than expected, and which
products customers like it buy (item-item co-occurrence lift).

Input is any :class:`OrderLineSource` (an iterable of :class:`OrderLine`) or a
:class:`SpendSource` that sums the spend per customer and product itself: the stored order
lines are summed by the database (``persistence/affinity_source.py``), so 20,000,000 lines
never become 20,000,000 Python objects. Every customer's items are ranked a chunk of
customers at a time with array operations (:func:`affinity_rows`) and stored as columns
(:class:`AffinityBatch`; COPY on PostgreSQL), not an object an item.

- **over** (more than expected): the customer's share of spend on a product against the
  product's share of all spend, smoothed towards 1 by ``prior`` of the median customer's
  spend (a product bought once by a small customer does not dominate):
  ``((a_cp + k*s_p) / (T_c + k)) / s_p``; products scoring above 1, best first.
- **similar** (bought by customers like it): for every product pair bought by at least
  ``min_support`` customers, ``lift(i, j) = n_ij * N / (n_i * n_j)``; each product keeps
  its ``neighbours`` best partners; a customer's score of a product it has not bought is
  the sum of the lifts from the products it has. Computed with sparse matrices in chunks
  of customers, so memory grows with products x neighbours, not customers x products.

``bench/segment_query.py`` measures its time, memory and hit rate against the popularity
baseline (``docs/profile-rules.md``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import numpy as np
from scipy import sparse

from custmaster.domain.permissions import Permission, PermissionDenied, Principal, require
from custmaster.services.customers.common import load
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.rule_ports import AFFINITY_KINDS, AffinityBatch, AffinityItem
from custmaster.services.recording import utcnow


@dataclass(frozen=True, slots=True)
class OrderLine:
    customer_id: UUID
    product: str
    product_group: str | None
    quantity: float
    amount: float


class OrderLineSource(Protocol):
    """The order lines of every customer (over every legal entity)."""

    def __iter__(self) -> Iterator[OrderLine]: ...


@dataclass(frozen=True, slots=True)
class AffinityOptions:
    top: int = 5
    min_support: int = 3
    neighbours: int = 50
    prior: float = 1.0  # pseudo-spend, in median customer spends
    chunk: int = 20_000


@dataclass
class SpendMatrix:
    """Every customer's summed spend per product (amounts below zero count as zero, line
    by line): ``spend[c, p]`` for ``customers[c]`` and ``products[p]``."""

    customers: list[UUID]
    products: list[str]
    groups: list[str | None]  # the product group of each product
    spend: sparse.csr_matrix  # customers x products


class SpendSource(Protocol):
    """A source that sums the spend itself (the database: one ``GROUP BY``), instead of
    handing over every order line."""

    def spend_matrix(self) -> SpendMatrix: ...


def _load(lines: Iterable[OrderLine]) -> SpendMatrix:
    customer_index: dict[UUID, int] = {}
    product_index: dict[str, int] = {}
    groups: list[str | None] = []
    rows: list[int] = []
    cols: list[int] = []
    amounts: list[float] = []
    for line in lines:
        c = customer_index.setdefault(line.customer_id, len(customer_index))
        p = product_index.get(line.product)
        if p is None:
            p = product_index[line.product] = len(product_index)
            groups.append(line.product_group)
        rows.append(c)
        cols.append(p)
        amounts.append(max(line.amount, 0.0))
    return spend_matrix(
        list(customer_index),
        list(product_index),
        groups,
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(amounts, dtype=np.float64),
    )


def spend_matrix(
    customers: list[UUID],
    products: list[str],
    groups: list[str | None],
    rows: np.ndarray,
    cols: np.ndarray,
    amounts: np.ndarray,
) -> SpendMatrix:
    """The matrix of (customer index, product index, amount) triples (duplicates summed)."""
    shape = (len(customers), len(products))
    spend = sparse.csr_matrix((amounts, (rows, cols)), shape=shape)
    spend.sum_duplicates()
    return SpendMatrix(customers, products, groups, spend)


def _spend_of(source: Iterable[OrderLine] | SpendSource) -> SpendMatrix:
    if hasattr(source, "spend_matrix"):
        matrix: SpendMatrix = source.spend_matrix()
        return matrix
    assert isinstance(source, Iterable)
    return _load(source)


_PAIR_BLOCK = 2_000  # products whose co-occurrence rows are counted at a time


def _neighbours(bought: sparse.csr_matrix, options: AffinityOptions) -> sparse.csr_matrix:
    """products x products: each product's best ``neighbours`` partners by lift (ties:
    the lower product index). The co-occurrence counts are made a block of products at
    a time (rows of ``bought.T @ bought``): memory grows with the block, not with every
    pair of products bought together."""
    n, products = bought.shape
    counts = np.asarray(bought.sum(axis=0)).ravel().astype(np.float64)
    by_product = bought.T.tocsr()
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    lifts: list[np.ndarray] = []
    for start in range(0, products, _PAIR_BLOCK):
        pairs = (by_product[start : start + _PAIR_BLOCK] @ bought).tocoo()
        i = pairs.row.astype(np.int64) + start
        keep = (i != pairs.col) & (pairs.data >= options.min_support)
        i, j, nij = i[keep], pairs.col[keep], pairs.data[keep].astype(np.float64)
        del pairs, keep
        lift = nij * n / (counts[i] * counts[j])
        best = _top(i - start, j, lift, options.neighbours)  # rows in order (coo of csr)
        rows.append(i[best])
        cols.append(j[best])
        lifts.append(lift[best])
    return sparse.csr_matrix(
        (np.concatenate(lifts), (np.concatenate(rows), np.concatenate(cols))),
        shape=(products, products),
    )


@dataclass(frozen=True, slots=True)
class AffinityRows:
    """The affinity items of a chunk of customers as columns (one entry an item; by
    customer, ``over`` before ``similar``, by rank)."""

    customer: np.ndarray  # customer index
    kind: np.ndarray  # 0: over, 1: similar
    rank: np.ndarray  # 1-based within (customer, kind)
    product: np.ndarray  # product index
    score: np.ndarray  # rounded to 4 places


KINDS = AFFINITY_KINDS


_TOP_BLOCK = 4_000_000  # cells of the padded rows partitioned at a time


def _sorted_top(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, top: int) -> np.ndarray:
    """The positions of each row's ``top`` best values (ties: lower column first), by
    row, best first: one sort of all the entries (three keys)."""
    order = np.lexsort((cols, -values, rows))
    sorted_rows = rows[order]
    starts = np.searchsorted(sorted_rows, sorted_rows, side="left")
    rank = np.arange(len(order)) - starts
    return np.asarray(order[rank < top])


def _thresholds(rows: np.ndarray, values: np.ndarray, top: int) -> np.ndarray:
    """For each entry, the ``top``-th best value of its row (``-inf`` in a row of fewer
    than ``top`` entries); ``rows`` sorted. The rows are padded into blocks of a matrix
    and ``np.partition``-ed: linear, not a sort. Rows of similar lengths (the customers'
    candidates) are padded as they come, in contiguous blocks; rows of very different
    lengths (the products' partners) by length, so that short rows are not padded to
    the longest."""
    counts = np.bincount(rows)
    present = counts[counts > 0]
    if len(present) and counts.max() > 3 * present.mean():
        return _thresholds_by_length(rows, values, top, counts)
    found = np.empty(len(values))
    ends = np.cumsum(counts)
    starts = ends - counts
    r = 0
    while r < len(counts):
        # rows r..s-1, padded to the longest of them: as many as the budget allows
        widths = np.maximum(np.maximum.accumulate(counts[r : r + _TOP_BLOCK // top]), top)
        cells = np.arange(1, len(widths) + 1) * widths
        s = r + max(1, int(np.searchsorted(cells, _TOP_BLOCK, side="right")))
        width = int(widths[s - r - 1])
        lo, hi = starts[r], ends[s - 1]
        line = rows[lo:hi] - r
        padded = np.full((s - r, width), -np.inf)
        padded[line, np.arange(lo, hi) - starts[rows[lo:hi]]] = values[lo:hi]
        found[lo:hi] = np.partition(padded, width - top, axis=1)[line, width - top]
        r = s
    return found


def _thresholds_by_length(
    rows: np.ndarray, values: np.ndarray, top: int, counts: np.ndarray
) -> np.ndarray:
    """:func:`_thresholds` with the rows longer than ``top`` padded in blocks by length."""
    found = np.full(len(values), -np.inf)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    long_rows = np.flatnonzero(counts > top)
    long_rows = long_rows[np.argsort(counts[long_rows], kind="stable")]
    lengths = counts[long_rows]
    i = 0
    while i < len(long_rows):
        # the most rows from i whose padded block (rows x the longest) stays in budget
        cells = np.arange(1, len(long_rows) - i + 1) * lengths[i:]
        j = i + max(1, int(np.searchsorted(cells, _TOP_BLOCK, side="right")))
        block, width = long_rows[i:j], int(lengths[j - 1])
        sizes = counts[block]
        line = np.repeat(np.arange(len(block)), sizes)
        within = np.arange(len(line)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        entry = np.repeat(starts[block], sizes) + within
        padded = np.full((len(block), width), -np.inf)
        padded[line, within] = values[entry]
        kth = np.partition(padded, width - top, axis=1)[:, width - top]
        found[entry] = kth[line]
        i = j
    return found


def _top(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, top: int) -> np.ndarray:
    """The positions of each row's ``top`` best values (ties: lower column first), by
    row, best first; ``rows`` sorted (a sparse matrix's entries in row order). Only the
    entries at or above their row's ``top``-th best value are sorted (as
    :func:`_sorted_top`), usually ``top`` a row; not-a-number ranks last."""
    if not len(values):
        return np.zeros(0, np.int64)
    values = np.where(np.isnan(values), -np.inf, values)
    candidates = np.flatnonzero(values >= _thresholds(rows, values, top))
    best = _sorted_top(rows[candidates], cols[candidates], values[candidates], top)
    return np.asarray(candidates[best])


def _ranks(rows: np.ndarray) -> np.ndarray:
    """1-based positions within runs of equal (sorted) ``rows``."""
    starts = np.searchsorted(rows, rows, side="left")
    return np.arange(len(rows)) - starts + 1


def affinity_rows(
    source: Iterable[OrderLine] | SpendSource, options: AffinityOptions | None = None
) -> tuple[SpendMatrix, Iterator[AffinityRows]]:
    """Every customer's affinity items, vectorised a chunk of customers at a time. The
    source is read and the product neighbours are computed before this returns; the
    chunks are computed as they are taken (a writer stores one while the next is made,
    and the database works on the rows sent while the next chunk is computed)."""
    opts = options or AffinityOptions()
    m = _spend_of(source)
    if not m.customers:
        return m, iter(())
    bought = (m.spend > 0).astype(np.int32).tocsr()
    neighbours = _neighbours(bought, opts)
    return m, _chunks(m, bought, neighbours, opts)


def _chunks(
    m: SpendMatrix, bought: sparse.csr_matrix, neighbours: sparse.csr_matrix, opts: AffinityOptions
) -> Iterator[AffinityRows]:
    product_spend = np.asarray(m.spend.sum(axis=0)).ravel()
    share = product_spend / max(product_spend.sum(), 1e-12)
    totals = np.asarray(m.spend.sum(axis=1)).ravel()
    pseudo = opts.prior * float(np.median(totals)) if len(totals) else 0.0
    for start in range(0, len(m.customers), opts.chunk):
        stop = min(start + opts.chunk, len(m.customers))
        # over: ((a_cp + k*s_p) / (T_c + k)) / s_p, above 1, the best ``top``
        spend = m.spend[start:stop].tocoo()
        rows, cols, amounts = spend.row, spend.col, spend.data
        s = share[cols]
        total = totals[start:stop][rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = ((amounts + pseudo * s) / (total + pseudo)) / s
        ratio = np.where(total > 0, ratio, 0.0)  # a customer without spend has none
        best = _top(rows, cols, ratio, opts.top)
        best = best[ratio[best] > 1.0]  # a prefix of each customer's best: ranks stay 1..k
        over_rows, over_cols, over_scores = rows[best], cols[best], ratio[best]
        # similar: the summed lifts of the products bought, on products not bought
        chunk_bought = bought[start:stop]
        scores = (chunk_bought.astype(np.float64) @ neighbours).tocsr()
        fresh = (scores - scores.multiply(chunk_bought)).tocoo()
        fresh.eliminate_zeros()
        best = _top(fresh.row, fresh.col, fresh.data, opts.top)
        sim_rows, sim_cols, sim_scores = fresh.row[best], fresh.col[best], fresh.data[best]
        customer = np.concatenate([over_rows, sim_rows]).astype(np.int64) + start
        kind = np.concatenate([np.zeros(len(over_rows), np.int8), np.ones(len(sim_rows), np.int8)])
        order = np.lexsort((kind, customer))  # stable: each part keeps its rank order
        customer, kind = customer[order], kind[order]
        product = np.concatenate([over_cols, sim_cols]).astype(np.int64)[order]
        score = np.round(np.concatenate([over_scores, sim_scores]), 4)[order]
        rank = _ranks(customer * 2 + kind)
        yield AffinityRows(customer, kind, rank, product, score)


def affinity(
    lines: Iterable[OrderLine] | SpendSource, options: AffinityOptions | None = None
) -> Iterator[tuple[UUID, list[AffinityItem]]]:
    """Every customer's affinity items (``over`` then ``similar``, best first)."""
    m, chunks = affinity_rows(lines, options)
    size = (options or AffinityOptions()).chunk
    for n, part in enumerate(chunks):
        items: dict[int, list[AffinityItem]] = {}
        for c, k, r, p, v in zip(
            part.customer.tolist(),
            part.kind.tolist(),
            part.rank.tolist(),
            part.product.tolist(),
            part.score.tolist(),
            strict=True,
        ):
            items.setdefault(c, []).append(AffinityItem(KINDS[k], r, m.products[p], m.groups[p], v))
        for c in range(n * size, min((n + 1) * size, len(m.customers))):
            yield m.customers[c], items.get(c, [])


@dataclass(frozen=True, slots=True)
class AffinityStage:
    """Where a run's time went: wall seconds, and CPU seconds of this process (the
    database's own work shows as wall time beyond it)."""

    name: str
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class AffinityRun:
    customers: int
    rows: int
    stages: tuple[AffinityStage, ...] = ()


class _Clock:
    """Wall and process CPU time spent in named stages (a stage may be entered often)."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self._at = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        """Charge the time since the last lap to ``name``."""
        now = (time.perf_counter(), time.process_time())
        spent = self.spent.setdefault(name, [0.0, 0.0])
        spent[0] += now[0] - self._at[0]
        spent[1] += now[1] - self._at[1]
        self._at = now

    def stages(self) -> tuple[AffinityStage, ...]:
        return tuple(AffinityStage(n, wall, cpu) for n, (wall, cpu) in self.spent.items())


def run_affinity(
    uow: UnitOfWork,
    source: Iterable[OrderLine] | SpendSource,
    options: AffinityOptions | None = None,
) -> AffinityRun:
    """Compute every customer's affinity from ``source`` and replace the stored results
    (one transaction: readers see the old results or the new ones)."""
    at = utcnow()
    opts = options or AffinityOptions()
    clock = _Clock()
    # the source is read before the write transaction opens: it may read the same
    # database (SQLite allows one writer, and a reader open at its commit would block
    # it); the chunks are computed while they are written
    m = _spend_of(source)
    clock.lap("read")
    chunks: Iterator[AffinityRows] = iter(())
    if m.customers:
        bought = (m.spend > 0).astype(np.int32).tocsr()
        neighbours = _neighbours(bought, opts)
        chunks = _chunks(m, bought, neighbours, opts)
    clock.lap("neighbours")

    def batches() -> Iterator[AffinityBatch]:
        while True:
            clock.lap("write")  # the writer's time since it took the previous chunk
            p = next(chunks, None)
            clock.lap("rank")
            if p is None:
                return
            yield AffinityBatch(
                m.customers, m.products, m.groups, p.customer, p.kind, p.rank, p.product, p.score
            )

    with uow:
        rows = uow.affinity.replace(batches(), at)
    clock.lap("write")  # the keys, the swap and the commit
    return AffinityRun(len(m.customers), rows, clock.stages())


def customer_affinity(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> dict[str, object]:
    """A customer's stored affinity. It is computed over the orders of every legal entity,
    so a user scoped to some entities may not read it (as the ``*`` profile row)."""
    require(actor, Permission.CUSTOMER_READ)
    if actor.entities is not None:
        raise PermissionDenied(
            f"{actor.user_id} is scoped to legal entities; affinity is computed over all of them"
        )
    with uow.read_only():
        load(uow, customer_id)
        items = uow.affinity.of(customer_id)
        computed = uow.affinity.computed_at(customer_id)

    def render(kind: str) -> list[dict[str, object]]:
        return [
            {
                "rank": i.rank,
                "product": i.product,
                "product_group": i.product_group,
                "score": i.score,
            }
            for i in items
            if i.kind == kind
        ]

    return {
        "customer_id": str(customer_id),
        "computed_at": computed.isoformat() if computed else None,
        "over": render("over"),
        "similar": render("similar"),
    }
