"""Clustering of scored pairs into entities, with a guard against chaining.

Plain connected components chain: A~B and B~C put A and C together even when A and C
clearly differ (two sister companies both resembling a third record). Here edges are
added strongest first (single linkage in weight order) and a union is refused when the
two clusters carry conflicting exclusive values (e.g. two different tax ids) or when it
would exceed ``max_cluster_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

__all__ = ["cluster_pairs"]

T = TypeVar("T", bound=Hashable)


def cluster_pairs(
    edges: Iterable[tuple[T, T, float]],
    threshold: float,
    exclusive: Mapping[T, str] | None = None,
    max_cluster_size: int | None = None,
    conflict: Callable[[str, str], bool] | None = None,
) -> list[list[T]]:
    """Group records linked by edges at or above ``threshold``.

    Args:
        edges: ``(id_a, id_b, score)`` triples; the score may be a probability or a
            match weight, as long as ``threshold`` uses the same scale.
        threshold: Minimum score for an edge to link two records.
        exclusive: Optional id -> value of a field that must not differ inside a
            cluster (the compact tax id is a good choice). Records without a value are
            unconstrained.
        max_cluster_size: Refuse unions beyond this size (None, the default: no limit).
        conflict: Decides whether two exclusive values conflict (default: they
            differ). Batch matching passes
            :func:`~custmaster.matching.compare.tax_ids_conflict`, which tolerates typos.

    Returns:
        Clusters of two or more ids, each sorted by first appearance in the edges,
        largest clusters first.

    Example:
        >>> edges = [("a", "b", 0.99), ("b", "c", 0.97), ("c", "d", 0.5)]
        >>> cluster_pairs(edges, 0.9)
        [['a', 'b', 'c']]
        >>> cluster_pairs(edges, 0.9, exclusive={"a": "DE1", "c": "DE2"})
        [['a', 'b']]
    """
    strong = sorted(
        ((a, b, s) for a, b, s in edges if s >= threshold and a != b),
        key=lambda e: -e[2],
    )
    parent: dict[T, T] = {}
    size: dict[T, int] = {}
    values: dict[T, frozenset[str]] = {}
    order: dict[T, int] = {}
    excl = exclusive or {}
    differ = conflict or (lambda x, y: x != y)

    def find(x: T) -> T:
        if x not in parent:
            parent[x] = x
            size[x] = 1
            val = excl.get(x)
            values[x] = frozenset((val,)) if val else frozenset()
            order[x] = len(order)
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b, _ in strong:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        va, vb = values[ra], values[rb]
        if va and vb and any(differ(x, y) for x in va for y in vb):
            continue
        if max_cluster_size is not None and size[ra] + size[rb] > max_cluster_size:
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        values[ra] = va | vb

    groups: dict[T, list[T]] = {}
    for node in sorted(parent, key=order.__getitem__):
        groups.setdefault(find(node), []).append(node)
    clusters = [g for g in groups.values() if len(g) > 1]
    clusters.sort(key=lambda g: (-len(g), order[g[0]]))
    return clusters
