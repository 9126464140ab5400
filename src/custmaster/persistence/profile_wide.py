"""Keeping ``profile_wide`` (``tables_profile_wide.py``) equal to its sources.

:func:`refresh` replaces the read rows of some customers with ``profile_features`` joined
to ``customers`` and ``profile_scores`` -- two set-based statements per
``members.chunk_size`` customers, in the caller's transaction -- so the rows are right by
construction whatever order the features and the scores were written in.
:func:`master_trigger_ddl` is the trigger that copies a changed master field (migration
0022_profile_wide creates it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Connection, Select, Table, and_, delete, insert, select, text
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


def _coerce(column: Column[Any], value: Any) -> Any:
    """A value of ``json_agg`` back to the column's Python type."""
    if value is None:
        return None
    engine = column.type
    if isinstance(engine, TypeDecorator):
        engine = engine.impl_instance
    try:
        kind = engine.python_type
    except NotImplementedError:  # pragma: no cover - every column here has one
        return value
    if kind is datetime:
        return datetime.fromisoformat(value).astimezone(UTC)
    if kind is date:
        return date.fromisoformat(value)
    if kind is UUID:
        return UUID(value)
    if kind in (int, float, str, bool):
        return kind(value)
    return value


def _rows(table: Table, values: list[dict[str, Any]]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(**{c.name: _coerce(c, item.get(c.name)) for c in table.c})
        for item in values
    ]


SNAPSHOT_TABLES: tuple[Table, ...] = (*AGGREGATE_TABLES, profile_wide)
SNAPSHOT = text(
    "SELECT "
    + ", ".join(
        f"(SELECT coalesce(json_agg(t), '[]'::json) FROM {t.name} t "
        f"WHERE t.customer_id = :customer_id) AS {t.name}"
        for t in SNAPSHOT_TABLES
    )
    + ", (SELECT json_build_object('owning_entity', c.owning_entity, 'credit_limit', "
    "c.credit_limit) FROM customers c WHERE c.id = :customer_id) AS master"
    + ", (SELECT coalesce(json_agg(json_build_array(o.entity_code, o.credit_limit)), "
    "'[]'::json) FROM customer_overrides o WHERE o.customer_id = :customer_id) AS overrides"
    + ", (SELECT coalesce(json_object_agg(e.code, e.currency), '{}'::json) "
    "FROM legal_entities e) AS currencies"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    tables: dict[Table, list[Any]]  # aggregate table -> rows (attribute access)
    wide: list[dict[str, Any]]  # the read rows
    owning_entity: str | None
    credit_limit: Any
    overrides: list[tuple[str, Any]]  # (legal entity, credit limit or None)
    currencies: dict[str, str]


def snapshot(connection: Connection, customer_id: UUID) -> Snapshot | None:
    """On PostgreSQL, what the 360 view reads of a customer in one round trip: each
    table's rows aggregated as JSON (converted back to the columns' types), the master's
    owning entity and credit limit, the overrides' limits and every entity's currency;
    ``None`` elsewhere (:func:`snapshot_parts`)."""
    if connection.dialect.name != "postgresql":
        return None
    found = connection.execute(SNAPSHOT, {"customer_id": customer_id}).one()._mapping
    master = found["master"] or {}
    return Snapshot(
        {t: _rows(t, found[t.name]) for t in AGGREGATE_TABLES},
        [vars(r) for r in _rows(profile_wide, found[profile_wide.name])],
        master.get("owning_entity"),
        master.get("credit_limit"),
        [(entity, limit) for entity, limit in found["overrides"]],
        dict(found["currencies"]),
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
