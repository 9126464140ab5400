"""Keeping ``profile_wide`` (``tables_profile_wide.py``) equal to its sources.

:func:`refresh` replaces the read rows of some customers with ``profile_features`` joined
to ``customers`` and ``profile_scores`` -- two set-based statements per
``members.chunk_size`` customers, in the caller's transaction -- so the rows are right by
construction whatever order the features and the scores were written in.
:func:`master_trigger_ddl` is the trigger that copies a changed master field (migration
0022_profile_wide creates it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Select,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    column,
    delete,
    insert,
    select,
    table,
    text,
)
from sqlalchemy.types import TypeDecorator

from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.members import chunk_size, member_of
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_activity import AGGREGATE_TABLES
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores
from custmaster.persistence.tables_profile_wide import (
    master_column_types,
    profile_wide,
    score_column_types,
)

MASTER_COLUMNS: tuple[str, ...] = tuple(master_column_types())
SCORE_COLUMNS: tuple[str, ...] = tuple(score_column_types())


def _source() -> Select[Any]:
    f, c, s = profile_features, customers, profile_scores
    return select(
        f.c.customer_id,
        f.c.legal_entity,
        *(c.c[n] for n in MASTER_COLUMNS),
        *(f.c[n] for n in PROFILE_FEATURES),
        *(s.c[n] for n in SCORE_COLUMNS),
        f.c.updated_at,
    ).select_from(
        f.join(c, c.c.id == f.c.customer_id).outerjoin(
            s, and_(s.c.customer_id == f.c.customer_id, s.c.legal_entity == f.c.legal_entity)
        )
    )


_TARGET = [
    "customer_id",
    "legal_entity",
    *MASTER_COLUMNS,
    *PROFILE_FEATURES,
    *SCORE_COLUMNS,
    "updated_at",
]


def refresh(connection: Connection, customer_ids: Iterable[UUID]) -> None:
    """Replace the read rows of these customers with their stored features, master fields
    and scores (a customer without feature rows keeps none)."""
    ids: Sequence[UUID] = sorted(set(customer_ids))
    size = chunk_size(connection)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        connection.execute(
            delete(profile_wide).where(member_of(connection, profile_wide.c.customer_id, chunk))
        )
        source = _source().where(member_of(connection, profile_features.c.customer_id, chunk))
        connection.execute(insert(profile_wide).from_select(_TARGET, source))


def refresh_batch(connection: Connection, batch: str) -> None:
    """:func:`refresh` of the customers listed in table ``batch`` (``customer_id``), set
    based: one DELETE and one INSERT ... SELECT joined to that table."""
    listed = select(table(batch, column("customer_id")).c.customer_id).scalar_subquery()
    connection.execute(delete(profile_wide).where(profile_wide.c.customer_id.in_(listed)))
    source = (
        _source()
        .where(profile_features.c.customer_id.in_(listed))
        .order_by(profile_features.c.customer_id, profile_features.c.legal_entity)
    )  # in the primary key's order: its index filled page by page
    connection.execute(insert(profile_wide).from_select(_TARGET, source))


def refresh_all(connection: Connection) -> None:
    """Rebuild every read row (the migration's backfill; a bulk load's last step)."""
    connection.execute(delete(profile_wide))
    connection.execute(insert(profile_wide).from_select(_TARGET, _source()))


def master_trigger_ddl(dialect: str) -> list[str]:
    """The statements creating the trigger that copies a customer's changed master fields
    to its read rows."""
    sets = ", ".join(f"{n} = NEW.{n}" for n in MASTER_COLUMNS)
    update = f"UPDATE profile_wide SET {sets} WHERE customer_id = NEW.id;"
    if dialect == "postgresql":
        changed = " OR ".join(f"OLD.{n} IS DISTINCT FROM NEW.{n}" for n in MASTER_COLUMNS)
        return [
            "CREATE FUNCTION profile_wide_master() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {update} RETURN NULL; END $$",
            "CREATE TRIGGER customers_profile_wide AFTER UPDATE ON customers FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION profile_wide_master()",
        ]
    return [
        f"CREATE TRIGGER customers_profile_wide AFTER UPDATE OF {', '.join(MASTER_COLUMNS)} "
        f"ON customers FOR EACH ROW BEGIN {update} END",
    ]


def drop_trigger_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS customers_profile_wide ON customers",
            "DROP FUNCTION IF EXISTS profile_wide_master()",
        ]
    return ["DROP TRIGGER IF EXISTS customers_profile_wide"]


# -- the 360 view's read -----------------------------------------------------------------


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``json_agg`` becomes the column's Python type (None: as it is)."""
    engine = column.type
    if isinstance(engine, TypeDecorator):
        engine = engine.impl_instance
    try:
        kind = engine.python_type
    except NotImplementedError:  # pragma: no cover - every column here has one
        return None
    if kind is datetime:
        return lambda value: datetime.fromisoformat(value).astimezone(UTC)
    if kind is date:
        return date.fromisoformat
    if kind is UUID:
        return UUID
    if kind in (int, float, str, bool):
        return kind
    return None


