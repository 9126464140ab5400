"""Typed customer hierarchies built from dated parent-child links.

A hierarchy has a type (``legal`` for the legal/corporate structure, ``sales`` for the
trade/sales structure, more when configured). Each link says "``parent_id`` is the parent
of ``child_id`` in this hierarchy from ``valid_from`` (inclusive) to ``valid_to``
(exclusive; ``None`` = open-ended)". The rules, checked on every add:

* a link's ``valid_from`` is before its ``valid_to``;
* a node is never its own parent, and no cycle exists at any date;
* a node has at most one parent of a type at any date (overlapping links are refused).

:class:`HierarchyGraph` holds the links of one type in memory, so a repository loads the
relevant links and hands them over; every read takes an ``as_of`` date. All traversals are
iterative and linear in the number of links they touch, so deep chains and large trees
(100,000 nodes and more) are fine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from custmaster.domain.errors import DomainError, FieldError, NotFound, ValidationFailed

N = TypeVar("N", bound=Hashable)

LEGAL = "legal"
"""The legal/corporate hierarchy (group, subsidiaries)."""
SALES = "sales"
"""The trade/sales hierarchy (buying structure, outlets)."""
DEFAULT_HIERARCHY_TYPES: frozenset[str] = frozenset({LEGAL, SALES})


# --- validity periods: [valid_from, valid_to), valid_to None = open-ended -----------------


def period_is_valid(valid_from: date, valid_to: date | None) -> bool:
    """True when the period is not empty (``valid_from < valid_to`` or open-ended)."""
    return valid_to is None or valid_from < valid_to


def period_contains(valid_from: date, valid_to: date | None, as_of: date) -> bool:
    """True when ``as_of`` lies in ``[valid_from, valid_to)``."""
    return valid_from <= as_of and (valid_to is None or as_of < valid_to)


def periods_overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    """True when two half-open periods share at least one day (touching ends do not)."""
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


def _intersect(
    a_from: date, a_to: date | None, b_from: date, b_to: date | None
) -> tuple[date, date | None] | None:
    lo = max(a_from, b_from)
    hi = b_to if a_to is None else a_to if b_to is None else min(a_to, b_to)
    if hi is not None and hi <= lo:
        return None
    return lo, hi


def _period_text(valid_from: date, valid_to: date | None) -> str:
    return f"{valid_from.isoformat()} to {valid_to.isoformat() if valid_to else 'open end'}"


def check_hierarchy_type(
    hierarchy_type: str, allowed_types: Set[str] = DEFAULT_HIERARCHY_TYPES
) -> list[FieldError]:
    """Errors for a hierarchy type that is not in the configured set."""
    if hierarchy_type in allowed_types:
        return []
    known = ", ".join(sorted(allowed_types))
    return [
        FieldError(
            "hierarchy_type",
            "unknown_hierarchy_type",
            f"unknown hierarchy type '{hierarchy_type}' (known: {known})",
        )
    ]


# --- value objects -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HierarchyLink(Generic[N]):
    """``parent_id`` is the parent of ``child_id`` in ``[valid_from, valid_to)``.

    ``(hierarchy_type, child_id, valid_from)`` identifies a link: a child never has two
    links of one type starting on the same day.
    """

    hierarchy_type: str
    parent_id: N
    child_id: N
    valid_from: date
    valid_to: date | None = None

    def active_on(self, as_of: date) -> bool:
        return period_contains(self.valid_from, self.valid_to, as_of)


@dataclass(frozen=True, slots=True)
class LinkChange(Generic[N]):
    """One change to the stored links: ``before`` -> ``after``.

    ``before`` None: a new link is opened; ``after`` None: the link is deleted (it would
    have been closed on its own start date); both set: the link is closed earlier.
    """

    before: HierarchyLink[N] | None
    after: HierarchyLink[N] | None

    @property
    def action(self) -> Literal["open", "close", "delete"]:
        if self.before is None:
            return "open"
        return "delete" if self.after is None else "close"


@dataclass(frozen=True, slots=True)
class SubtreeMove(Generic[N]):
    """The outcome of moving ``node`` (and with it its subtree) on ``effective_date``."""

    node: N
    from_parent: N | None
    to_parent: N | None
    effective_date: date
    changes: tuple[LinkChange[N], ...]


@dataclass(frozen=True, slots=True)
class InheritedValue(Generic[N]):
    """A field of the effective view and the node it came from."""

    value: Any
    source_node: N
    via: Literal["own", "inherited"]


@dataclass(frozen=True, slots=True)
class _Trail(Generic[N]):
    node: N
    up: _Trail[N] | None


@dataclass(frozen=True, slots=True)
class FlatRow(Generic[N]):
    """One row of a flattened hierarchy. ``level`` 0 is the root.

    ``path`` (root first, the node last) is built on access, so flattening a deep chain
    stays linear until the paths are read.
    """

    node: N
    root: N
    level: int
    parent: N | None
    _trail: _Trail[N] = field(repr=False, compare=False)

    @property
    def path(self) -> tuple[N, ...]:
        nodes: list[N] = []
        trail: _Trail[N] | None = self._trail
        while trail is not None:
            nodes.append(trail.node)
            trail = trail.up
        nodes.reverse()
        return tuple(nodes)


@dataclass(slots=True)
class TreeNode(Generic[N]):
    """A node of a tree read as of a date, with its children in link order."""

    node: N
    children: list[TreeNode[N]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"node": ..., "children": [...]}``, built without recursion."""
        top: dict[str, Any] = {"node": self.node, "children": []}
        stack: list[tuple[TreeNode[N], list[dict[str, Any]]]] = [(self, top["children"])]
        while stack:
            tree, out = stack.pop()
            for child in tree.children:
                entry: dict[str, Any] = {"node": child.node, "children": []}
                out.append(entry)
                stack.append((child, entry["children"]))
        return top

    def size(self) -> int:
        count, stack = 0, [self]
        while stack:
            tree = stack.pop()
            count += 1
            stack.extend(tree.children)
        return count


