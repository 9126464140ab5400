"""Tests for custmaster.matching.cluster."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from custmaster.matching.cluster import cluster_pairs


def test_threshold_and_components() -> None:
    edges = [("a", "b", 0.99), ("b", "c", 0.97), ("c", "d", 0.5), ("e", "f", 0.999)]
    assert cluster_pairs(edges, 0.9) == [["a", "b", "c"], ["e", "f"]]


def test_exclusive_values_stop_chaining() -> None:
    edges = [("a", "b", 0.99), ("b", "c", 0.97)]
    assert cluster_pairs(edges, 0.9, exclusive={"a": "X", "c": "Y"}) == [["a", "b"]]
    assert cluster_pairs(edges, 0.9, exclusive={"a": "X", "c": "X"}) == [["a", "b", "c"]]
    assert cluster_pairs(
        edges, 0.9, exclusive={"a": "X1", "c": "X2"}, conflict=lambda x, y: x[0] != y[0]
    ) == [["a", "b", "c"]]


def test_max_cluster_size() -> None:
    edges = [(str(i), str(i + 1), 1.0) for i in range(10)]
    assert max(len(c) for c in cluster_pairs(edges, 0.5, max_cluster_size=4)) <= 4


edge_lists = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 12), st.floats(0, 1)), max_size=40
)


@given(edge_lists, st.floats(0, 1))
def test_clusters_are_disjoint_and_respect_constraints(
    edges: list[tuple[int, int, float]], threshold: float
) -> None:
    exclusive = {i: str(i % 3) for i in range(0, 13, 2)}
    clusters = cluster_pairs(edges, threshold, exclusive=exclusive, max_cluster_size=5)
    seen: set[int] = set()
    for c in clusters:
        assert len(c) >= 2 and len(c) <= 5
        assert not seen & set(c)
        seen |= set(c)
        assert len({exclusive[i] for i in c if i in exclusive}) <= 1