#: per table, its columns' names and converters (decided once, not per value)
_CONVERTERS: dict[Table, list[tuple[str, Callable[[Any], Any] | None]]] = {}


def _converters(table: Table) -> list[tuple[str, Callable[[Any], Any] | None]]:
    found = _CONVERTERS.get(table)
    if found is None:
        found = _CONVERTERS[table] = [(c.name, _converter(c)) for c in table.c]
    return found


def _rows(table: Table, values: list[dict[str, Any]]) -> list[SimpleNamespace]:
    columns = _converters(table)
    out = []
    for item in values:
        row = {}
        for name, convert in columns:
            value = item.get(name)
            row[name] = value if value is None or convert is None else convert(value)
        out.append(SimpleNamespace(**row))
    return out


# -- the subtree a parent's figures roll up (one recursive statement) -------------------

#: the links of a hierarchy type active on a day (``[valid_from, valid_to)``), in SQL
_ACTIVE_LINK = (
    "h.hierarchy_type = :hierarchy_type AND h.valid_from <= :as_of "
    "AND (h.valid_to IS NULL OR h.valid_to > :as_of)"
)
#: the links under ``:customer_id`` active on ``:as_of`` (a recursive CTE named subtree);
#: ``UNION`` keeps it finite whatever the rows (stored links have no cycle on any day)
SUBTREE_CTE = (
    "subtree AS (SELECT h.id, h.parent_id, h.child_id, h.valid_from, h.created_at "
    f"FROM hierarchy_links h WHERE h.parent_id = :customer_id AND {_ACTIVE_LINK} "
    "UNION SELECT h.id, h.parent_id, h.child_id, h.valid_from, h.created_at "
    f"FROM hierarchy_links h JOIN subtree s ON h.parent_id = s.child_id WHERE {_ACTIVE_LINK})"
)
#: the links in the order ``StructureRepository.links`` gives them (a node's children in
#: that order, as ``HierarchyGraph`` walks them)
_LINK_ORDER = "s.valid_from, s.created_at, s.id"
_PARAMS = (
    bindparam("customer_id", type_=Uuid()),
    bindparam("hierarchy_type", type_=String()),
    bindparam("as_of", type_=Date()),
)
SUBTREE = (
    text(
        f"WITH RECURSIVE {SUBTREE_CTE} SELECT s.parent_id, s.child_id FROM subtree s "
        f"ORDER BY {_LINK_ORDER}"
    )
    .bindparams(*_PARAMS)
    .columns(parent_id=Uuid(), child_id=Uuid())
)


def breadth_first(node: UUID, links: Iterable[tuple[UUID, UUID]]) -> list[UUID]:
    """The descendants of ``node`` through ``(parent, child)`` links given in link order:
    children, then grandchildren, ... (``HierarchyGraph.descendants``' order)."""
    children: dict[UUID, list[UUID]] = {}
    for parent, child in links:
        children.setdefault(parent, []).append(child)
    found: list[UUID] = []
    queue = deque([node])
    while queue:
        for child in children.get(queue.popleft(), ()):
            found.append(child)
            queue.append(child)
    return found


def descendants(
    connection: Connection, customer_id: UUID, hierarchy_type: str, as_of: date
) -> list[UUID]:
    """The customer's descendants in ``hierarchy_type`` on ``as_of``, breadth first: one
    recursive statement over the subtree's links (not the whole hierarchy)."""
    params = {"customer_id": customer_id, "hierarchy_type": hierarchy_type, "as_of": as_of}
    return breadth_first(customer_id, ((p, c) for p, c in connection.execute(SUBTREE, params)))