# --- the graph ---------------------------------------------------------------------------


class HierarchyGraph(Generic[N]):
    """The links of one hierarchy type, validated on add, readable as of any date.

    Example:
        >>> g: HierarchyGraph[str] = HierarchyGraph("legal")
        >>> g.add_link(HierarchyLink("legal", "group", "sub", date(2026, 1, 1)))
        >>> g.parent_of("sub", date(2026, 6, 1))
        'group'
    """

    def __init__(
        self, hierarchy_type: str, *, allowed_types: Set[str] = DEFAULT_HIERARCHY_TYPES
    ) -> None:
        errors = check_hierarchy_type(hierarchy_type, allowed_types)
        if errors:
            raise ValidationFailed(errors)
        self.hierarchy_type = hierarchy_type
        self._up: dict[N, list[HierarchyLink[N]]] = {}
        self._down: dict[N, list[HierarchyLink[N]]] = {}
        self._count = 0

    @classmethod
    def from_links(
        cls,
        hierarchy_type: str,
        links: Iterable[HierarchyLink[N]],
        *,
        allowed_types: Set[str] = DEFAULT_HIERARCHY_TYPES,
        trusted: bool = False,
    ) -> HierarchyGraph[N]:
        """Build a graph; each link is validated unless ``trusted`` (already stored).

        A failure names the link's position: ``links[3].parent_id``.
        """
        graph: HierarchyGraph[N] = cls(hierarchy_type, allowed_types=allowed_types)
        for index, link in enumerate(links):
            if not trusted:
                errors = graph.check_link(link)
                if errors:
                    raise ValidationFailed(
                        FieldError(f"links[{index}].{e.field}", e.code, e.message) for e in errors
                    )
            graph._insert(link)
        return graph

    # --- changes -------------------------------------------------------------------------

    def check_link(
        self, link: HierarchyLink[N], *, replacing: HierarchyLink[N] | None = None
    ) -> list[FieldError]:
        """Every rule ``link`` breaks against the current links (none: it may be added).

        ``replacing`` is an existing link left out of the overlap check (it is being
        closed before ``link`` starts).
        """
        errors: list[FieldError] = []
        if link.hierarchy_type != self.hierarchy_type:
            errors.append(
                FieldError(
                    "hierarchy_type",
                    "hierarchy_type_mismatch",
                    f"a '{link.hierarchy_type}' link cannot join the "
                    f"'{self.hierarchy_type}' hierarchy",
                )
            )
        if not period_is_valid(link.valid_from, link.valid_to):
            errors.append(
                FieldError(
                    "valid_to",
                    "invalid_period",
                    f"valid_to ({link.valid_to}) must be after valid_from ({link.valid_from})",
                )
            )
        if link.parent_id == link.child_id:
            errors.append(
                FieldError("parent_id", "self_parent", f"{link.child_id} cannot be its own parent")
            )
        if errors:
            return errors
        for other in self._up.get(link.child_id, ()):
            if replacing is not None and other == replacing:
                continue
            if periods_overlap(link.valid_from, link.valid_to, other.valid_from, other.valid_to):
                errors.append(
                    FieldError(
                        "child_id",
                        "overlapping_parent",
                        f"{link.child_id} already has parent {other.parent_id} in the "
                        f"'{self.hierarchy_type}' hierarchy from "
                        f"{_period_text(other.valid_from, other.valid_to)}; a node has at "
                        "most one parent of a type at a time",
                    )
                )
                break
        cycle_on = self._find_cycle(link)
        if cycle_on is not None:
            errors.append(
                FieldError(
                    "parent_id",
                    "cycle",
                    f"{link.parent_id} is a descendant of {link.child_id} on "
                    f"{cycle_on.isoformat()}: the link would create a cycle",
                )
            )
        return errors

    def add_link(self, link: HierarchyLink[N]) -> None:
        """Validate and add a link; raises :class:`ValidationFailed` naming the field."""
        errors = self.check_link(link)
        if errors:
            raise ValidationFailed(errors)
        self._insert(link)

    def remove_link(self, link: HierarchyLink[N]) -> None:
        """Remove a stored link (removal never breaks a rule); unknown link: NotFound."""
        ups = self._up.get(link.child_id, [])
        if link not in ups:
            raise NotFound(f"no {self.hierarchy_type} link {link}")
        ups.remove(link)
        self._down[link.parent_id].remove(link)
        self._count -= 1

    def plan_move(self, node: N, new_parent: N | None, effective_date: date) -> SubtreeMove[N]:
        """The validated link changes that put ``node`` under ``new_parent`` from a date.

        The link active on ``effective_date`` is closed on it (deleted if it starts that
        day); the new link runs from ``effective_date`` to the old link's end, or, when the
        node had no parent then, to the start of its next link (open-ended if none).
        ``new_parent`` None detaches the subtree (the node becomes a root). The graph is
        not changed.
        """
        current = self.link_of(node, effective_date)
        old_parent = current.parent_id if current is not None else None
        if old_parent == new_parent:
            where = f"under {new_parent}" if new_parent is not None else "a root"
            raise ValidationFailed(
                [FieldError("new_parent_id", "no_change", f"{node} is already {where} then")]
            )
        changes: list[LinkChange[N]] = []
        if current is not None:
            closed = (
                None
                if current.valid_from == effective_date
                else replace(current, valid_to=effective_date)
            )
            changes.append(LinkChange(current, closed))
        if new_parent is not None:
            end = (
                current.valid_to if current is not None else self._next_start(node, effective_date)
            )
            opened = HierarchyLink(self.hierarchy_type, new_parent, node, effective_date, end)
            errors = self.check_link(opened, replacing=current)
            if errors:
                raise ValidationFailed(
                    FieldError(
                        "new_parent_id" if e.field == "parent_id" else e.field, e.code, e.message
                    )
                    for e in errors
                )
            changes.append(LinkChange(None, opened))
        return SubtreeMove(node, old_parent, new_parent, effective_date, tuple(changes))

    def move_subtree(self, node: N, new_parent: N | None, effective_date: date) -> SubtreeMove[N]:
        """:meth:`plan_move`, then apply the changes to this graph; returns them to store."""
        move = self.plan_move(node, new_parent, effective_date)
        self.apply_changes(move.changes)
        return move

    def apply_changes(self, changes: Iterable[LinkChange[N]]) -> None:
        """Apply planned link changes (from :meth:`plan_move` or checked by the caller)
        to this graph: open, close earlier or delete links."""
        for change in changes:
            if change.before is not None and change.after is not None:
                self._replace(change.before, change.after)
            elif change.before is not None:
                self.remove_link(change.before)
            elif change.after is not None:
                self._insert(change.after)

    # --- reads ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def links(self) -> Iterator[HierarchyLink[N]]:
        for links in self._up.values():
            yield from links

    def links_of(self, child: N) -> list[HierarchyLink[N]]:
        """All parent links of ``child`` over time, by start date."""
        return sorted(self._up.get(child, ()), key=lambda link: link.valid_from)

    def link_of(self, child: N, as_of: date) -> HierarchyLink[N] | None:
        for link in self._up.get(child, ()):
            if link.active_on(as_of):
                return link
        return None

    def parent_of(self, child: N, as_of: date) -> N | None:
        link = self.link_of(child, as_of)
        return link.parent_id if link is not None else None

    def children_of(self, parent: N, as_of: date) -> list[N]:
        return [link.child_id for link in self._down.get(parent, ()) if link.active_on(as_of)]

    def ancestors(self, node: N, as_of: date) -> list[N]:
        """Parent first, root last."""
        return list(self._iter_ancestors(node, as_of))

    def descendants(self, node: N, as_of: date) -> list[N]:
        """Breadth-first (children, then grandchildren, ...), ``node`` excluded."""
        found: list[N] = []
        queue = deque([node])
        while queue:
            for child in self.children_of(queue.popleft(), as_of):
                found.append(child)
                queue.append(child)
        return found

    def root_of(self, node: N, as_of: date) -> N:
        line = self.ancestors(node, as_of)
        return line[-1] if line else node

    def roots(self, as_of: date) -> list[N]:
        """Nodes with children but no parent on ``as_of``."""
        return self._snapshot(as_of)[1]

    def tree(self, root: N, as_of: date) -> TreeNode[N]:
        """The subtree under ``root`` on ``as_of`` (``root`` need not be a top root)."""
        top: TreeNode[N] = TreeNode(root)
        queue = deque([top])
        while queue:
            current = queue.popleft()
            for child in self.children_of(current.node, as_of):
                sub: TreeNode[N] = TreeNode(child)
                current.children.append(sub)
                queue.append(sub)
        return top

    def flatten(self, as_of: date, root: N | None = None) -> list[FlatRow[N]]:
        """Every node of the hierarchy on ``as_of`` with its root, level and path.

        Rows come tree by tree, breadth-first. With ``root`` only its subtree is returned
        and ``root`` is level 0 of it.
        """
        children, roots = self._snapshot(as_of)
        if root is not None:
            roots = [root]
        rows: list[FlatRow[N]] = []
        for top in roots:
            top_trail: _Trail[N] = _Trail(top, None)
            rows.append(FlatRow(top, top, 0, None, top_trail))
            queue: deque[tuple[N, int, _Trail[N]]] = deque([(top, 0, top_trail)])
            while queue:
                node, level, trail = queue.popleft()
                for child in children.get(node, ()):
                    child_trail = _Trail(child, trail)
                    rows.append(FlatRow(child, top, level + 1, node, child_trail))
                    queue.append((child, level + 1, child_trail))
        return rows

    def resolve_inherited(
        self,
        node: N,
        as_of: date,
        own_fields: Mapping[N, Mapping[str, Any]],
        inheritable: Set[str],
    ) -> dict[str, InheritedValue[N]]:
        """The node's fields, completed with inheritable ones from its nearest ancestor.

        A field the node sets (not None) is ``own``. An inheritable field it leaves unset
        (absent or None) takes the value of the nearest ancestor on ``as_of`` that sets
        it (``inherited``, ``source_node`` = that ancestor); when no ancestor sets it, an
        explicit None of the node stays as ``own``. Non-inheritable fields never flow.
        """
        own = own_fields.get(node, {})
        resolved = {name: InheritedValue(value, node, "own") for name, value in own.items()}
        missing = {name for name in inheritable if own.get(name) is None}
        if missing:
            for ancestor in self._iter_ancestors(node, as_of):
                fields = own_fields.get(ancestor)
                if not fields:
                    continue
                for name in [n for n in missing if fields.get(n) is not None]:
                    resolved[name] = InheritedValue(fields[name], ancestor, "inherited")
                    missing.discard(name)
                if not missing:
                    break
        return resolved

    def roll_up(self, as_of: date, figures: Mapping[N, Decimal]) -> dict[N, Decimal]:
        """Each node's figure plus those of all its descendants on ``as_of``.

        Covers every node of the hierarchy on that date and every node in ``figures``
        (a node outside the hierarchy totals its own figure); missing figures count 0.
        """
        children, roots = self._snapshot(as_of)
        order: list[N] = []
        queue = deque(roots)
        while queue:
            node = queue.popleft()
            order.append(node)
            queue.extend(children.get(node, ()))
        totals: dict[N, Decimal] = {node: Decimal(0) for node in order}
        for node, value in figures.items():
            totals[node] = totals.get(node, Decimal(0)) + value
        for node in reversed(order):
            for child in children.get(node, ()):
                totals[node] += totals[child]
        return totals

    # --- internals -----------------------------------------------------------------------

    def _insert(self, link: HierarchyLink[N]) -> None:
        self._up.setdefault(link.child_id, []).append(link)
        self._down.setdefault(link.parent_id, []).append(link)
        self._count += 1

    def _replace(self, old: HierarchyLink[N], new: HierarchyLink[N]) -> None:
        ups = self._up[old.child_id]
        ups[ups.index(old)] = new
        downs = self._down[old.parent_id]
        downs[downs.index(old)] = new

    def _next_start(self, node: N, after: date) -> date | None:
        starts = [link.valid_from for link in self._up.get(node, ()) if link.valid_from > after]
        return min(starts) if starts else None

    def _iter_ancestors(self, node: N, as_of: date) -> Iterator[N]:
        seen = {node}
        current = self.parent_of(node, as_of)
        while current is not None:
            if current in seen:
                raise DomainError(
                    f"the stored '{self.hierarchy_type}' hierarchy has a cycle through "
                    f"{current} on {as_of.isoformat()}"
                )
            seen.add(current)
            yield current
            current = self.parent_of(current, as_of)

    def _snapshot(self, as_of: date) -> tuple[dict[N, list[N]], list[N]]:
        children: dict[N, list[N]] = {}
        has_parent: set[N] = set()
        for parent, links in self._down.items():
            for link in links:
                if link.active_on(as_of):
                    children.setdefault(parent, []).append(link.child_id)
                    has_parent.add(link.child_id)
        return children, [node for node in children if node not in has_parent]

    def _find_cycle(self, link: HierarchyLink[N]) -> date | None:
        """A date in the link's period on which its child is an ancestor of its parent.

        Searches upwards from the parent and downwards from the child in lockstep: either
        search proves the answer on its own, and one of them is short when links are
        added top-down (new leaves) or bottom-up (new roots).
        """
        searches = (
            self._reach(link.parent_id, link.child_id, link.valid_from, link.valid_to, True),
            self._reach(link.child_id, link.parent_id, link.valid_from, link.valid_to, False),
        )
        while True:
            for search in searches:
                try:
                    step = next(search)
                except StopIteration:
                    return None
                if step is not None:
                    return step

    def _reach(
        self, start: N, target: N, lo: date, hi: date | None, upward: bool
    ) -> Iterator[date | None]:
        """Yields None per step, then the first date ``target`` is reached, if ever."""
        index = self._up if upward else self._down
        stack: list[tuple[N, date, date | None]] = [(start, lo, hi)]
        seen: set[tuple[N, date, date | None]] = set()
        while stack:
            state = stack.pop()
            node, a, b = state
            if node == target:
                yield a
                return
            if state in seen:
                continue
            seen.add(state)
            for link in index.get(node, ()):
                piece = _intersect(a, b, link.valid_from, link.valid_to)
                if piece is not None:
                    nxt = link.parent_id if upward else link.child_id
                    stack.append((nxt, piece[0], piece[1]))
            yield None
