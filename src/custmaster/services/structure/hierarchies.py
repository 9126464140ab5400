"""Typed customer hierarchies: dated links, moves of subtrees, reads as of a date,
inheritance of fields with provenance, roll-up of figures.

The rules are :class:`custmaster.domain.hierarchy.HierarchyGraph`'s; a change loads the
links of its type (under a per-type lock), lets the graph validate it and stores it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.hierarchy import (
    HierarchyGraph,
    HierarchyLink,
    SubtreeMove,
    TreeNode,
    check_hierarchy_type,
)
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.structure.common import (
    DEFAULT_SETTINGS,
    StructureSettings,
    brief_dict,
    require_customer,
    today,
)
from custmaster.services.structure.ports import CustomerBrief, StoredLink

View = Literal["tree", "subtree", "ancestors", "descendants"]
FIGURES = ("credit_limit",)
"""Figures that roll up today; order and revenue figures join once the activity profile
exists."""


@dataclass(frozen=True, slots=True)
class LoadedHierarchy:
    graph: HierarchyGraph[UUID]
    ids: dict[HierarchyLink[UUID], UUID]


def check_type(hierarchy_type: str, settings: StructureSettings = DEFAULT_SETTINGS) -> None:
    errors = check_hierarchy_type(hierarchy_type, settings.hierarchy_types)
    if errors:
        raise ValidationFailed(errors)


def load(
    uow: UnitOfWork, hierarchy_type: str, settings: StructureSettings = DEFAULT_SETTINGS
) -> LoadedHierarchy:
    check_type(hierarchy_type, settings)
    stored = uow.structure.links(hierarchy_type)
    graph = HierarchyGraph.from_links(
        hierarchy_type,
        (s.link for s in stored),
        allowed_types=settings.hierarchy_types,
        trusted=True,
    )
    return LoadedHierarchy(graph, {s.link: s.id for s in stored})


def link_dict(stored: StoredLink) -> dict[str, Any]:
    link = stored.link
    return {
        "id": stored.id,
        "hierarchy_type": link.hierarchy_type,
        "parent_id": link.parent_id,
        "child_id": link.child_id,
        "valid_from": link.valid_from,
        "valid_to": link.valid_to,
    }


# --- changes ---------------------------------------------------------------------------


def _change_dict(
    before: HierarchyLink[UUID] | None, after: HierarchyLink[UUID] | None
) -> dict[str, Any]:
    def one(link: HierarchyLink[UUID] | None) -> dict[str, Any] | None:
        if link is None:
            return None
        return {
            "parent_id": link.parent_id,
            "child_id": link.child_id,
            "valid_from": link.valid_from,
            "valid_to": link.valid_to,
        }

    return {"before": one(before), "after": one(after)}


def move_dict(move: SubtreeMove[UUID]) -> dict[str, Any]:
    return {
        "customer_id": move.node,
        "from_parent_id": move.from_parent,
        "to_parent_id": move.to_parent,
        "effective_date": move.effective_date,
        "changes": [{"action": c.action, **_change_dict(c.before, c.after)} for c in move.changes],
    }


# --- reads -----------------------------------------------------------------------------


def customer_links(
    uow: UnitOfWork,
    actor: Principal,
    hierarchy_type: str,
    customer_id: UUID,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> list[StoredLink]:
    """Every link of the customer (as parent or child) over time, by start date."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        check_type(hierarchy_type, settings)
        require_customer(uow, customer_id)
        return [
            s
            for s in uow.structure.links(hierarchy_type)
            if customer_id in (s.link.parent_id, s.link.child_id)
        ]