SNAPSHOT_TABLES: tuple[Table, ...] = (*AGGREGATE_TABLES, profile_wide)
SNAPSHOT = text(
    f"WITH RECURSIVE {SUBTREE_CTE} SELECT "
    + ", ".join(
        f"(SELECT coalesce(json_agg(t), '[]'::json) FROM {t.name} t "
        f"WHERE t.customer_id = :customer_id) AS {t.name}"
        for t in SNAPSHOT_TABLES
    )
    + ", (SELECT json_build_object('number', c.number, 'name', c.name, 'customer_group', "
    "c.customer_group, 'owning_entity', c.owning_entity, 'credit_limit', c.credit_limit) "
    "FROM customers c WHERE c.id = :customer_id) AS master"
    + ", (SELECT coalesce(json_agg(json_build_array(o.entity_code, o.credit_limit)), "
    "'[]'::json) FROM customer_overrides o WHERE o.customer_id = :customer_id) AS overrides"
    + ", (SELECT coalesce(json_object_agg(e.code, e.currency), '{}'::json) "
    "FROM legal_entities e) AS currencies"
    + ", (SELECT coalesce(json_agg(json_build_array(s.parent_id, s.child_id) "
    f"ORDER BY {_LINK_ORDER}), '[]'::json) FROM subtree s) AS subtree"
).bindparams(*_PARAMS)


@dataclass(frozen=True, slots=True)
class Snapshot:
    tables: dict[Table, list[Any]]  # aggregate table -> rows (attribute access)
    wide: list[dict[str, Any]]  # the read rows
    master: dict[str, Any] | None  # number, name, customer group, owning entity (None: no
    # such customer)
    credit_limit: Any
    overrides: list[tuple[str, Any]]  # (legal entity, credit limit or None)
    currencies: dict[str, str]
    descendants: list[UUID]  # breadth first, in the hierarchy asked for, on the day asked


def snapshot_params(customer_id: UUID, hierarchy_type: str, as_of: date) -> dict[str, Any]:
    return {"customer_id": customer_id, "hierarchy_type": hierarchy_type, "as_of": as_of}


def snapshot(
    connection: Connection, customer_id: UUID, hierarchy_type: str, as_of: date
) -> Snapshot | None:
    """On PostgreSQL, what the 360 view reads of a customer in one round trip: each
    table's rows aggregated as JSON (converted back to the columns' types), the master's
    header fields and credit limit, the overrides' limits, every entity's currency and
    the customer's descendants in ``hierarchy_type`` on ``as_of`` (a recursive CTE);
    ``None`` elsewhere (:func:`snapshot_parts`)."""
    if connection.dialect.name != "postgresql":
        return None
    params = snapshot_params(customer_id, hierarchy_type, as_of)
    found = connection.execute(SNAPSHOT, params).one()._mapping
    return snapshot_of(customer_id, found)


def snapshot_of(customer_id: UUID, found: Mapping[Any, Any]) -> Snapshot:
    """The :data:`SNAPSHOT` statement's row (its JSON decoded) as a :class:`Snapshot`."""
    master = found["master"]
    return Snapshot(
        {t: _rows(t, found[t.name]) for t in AGGREGATE_TABLES},
        [vars(r) for r in _rows(profile_wide, found[profile_wide.name])],
        None if master is None else {k: v for k, v in master.items() if k != "credit_limit"},
        None if master is None else master["credit_limit"],
        [(entity, limit) for entity, limit in found["overrides"]],
        dict(found["currencies"]),
        breadth_first(customer_id, ((UUID(p), UUID(c)) for p, c in found["subtree"])),
    )


def snapshot_parts(
    connection: Connection, customer_id: UUID
) -> tuple[dict[Table, list[Any]], list[dict[str, Any]]]:
    """A customer's aggregate rows and read rows, a statement per table."""
    tables: dict[Table, list[Any]] = {
        t: list(connection.execute(select(t).where(t.c.customer_id == customer_id)))
        for t in AGGREGATE_TABLES
    }
    query = select(profile_wide).where(profile_wide.c.customer_id == customer_id)
    return tables, [dict(r._mapping) for r in connection.execute(query)]
