"""Tests of custmaster.domain.hierarchy: dated typed hierarchies."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.errors import DomainError, NotFound, ValidationFailed
from custmaster.domain.hierarchy import (
    DEFAULT_HIERARCHY_TYPES,
    HierarchyGraph,
    HierarchyLink,
    InheritedValue,
    period_contains,
    periods_overlap,
)

D0 = date(2026, 1, 1)


def d(days: int) -> date:
    return D0 + timedelta(days=days)


def link(parent: str, child: str, start: int = 0, end: int | None = None) -> HierarchyLink[str]:
    return HierarchyLink("legal", parent, child, d(start), d(end) if end is not None else None)


def graph(*links: HierarchyLink[str]) -> HierarchyGraph[str]:
    return HierarchyGraph.from_links("legal", links)


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


# --- periods ---------------------------------------------------------------------------


def test_periods_are_half_open() -> None:
    assert period_contains(d(0), d(5), d(0))
    assert not period_contains(d(0), d(5), d(5))
    assert period_contains(d(0), None, d(9999))
    assert not periods_overlap(d(0), d(5), d(5), None)
    assert periods_overlap(d(0), d(6), d(5), None)
    assert periods_overlap(d(0), None, d(100), d(101))


# --- validation ------------------------------------------------------------------------


def test_default_types_cover_legal_and_sales() -> None:
    assert {"legal", "sales"} <= DEFAULT_HIERARCHY_TYPES


def test_unknown_type_is_refused_and_configured_types_are_accepted() -> None:
    with pytest.raises(ValidationFailed) as exc:
        HierarchyGraph[str]("buying")
    assert codes(exc) == [("hierarchy_type", "unknown_hierarchy_type")]
    assert HierarchyGraph[str]("buying", allowed_types={"buying"}).hierarchy_type == "buying"


def test_link_of_another_type_is_refused() -> None:
    g = graph()
    with pytest.raises(ValidationFailed) as exc:
        g.add_link(HierarchyLink("sales", "a", "b", d(0)))
    assert codes(exc) == [("hierarchy_type", "hierarchy_type_mismatch")]


def test_empty_period_and_self_parent_are_refused_together() -> None:
    with pytest.raises(ValidationFailed) as exc:
        graph().add_link(link("a", "a", 5, 5))
    assert codes(exc) == [("valid_to", "invalid_period"), ("parent_id", "self_parent")]


def test_two_parents_at_the_same_time_are_refused() -> None:
    g = graph(link("a", "c", 0, 10))
    with pytest.raises(ValidationFailed) as exc:
        g.add_link(link("b", "c", 9))
    assert codes(exc) == [("child_id", "overlapping_parent")]
    assert "already has parent a" in exc.value.errors[0].message
    g.add_link(link("b", "c", 10))  # touching periods do not overlap
    assert g.parent_of("c", d(9)) == "a"
    assert g.parent_of("c", d(10)) == "b"


def test_cycle_is_refused_only_when_the_periods_meet() -> None:
    g = graph(link("a", "b", 0, 10), link("b", "c", 5, 20))
    with pytest.raises(ValidationFailed) as exc:
        g.add_link(link("c", "a", 8, 30))
    assert codes(exc) == [("parent_id", "cycle")]
    assert d(8).isoformat() in exc.value.errors[0].message
    g.add_link(link("c", "a", 10, 30))  # a-b ended: no cycle on any date
    assert g.ancestors("a", d(12)) == ["c", "b"]


def test_from_links_names_the_failing_link() -> None:
    with pytest.raises(ValidationFailed) as exc:
        graph(link("a", "b"), link("b", "a"))
    assert codes(exc) == [("links[1].parent_id", "cycle")]


def test_trusted_load_skips_checks_but_reads_detect_a_stored_cycle() -> None:
    g = HierarchyGraph.from_links("legal", [link("a", "b"), link("b", "a")], trusted=True)
    with pytest.raises(DomainError, match="cycle"):
        g.ancestors("a", d(1))


def test_remove_link() -> None:
    g = graph(link("a", "b"))
    g.remove_link(link("a", "b"))
    assert g.parent_of("b", d(1)) is None
    assert len(g) == 0
    with pytest.raises(NotFound):
        g.remove_link(link("a", "b"))


# --- reads ---------------------------------------------------------------------------


def sample() -> HierarchyGraph[str]:
    #        g            (from day 0)
    #      /   \
    #     a     b         b joins on day 10
    #    / \
    #   a1  a2            a2 leaves on day 20
    return graph(
        link("g", "a"),
        link("g", "b", 10),
        link("a", "a1"),
        link("a", "a2", 0, 20),
    )


def test_reads_as_of_a_date() -> None:
    g = sample()
    assert g.children_of("g", d(5)) == ["a"]
    assert g.children_of("g", d(10)) == ["a", "b"]
    assert g.ancestors("a2", d(5)) == ["a", "g"]
    assert g.ancestors("a2", d(20)) == []
    assert g.descendants("g", d(15)) == ["a", "b", "a1", "a2"]
    assert g.descendants("g", d(25)) == ["a", "b", "a1"]
    assert g.root_of("a1", d(0)) == "g"
    assert g.root_of("zzz", d(0)) == "zzz"
    assert g.roots(d(0)) == ["g"]
    assert g.parent_of("b", d(9)) is None


def test_tree_is_nested() -> None:
    assert sample().tree("g", d(15)).to_dict() == {
        "node": "g",
        "children": [
            {
                "node": "a",
                "children": [{"node": "a1", "children": []}, {"node": "a2", "children": []}],
            },
            {"node": "b", "children": []},
        ],
    }


def test_flatten_gives_root_level_and_path() -> None:
    g = sample()
    g.add_link(link("x", "y"))
    rows = {r.node: r for r in g.flatten(d(15))}
    assert set(rows) == {"g", "a", "b", "a1", "a2", "x", "y"}
    assert (rows["a2"].root, rows["a2"].level, rows["a2"].path) == ("g", 2, ("g", "a", "a2"))
    assert (rows["g"].level, rows["g"].parent, rows["g"].path) == (0, None, ("g",))
    assert rows["y"].root == "x"
    sub = g.flatten(d(15), root="a")
    assert [(r.node, r.root, r.level) for r in sub] == [
        ("a", "a", 0),
        ("a1", "a", 1),
        ("a2", "a", 1),
    ]


def test_links_of_lists_history_in_order() -> None:
    g = graph(link("b", "c", 10), link("a", "c", 0, 10))
    assert [lk.parent_id for lk in g.links_of("c")] == ["a", "b"]
    assert len(list(g.links())) == 2


# --- moves ---------------------------------------------------------------------------


def test_move_subtree_closes_the_old_link_and_opens_a_new_one() -> None:
    g = sample()
    move = g.move_subtree("a", "b", d(30))
    assert (move.from_parent, move.to_parent) == ("g", "b")
    assert [c.action for c in move.changes] == ["close", "open"]
    assert move.changes[0].after == link("g", "a", 0, 30)
    assert move.changes[1].after == link("b", "a", 30)
    assert g.ancestors("a1", d(29)) == ["a", "g"]
    assert g.ancestors("a1", d(30)) == ["a", "b", "g"]
    assert g.descendants("b", d(30)) == ["a", "a1"]


def test_move_keeps_the_old_end_and_deletes_a_link_starting_that_day() -> None:
    g = graph(link("p", "n", 5, 50), link("q", "z"))
    move = g.move_subtree("n", "q", d(5))
    assert [(c.action, c.before, c.after) for c in move.changes] == [
        ("delete", link("p", "n", 5, 50), None),
        ("open", None, link("q", "n", 5, 50)),
    ]
    assert g.parent_of("n", d(49)) == "q"
    assert g.parent_of("n", d(50)) is None


def test_move_of_a_root_runs_until_its_next_link() -> None:
    g = graph(link("p", "n", 20), link("q", "z"))
    move = g.move_subtree("n", "q", d(5))
    assert move.changes[-1].after == link("q", "n", 5, 20)
    assert g.parent_of("n", d(19)) == "q"
    assert g.parent_of("n", d(20)) == "p"


def test_detach_makes_a_root() -> None:
    g = sample()
    move = g.move_subtree("a", None, d(12))
    assert [c.action for c in move.changes] == ["close"]
    assert g.roots(d(12)) == ["g", "a"]


def test_move_under_own_descendant_or_same_parent_is_refused_and_changes_nothing() -> None:
    g = sample()
    with pytest.raises(ValidationFailed) as exc:
        g.move_subtree("a", "a1", d(12))
    assert codes(exc) == [("new_parent_id", "cycle")]
    with pytest.raises(ValidationFailed) as exc:
        g.move_subtree("a", "g", d(12))
    assert codes(exc) == [("new_parent_id", "no_change")]
    assert g.parent_of("a", d(12)) == "g"
    assert len(g) == 4


def test_plan_move_leaves_the_graph_alone() -> None:
    g = sample()
    g.plan_move("a", "b", d(30))
    assert g.parent_of("a", d(40)) == "g"


# --- inheritance and roll-up ---------------------------------------------------------


def test_resolve_inherited_says_where_each_field_came_from() -> None:
    g = sample()
    own: dict[str, dict[str, object]] = {
        "g": {"customer_group": "KEY", "payment_terms": "NET60", "name": "Group"},
        "a": {"payment_terms": "NET30", "name": "A"},
        "a1": {"name": "A1", "customer_group": None},
    }
    view = g.resolve_inherited("a1", d(1), own, {"customer_group", "payment_terms", "currency"})
    assert view == {
        "name": InheritedValue("A1", "a1", "own"),
        "customer_group": InheritedValue("KEY", "g", "inherited"),
        "payment_terms": InheritedValue("NET30", "a", "inherited"),
    }
    # non-inheritable fields never flow; after the link ends nothing is inherited
    assert "name" not in g.resolve_inherited("b", d(10), {"g": {"name": "G"}}, {"currency"})
    alone = g.resolve_inherited("a2", d(20), own | {"a2": {"currency": None}}, {"currency"})
    assert alone == {"currency": InheritedValue(None, "a2", "own")}


def test_roll_up_sums_children_as_of_a_date() -> None:
    g = sample()
    figures = {"a1": Decimal("1.50"), "a2": Decimal("2"), "b": Decimal("10"), "solo": Decimal(7)}
    totals = g.roll_up(d(15), figures)
    assert totals["a"] == Decimal("3.50")
    assert totals["g"] == Decimal("13.50")
    assert totals["solo"] == Decimal(7)
    assert g.roll_up(d(25), figures)["g"] == Decimal("11.50")


# --- scale: linear, iterative --------------------------------------------------------


@pytest.mark.slow
def test_deep_chain_of_100k_nodes() -> None:
    n = 100_000
    g = HierarchyGraph.from_links("legal", (HierarchyLink("legal", i, i + 1, D0) for i in range(n)))
    assert len(g.ancestors(n, D0)) == n
    assert len(g.descendants(0, D0)) == n
    rows = g.flatten(D0)
    assert rows[-1].level == n and len(rows[-1].path) == n + 1
    assert g.tree(0, D0).size() == n + 1
    assert len(str(g.tree(0, d(-1)).to_dict())) < 100
    assert g.roll_up(D0, {n: Decimal(1)})[0] == Decimal(1)
    with pytest.raises(ValidationFailed):
        g.add_link(HierarchyLink("legal", n, 0, D0))


@pytest.mark.slow
def test_deep_chain_loads_bottom_up_in_linear_time() -> None:
    n = 100_000
    links = (HierarchyLink("legal", i, i + 1, D0) for i in reversed(range(n)))
    assert HierarchyGraph.from_links("legal", links).root_of(n, D0) == 0


@pytest.mark.slow
def test_wide_tree_of_100k_nodes() -> None:
    n = 100_000
    links = (HierarchyLink("legal", (i - 1) // 10, i, D0) for i in range(1, n))
    g = HierarchyGraph.from_links("legal", links)
    assert len(g.descendants(0, D0)) == n - 1
    rows = g.flatten(D0)
    assert len(rows) == n and max(r.level for r in rows) == 5
    totals = g.roll_up(D0, {i: Decimal(1) for i in range(n)})
    assert totals[0] == n


# --- properties ----------------------------------------------------------------------

NODES = st.sampled_from("abcde")
DAY = st.integers(0, 8)


@st.composite
def links_st(draw: st.DrawFn) -> HierarchyLink[str]:
    start = draw(DAY)
    end = draw(st.one_of(st.none(), st.integers(start + 1, 10)))
    return link(draw(NODES), draw(NODES), start, end)


def brute_force_valid(links: list[HierarchyLink[str]]) -> bool:
    """Every day: at most one parent per child and no cycle."""
    for day in range(-1, 12):
        parents: dict[str, str] = {}
        for lk in links:
            if lk.active_on(d(day)):
                if lk.child_id in parents or lk.parent_id == lk.child_id:
                    return False
                parents[lk.child_id] = lk.parent_id
        for start in parents:
            seen, node = {start}, parents.get(start)
            while node is not None:
                if node in seen:
                    return False
                seen.add(node)
                node = parents.get(node)
    return True


@settings(max_examples=200, deadline=None)
@given(st.lists(links_st(), max_size=14))
def test_validated_adds_accept_exactly_the_links_that_keep_the_graph_valid(
    candidates: list[HierarchyLink[str]],
) -> None:
    g: HierarchyGraph[str] = HierarchyGraph("legal")
    accepted: list[HierarchyLink[str]] = []
    for candidate in candidates:
        expected = brute_force_valid([*accepted, candidate])
        try:
            g.add_link(candidate)
        except ValidationFailed:
            assert not expected
        else:
            assert expected
            accepted.append(candidate)
    assert brute_force_valid(list(g.links()))


@settings(max_examples=200, deadline=None)
@given(st.lists(links_st(), max_size=12), NODES, st.one_of(st.none(), NODES), DAY)
def test_reads_before_a_move_are_unchanged_and_after_it_show_the_new_parent(
    candidates: list[HierarchyLink[str]], node: str, new_parent: str | None, day: int
) -> None:
    g: HierarchyGraph[str] = HierarchyGraph("legal")
    for candidate in candidates:
        with contextlib.suppress(ValidationFailed):
            g.add_link(candidate)
    before = {x: g.ancestors(x, d(t)) for x in "abcde" for t in range(day)}
    subtree = g.descendants(node, d(day))
    try:
        move = g.move_subtree(node, new_parent, d(day))
    except ValidationFailed:
        return
    assert move.effective_date == d(day)
    assert brute_force_valid(list(g.links()))
    assert {x: g.ancestors(x, d(t)) for x in "abcde" for t in range(day)} == before
    assert g.parent_of(node, d(day)) == new_parent
    assert g.descendants(node, d(day)) == subtree