def read_hierarchy(
    uow: UnitOfWork,
    actor: Principal,
    hierarchy_type: str,
    customer_id: UUID,
    *,
    view: View = "tree",
    as_of: date | None = None,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> dict[str, Any]:
    """The customer's place in the hierarchy on ``as_of`` (default today).

    ``tree``: the whole tree the customer belongs to, from its root; ``subtree``: the tree
    below the customer; ``ancestors``: parent first, root last; ``descendants``:
    breadth-first with each one's parent and depth.
    """
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        check_type(hierarchy_type, settings)
        require_customer(uow, customer_id)
        return hierarchy_view(uow, hierarchy_type, customer_id, view, as_of or today(), settings)


def hierarchy_view(
    uow: UnitOfWork,
    hierarchy_type: str,
    customer_id: UUID,
    view: View,
    day: date,
    settings: StructureSettings,
) -> dict[str, Any]:
    """``read_hierarchy``'s answer once its checks passed (in the caller's unit of work:
    a known hierarchy type, an existing customer, a reader)."""
    graph = load(uow, hierarchy_type, settings).graph
    body: dict[str, Any] = {
        "hierarchy_type": hierarchy_type,
        "as_of": day,
        "customer_id": customer_id,
    }
    if view in ("tree", "subtree"):
        root = graph.root_of(customer_id, day) if view == "tree" else customer_id
        tree = graph.tree(root, day)
        briefs = uow.structure.briefs(_tree_nodes(tree))
        body.update(root_id=root, tree=_tree_dict(tree, briefs))
    elif view == "ancestors":
        line = graph.ancestors(customer_id, day)
        briefs = uow.structure.briefs(line)
        body["items"] = [
            {**brief_dict(briefs.get(node), node), "distance": i + 1} for i, node in enumerate(line)
        ]
    else:
        rows = _descendants(graph, customer_id, day)
        briefs = uow.structure.briefs(node for node, _, _ in rows)
        body["items"] = [
            {**brief_dict(briefs.get(node), node), "parent_id": parent, "depth": depth}
            for node, parent, depth in rows
        ]
    return body


def flatten(
    uow: UnitOfWork,
    actor: Principal,
    hierarchy_type: str,
    *,
    as_of: date | None = None,
    root: UUID | None = None,
    offset: int = 0,
    limit: int = 100,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> tuple[list[dict[str, Any]], bool]:
    """The flattened hierarchy on ``as_of``: one row per node with its root, parent, level
    and path (root first). Returns a page of rows and whether more follow."""
    require(actor, Permission.CUSTOMER_READ)
    day = as_of or today()
    with uow.read_only():
        check_type(hierarchy_type, settings)
        if root is not None:
            require_customer(uow, root)
        rows = load(uow, hierarchy_type, settings).graph.flatten(day, root)
        page = rows[offset : offset + limit]
        briefs = uow.structure.briefs(r.node for r in page)
        items = [
            {
                **brief_dict(briefs.get(r.node), r.node),
                "root_id": r.root,
                "parent_id": r.parent,
                "level": r.level,
                "path": list(r.path),
            }
            for r in page
        ]
        return items, offset + limit < len(rows)


def rollup(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    hierarchy_type: str,
    figure: str = "credit_limit",
    as_of: date | None = None,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> dict[str, Any]:
    """The customer's figure plus its whole subtree's on ``as_of``, and each child's total."""
    require(actor, Permission.CUSTOMER_READ)
    if figure not in FIGURES:
        raise ValidationFailed(
            [FieldError("figure", "unknown_figure", f"figures that roll up: {', '.join(FIGURES)}")]
        )
    day = as_of or today()
    with uow.read_only():
        check_type(hierarchy_type, settings)
        require_customer(uow, customer_id)
        graph = load(uow, hierarchy_type, settings).graph
        subtree = [customer_id, *graph.descendants(customer_id, day)]
        briefs = uow.structure.briefs(subtree)
        figures = {n: b.credit_limit for n, b in briefs.items() if b.credit_limit is not None}
        totals = graph.roll_up(day, figures)
        children = graph.children_of(customer_id, day)
        currencies = sorted({b.currency for b in briefs.values() if b.currency})
        return {
            "customer_id": customer_id,
            "hierarchy_type": hierarchy_type,
            "as_of": day,
            "figure": figure,
            "own": figures.get(customer_id, Decimal(0)),
            "total": totals.get(customer_id, figures.get(customer_id, Decimal(0))),
            "nodes": len(subtree),
            "currencies": currencies,
            "children": [
                {**brief_dict(briefs.get(c), c), "total": totals.get(c, Decimal(0))}
                for c in children
            ],
        }


def inherited_fields(
    uow: UnitOfWork,
    customer_id: UUID,
    own: Mapping[str, Any],
    *,
    entity: str | None,
    as_of: date | None = None,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> dict[str, dict[str, Any]]:
    """Inheritable fields the customer leaves empty in ``own`` (its effective view for
    ``entity``), completed from the nearest ancestor on ``as_of`` that sets them.

    Returns ``{field: {"value", "from", "hierarchy"}}`` for the inherited fields only. Walks
    up one indexed query per level; call it inside the caller's unit of work.
    """
    fields = settings.inheritable_fields
    if not fields or all(own.get(name) is not None for name in fields):
        return {}
    day = as_of or today()
    hierarchy_type = settings.inheritance_hierarchy
    links: list[HierarchyLink[UUID]] = []
    seen = {customer_id}
    node = customer_id
    while (stored := uow.structure.parent_link(hierarchy_type, node, day)) is not None:
        links.append(stored.link)
        node = stored.link.parent_id
        if node in seen:  # pragma: no cover - the graph refuses cycles on write
            break
        seen.add(node)
    if not links:
        return {}
    graph = HierarchyGraph.from_links(
        hierarchy_type, links, allowed_types=settings.hierarchy_types, trusted=True
    )
    ancestors = [link.parent_id for link in links]
    own_fields: dict[UUID, Mapping[str, Any]] = {
        **uow.structure.field_values(ancestors, fields, entity),
        customer_id: {name: own.get(name) for name in fields},
    }
    resolved = graph.resolve_inherited(customer_id, day, own_fields, frozenset(fields))
    return {
        name: {
            "value": jsonable(value.value),
            "from": str(value.source_node),
            "hierarchy": hierarchy_type,
        }
        for name, value in sorted(resolved.items())
        if value.via == "inherited"
    }


# --- helpers ---------------------------------------------------------------------------


def _tree_nodes(tree: TreeNode[UUID]) -> list[UUID]:
    nodes, stack = [], [tree]
    while stack:
        current = stack.pop()
        nodes.append(current.node)
        stack.extend(current.children)
    return nodes


def _tree_dict(tree: TreeNode[UUID], briefs: Mapping[UUID, CustomerBrief]) -> dict[str, Any]:
    """Nested ``{"id", "number", "name", "children"}``, built without recursion."""
    top: dict[str, Any] = {**brief_dict(briefs.get(tree.node), tree.node), "children": []}
    stack: list[tuple[TreeNode[UUID], list[dict[str, Any]]]] = [(tree, top["children"])]
    while stack:
        current, out = stack.pop()
        for child in current.children:
            entry = {**brief_dict(briefs.get(child.node), child.node), "children": []}
            out.append(entry)
            stack.append((child, entry["children"]))
    return top


def _descendants(
    graph: HierarchyGraph[UUID], node: UUID, day: date
) -> list[tuple[UUID, UUID, int]]:
    rows: list[tuple[UUID, UUID, int]] = []
    queue = deque([(node, 0)])
    while queue:
        current, depth = queue.popleft()
        for child in graph.children_of(current, day):
            rows.append((child, current, depth + 1))
            queue.append((child, depth + 1))
    return rows
