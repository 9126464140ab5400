"""Hierarchy changes under the approval policy: link, move and end (or delete) a link.

Each planner validates the change on the links of its type (under the type's lock) and
computes its effect on the change's date: every customer of the moved subtree whose
inherited fields would change (field, before, after, and where the value comes from) and
every ancestor whose credit-limit roll-up would change (before, after).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import Operation
from custmaster.domain.approvals.rebase import same_value
from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.hierarchy import HierarchyGraph, HierarchyLink, LinkChange, SubtreeMove
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import (
    DEFAULT_SETTINGS,
    StructureSettings,
    brief_dict,
    check_customers,
    record,
    require_customer,
)
from custmaster.services.structure.hierarchies import (
    LoadedHierarchy,
    check_type,
    link_dict,
    load,
    move_dict,
)
from custmaster.services.structure.plans import (
    Plan,
    date_of,
    required_date,
    required_uuid,
    uuid_of,
)
from custmaster.services.structure.ports import StoredLink


def _lock(uow: UnitOfWork, hierarchy_type: str, settings: StructureSettings) -> LoadedHierarchy:
    check_type(hierarchy_type, settings)
    uow.structure.lock(f"hierarchy:{hierarchy_type}")
    return load(uow, hierarchy_type, settings)


def _after(
    loaded: LoadedHierarchy, changes: Iterable[LinkChange[UUID]], settings: StructureSettings
) -> HierarchyGraph[UUID]:
    graph = HierarchyGraph.from_links(
        loaded.graph.hierarchy_type,
        loaded.graph.links(),
        allowed_types=settings.hierarchy_types,
        trusted=True,
    )
    graph.apply_changes(changes)
    return graph


def _links_of(graph: HierarchyGraph[UUID], node: UUID) -> list[dict[str, Any]]:
    return [
        {
            "parent_id": str(link.parent_id),
            "valid_from": link.valid_from.isoformat(),
            "valid_to": link.valid_to.isoformat() if link.valid_to else None,
        }
        for link in graph.links_of(node)
    ]


def _base(
    graph: HierarchyGraph[UUID], node: UUID, parent: UUID | None, day: date
) -> dict[str, Any]:
    """The node's links over time, and the new parent's ancestors on the day: when either
    differs at approval, the structure moved meanwhile."""
    base: dict[str, Any] = {f"links.{node}": _links_of(graph, node)}
    if parent is not None:
        base[f"ancestors.{parent}"] = [str(a) for a in graph.ancestors(parent, day)]
    return base


def _store(
    uow: UnitOfWork, loaded: LoadedHierarchy, changes: Iterable[LinkChange[UUID]]
) -> list[StoredLink]:
    """Write the link changes; returns the links opened."""
    opened: list[StoredLink] = []
    now = utcnow()
    for change in changes:
        if change.before is not None:
            link_id = loaded.ids[change.before]
            if change.after is None:
                uow.structure.delete_link(link_id)
            else:
                uow.structure.set_link_end(link_id, change.after.valid_to)
        elif change.after is not None:
            stored = StoredLink(uuid4(), change.after)
            uow.structure.add_link(stored, now)
            opened.append(stored)
    return opened


def effect(
    uow: UnitOfWork,
    before: HierarchyGraph[UUID],
    after: HierarchyGraph[UUID],
    node: UUID,
    day: date,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> tuple[dict[str, Any], list[UUID]]:
    """What changing ``node``'s parent link does on ``day``: the inherited fields that
    change in its subtree and the credit-limit roll-ups that change above it. Returns
    the effect and the customers whose inherited fields change."""
    ups = list(dict.fromkeys([*before.ancestors(node, day), *after.ancestors(node, day)]))
    subtree = [node, *after.descendants(node, day)]
    roots = {before.root_of(node, day), after.root_of(node, day)}
    trees = {n for g in (before, after) for r in roots for n in (r, *g.descendants(r, day))}
    briefs = uow.structure.briefs({*trees, *subtree, *ups})
    inherited: list[dict[str, Any]] = []
    affected: list[UUID] = []
    fields = settings.inheritable_fields
    if before.hierarchy_type == settings.inheritance_hierarchy and fields:
        own = uow.structure.field_values([*subtree, *ups], fields, None)
        wanted = frozenset(fields)
        for current in subtree:
            old = before.resolve_inherited(current, day, own, wanted)
            new = after.resolve_inherited(current, day, own, wanted)
            for name in fields:
                was, now = old.get(name), new.get(name)
                was_value = was.value if was else None
                now_value = now.value if now else None
                if same_value(was_value, now_value):
                    continue
                inherited.append(
                    {
                        "customer": brief_dict(briefs.get(current), current),
                        "field": name,
                        "before": jsonable(was_value),
                        "after": jsonable(now_value),
                        "from_before": str(was.source_node)
                        if was and was_value is not None
                        else None,
                        "from_after": str(now.source_node)
                        if now and now_value is not None
                        else None,
                    }
                )
                if current not in affected:
                    affected.append(current)
    figures = {n: b.credit_limit for n, b in briefs.items() if b.credit_limit is not None}
    totals_before, totals_after = before.roll_up(day, figures), after.roll_up(day, figures)
    rollup = [
        {
            "customer": brief_dict(briefs.get(up), up),
            "before": str(totals_before.get(up, Decimal(0))),
            "after": str(totals_after.get(up, Decimal(0))),
        }
        for up in ups
        if totals_before.get(up, Decimal(0)) != totals_after.get(up, Decimal(0))
    ]
    body = {
        "hierarchy_type": before.hierarchy_type,
        "as_of": day.isoformat(),
        "customer": brief_dict(briefs.get(node), node),
        "parent_before": _parent(before, node, day, briefs),
        "parent_after": _parent(after, node, day, briefs),
        "inherited": inherited,
        "rollup": {"figure": "credit_limit", "changes": rollup},
    }
    return body, affected


def _parent(
    graph: HierarchyGraph[UUID], node: UUID, day: date, briefs: Mapping[UUID, Any]
) -> dict[str, Any] | None:
    parent = graph.parent_of(node, day)
    return None if parent is None else brief_dict(briefs.get(parent), parent)


def _field(hierarchy_type: str, node: UUID) -> str:
    return f"hierarchies.{hierarchy_type}.{node}.parent_id"


# --- planners --------------------------------------------------------------------------


def plan_link(
    uow: UnitOfWork, action: Mapping[str, Any], settings: StructureSettings = DEFAULT_SETTINGS
) -> Plan[StoredLink]:
    """``{"hierarchy_type", "parent_id", "child_id", "valid_from", "valid_to"}``."""
    hierarchy_type = str(action.get("hierarchy_type"))
    parent, child = required_uuid(action, "parent_id"), required_uuid(action, "child_id")
    valid_from = required_date(action, "valid_from")
    valid_to = date_of(action, "valid_to", optional=True)
    loaded = _lock(uow, hierarchy_type, settings)
    check_customers(uow, {"parent_id": parent, "child_id": child})
    link = HierarchyLink(hierarchy_type, parent, child, valid_from, valid_to)
    errors = loaded.graph.check_link(link)
    if errors:
        raise ValidationFailed(errors)
    changes: list[LinkChange[UUID]] = [LinkChange(None, link)]
    after = _after(loaded, changes, settings)
    body, affected = effect(uow, loaded.graph, after, child, valid_from, settings)

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> StoredLink:
        stored = _store(uow, loaded, changes)[0]
        record(
            uow,
            actor,
            resource_type="hierarchy_link",
            resource_id=str(stored.id),
            operation="create",
            before=None,
            after=link_dict(stored),
            subject=str(child),
            change_request_id=request_id,
        )
        return stored

    return Plan(
        Operation.HIERARCHY_LINK,
        hierarchy_type,
        child,
        {
            "field": _field(hierarchy_type, child),
            "before": _str(loaded.graph.parent_of(child, valid_from)),
            "after": str(parent),
        },
        _base(loaded.graph, child, parent, valid_from),
        body,
        apply,
        named=(parent, child),
        affected=tuple(affected),
    )


def plan_move(
    uow: UnitOfWork, action: Mapping[str, Any], settings: StructureSettings = DEFAULT_SETTINGS
) -> Plan[SubtreeMove[UUID]]:
    """``{"hierarchy_type", "customer_id", "new_parent_id" (None: detach),
    "effective_date"}``."""
    hierarchy_type = str(action.get("hierarchy_type"))
    node = required_uuid(action, "customer_id")
    new_parent = uuid_of(action, "new_parent_id", optional=True)
    day = required_date(action, "effective_date")
    loaded = _lock(uow, hierarchy_type, settings)
    require_customer(uow, node)
    check_customers(uow, {"new_parent_id": new_parent})
    move = loaded.graph.plan_move(node, new_parent, day)
    after = _after(loaded, move.changes, settings)
    body, affected = effect(uow, loaded.graph, after, node, day, settings)

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> SubtreeMove[UUID]:
        _store(uow, loaded, move.changes)
        record(
            uow,
            actor,
            resource_type="hierarchy",
            resource_id=f"{hierarchy_type}:{node}",
            operation="move",
            subject=str(node),
            change_request_id=request_id,
            before={"parent_id": move.from_parent},
            after={
                "parent_id": move.to_parent,
                "effective_date": day,
                "link_changes": move_dict(move)["changes"],
            },
        )
        return move

    named = tuple(n for n in (node, new_parent, move.from_parent) if n is not None)
    return Plan(
        Operation.HIERARCHY_MOVE,
        hierarchy_type,
        node,
        {
            "field": _field(hierarchy_type, node),
            "before": _str(move.from_parent),
            "after": _str(new_parent),
        },
        _base(loaded.graph, node, new_parent, day),
        body,
        apply,
        named=named,
        affected=tuple(affected),
    )


def plan_end(
    uow: UnitOfWork, action: Mapping[str, Any], settings: StructureSettings = DEFAULT_SETTINGS
) -> Plan[StoredLink | None]:
    """``{"hierarchy_type", "link_id", "valid_to"}``: close the link on ``valid_to``
    (exclusive); without ``valid_to`` delete it (a correction)."""
    hierarchy_type = str(action.get("hierarchy_type"))
    link_id = required_uuid(action, "link_id")
    valid_to = date_of(action, "valid_to", optional=True)
    loaded = _lock(uow, hierarchy_type, settings)
    stored = uow.structure.get_link(link_id)
    if stored is None or stored.link.hierarchy_type != hierarchy_type:
        raise NotFound(f"no {hierarchy_type} hierarchy link {link_id}")
    old = stored.link
    if valid_to is None:
        change: LinkChange[UUID] = LinkChange(old, None)
        day = old.valid_from
    else:
        _check_end(old, valid_to)
        change = LinkChange(old, replace(old, valid_to=valid_to))
        day = valid_to
    after = _after(loaded, [change], settings)
    body, affected = effect(uow, loaded.graph, after, old.child_id, day, settings)
    body["link"] = jsonable(link_dict(stored))

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> StoredLink | None:
        _store(uow, loaded, [change])
        if change.after is None:
            record(
                uow,
                actor,
                resource_type="hierarchy_link",
                resource_id=str(link_id),
                operation="delete",
                before=link_dict(stored),
                after=None,
                subject=str(old.child_id),
                change_request_id=request_id,
            )
            return None
        ended = StoredLink(link_id, change.after)
        record(
            uow,
            actor,
            resource_type="hierarchy_link",
            resource_id=str(link_id),
            operation="end",
            before=link_dict(stored),
            after=link_dict(ended),
            subject=str(old.child_id),
            change_request_id=request_id,
        )
        return ended

    return Plan(
        Operation.HIERARCHY_END,
        hierarchy_type,
        old.child_id,
        {
            "field": _field(hierarchy_type, old.child_id),
            "before": str(old.parent_id),
            "after": None,
        },
        _base(loaded.graph, old.child_id, None, day),
        body,
        apply,
        named=(old.parent_id, old.child_id),
        affected=tuple(affected),
    )


def _check_end(link: HierarchyLink[UUID], valid_to: date) -> None:
    if valid_to <= link.valid_from:
        raise ValidationFailed(
            [
                FieldError(
                    "valid_to", "invalid_period", f"must be after valid_from ({link.valid_from})"
                )
            ]
        )
    if link.valid_to is not None and valid_to > link.valid_to:
        raise ValidationFailed(
            [FieldError("valid_to", "extends_period", "ending cannot extend a link")]
        )


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
