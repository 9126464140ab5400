"""Customer-product affinity: which products a customer buys more than expected, and which
products customers like it buy (item-item co-occurrence lift).

Input is any :class:`OrderLineSource` (an iterable of :class:`OrderLine`); the stored order
lines are read by ``persistence/affinity_source.py``.

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import numpy as np
from scipy import sparse

from custmaster.domain.permissions import Permission, PermissionDenied, Principal, require
from custmaster.services.customers.common import load
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.rule_ports import AffinityItem
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
class _Matrix:
    customers: list[UUID]
    products: list[str]
    groups: list[str | None]
    spend: sparse.csr_matrix  # customers x products, summed amounts


def _load(lines: Iterable[OrderLine]) -> _Matrix:
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
    shape = (len(customer_index), len(product_index))
    spend = sparse.csr_matrix(
        (
            np.asarray(amounts, dtype=np.float64),
            (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
        ),
        shape=shape,
    )
    spend.sum_duplicates()
    return _Matrix(list(customer_index), list(product_index), groups, spend)


def _neighbours(bought: sparse.csr_matrix, options: AffinityOptions) -> sparse.csr_matrix:
    """products x products: each product's best ``neighbours`` partners by lift."""
    n = bought.shape[0]
    counts = np.asarray(bought.sum(axis=0)).ravel()
    pairs = (bought.T @ bought).tocoo()
    keep = (pairs.row != pairs.col) & (pairs.data >= options.min_support)
    i, j, nij = pairs.row[keep], pairs.col[keep], pairs.data[keep]
    lift = nij * n / (counts[i] * counts[j])
    order = np.lexsort((-lift, i))  # by product, best lift first
    i, j, lift = i[order], j[order], lift[order]
    starts = np.searchsorted(i, i, side="left")
    rank = np.arange(len(i)) - starts
    best = rank < options.neighbours
    return sparse.csr_matrix((lift[best], (i[best], j[best])), shape=(bought.shape[1],) * 2)


def affinity(
    lines: Iterable[OrderLine], options: AffinityOptions | None = None
) -> Iterator[tuple[UUID, list[AffinityItem]]]:
    """Every customer's affinity items (``over`` then ``similar``, best first)."""
    opts = options or AffinityOptions()
    m = _load(lines)
    if not m.customers:
        return
    bought = (m.spend > 0).astype(np.float64).tocsr()
    neighbours = _neighbours(bought, opts)
    product_spend = np.asarray(m.spend.sum(axis=0)).ravel()
    share = product_spend / max(product_spend.sum(), 1e-12)
    totals = np.asarray(m.spend.sum(axis=1)).ravel()
    pseudo = opts.prior * float(np.median(totals)) if len(totals) else 0.0
    for start in range(0, len(m.customers), opts.chunk):
        stop = min(start + opts.chunk, len(m.customers))
        spend = m.spend[start:stop]
        scores = (bought[start:stop] @ neighbours).tocsr()
        for k in range(stop - start):
            items = _over(spend, k, totals[start + k], share, pseudo, m, opts.top)
            items += _similar(scores, bought, start + k, k, m, opts.top)
            yield m.customers[start + k], items


def _over(
    spend: sparse.csr_matrix,
    k: int,
    total: float,
    share: np.ndarray,
    pseudo: float,
    m: _Matrix,
    top: int,
) -> list[AffinityItem]:
    lo, hi = spend.indptr[k], spend.indptr[k + 1]
    products, amounts = spend.indices[lo:hi], spend.data[lo:hi]
    if total <= 0 or not len(products):
        return []
    s = share[products]
    ratio = ((amounts + pseudo * s) / (total + pseudo)) / s
    order = np.argsort(-ratio, kind="stable")[:top]
    return [
        AffinityItem(
            "over", r + 1, m.products[products[o]], m.groups[products[o]], round(float(ratio[o]), 4)
        )
        for r, o in enumerate(order)
        if ratio[o] > 1.0
    ]


def _similar(
    scores: sparse.csr_matrix, bought: sparse.csr_matrix, row: int, k: int, m: _Matrix, top: int
) -> list[AffinityItem]:
    lo, hi = scores.indptr[k], scores.indptr[k + 1]
    products, values = scores.indices[lo:hi], scores.data[lo:hi]
    owned = bought.indices[bought.indptr[row] : bought.indptr[row + 1]]
    fresh = ~np.isin(products, owned)
    products, values = products[fresh], values[fresh]
    order = np.lexsort((products, -values))[:top]
    return [
        AffinityItem(
            "similar",
            r + 1,
            m.products[products[o]],
            m.groups[products[o]],
            round(float(values[o]), 4),
        )
        for r, o in enumerate(order)
    ]


@dataclass(frozen=True, slots=True)
class AffinityRun:
    customers: int
    rows: int


def run_affinity(
    uow: UnitOfWork, source: OrderLineSource, options: AffinityOptions | None = None
) -> AffinityRun:
    """Compute every customer's affinity from ``source`` and replace the stored results
    (one transaction: readers see the old results or the new ones)."""
    customers = rows = 0
    batch: dict[UUID, list[AffinityItem]] = {}
    at = utcnow()
    # computed before the write transaction opens: the source may read the same database
    # (SQLite allows one writer, and a reader open at its commit would block it)
    results = list(affinity(source, options))
    with uow:
        uow.affinity.clear()
        for customer_id, items in results:
            customers += 1
            if items:
                batch[customer_id] = items
            if len(batch) >= 5_000:
                rows += uow.affinity.add(batch, at)
                batch = {}
        rows += uow.affinity.add(batch, at)
    return AffinityRun(customers, rows)


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
