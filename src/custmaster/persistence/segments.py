"""Saved segments, and segment queries: an expression translated to SQL over the profile's
read rows (``profile_wide``: master fields, features and scores in one row per customer
and legal entity), so a question is a WHERE over one table its indexes serve.

A query is evaluated on the read rows of the scope's legal entities: with one entity
(``*`` for an unscoped user: the figures over every entity) a customer has at most one
row; with several (a user scoped to some entities) a customer matches when the
expression holds on one of its rows there. A customer without a row there is evaluated
on an empty profile (master fields only, every feature and score missing), as
master-field questions expect: that part reads ``customers`` and is left out when the
expression cannot hold without a profile (``expression_sql.can_hold``), as most
feature questions cannot.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Row,
    Select,
    cast,
    delete,
    exists,
    func,
    insert,
    null,
    select,
    union_all,
    update,
)

from custmaster.domain.expressions import Node, Type
from custmaster.domain.profile_schema import MASTER_FIELDS, QUERY_SCHEMA
from custmaster.persistence.expression_sql import SQL_TYPES, can_hold, to_sql
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile_rules import segments
from custmaster.persistence.tables_profile_wide import profile_wide
from custmaster.services.profile.rule_ports import QueryScope, SavedSegment

_SUMMARY = (
    "id",
    "number",
    "name",
    "kind",
    "country",
    "industry",
    "customer_group",
    "account_tier",
    "owning_entity",
    "status",
)
_MASTER = frozenset(MASTER_FIELDS)


def _wide_column(name: str) -> ColumnElement[Any]:
    return profile_wide.c.customer_id if name == "id" else profile_wide.c[name]


def _missing(name: str) -> ColumnElement[Any]:
    kind = QUERY_SCHEMA[name]
    return cast(null(), SQL_TYPES.get(kind, SQL_TYPES[Type.STRING]))


def _parts(
    tree: Node,
    scope: QueryScope,
    dialect: str,
    today: date,
    after: str | None,
    columns: tuple[str, ...],
) -> list[Select[Any]]:
    """The statements whose rows (``columns`` of the matching customers) together answer
    the query: the customers matching on a read row of the scope, and those without one
    matching on an empty profile; disjoint."""
    entities = sorted(scope.entities)
    w = profile_wide
    parts: list[Select[Any]] = []
    if entities:
        on_rows = to_sql(tree, lambda n: w.c[n], dialect, today)
        of_scope = (
            w.c.legal_entity == entities[0]
            if len(entities) == 1
            else w.c.legal_entity.in_(entities)
        )
        if len(entities) == 1:  # one row per customer: read the row itself
            part = select(*(_wide_column(c).label(c) for c in columns)).where(of_scope, on_rows)
            if after is not None:
                part = part.where(w.c.number > after)
        else:
            ids = select(w.c.customer_id).where(of_scope, on_rows)
            part = select(*(customers.c[c] for c in columns)).where(customers.c.id.in_(ids))
            if after is not None:
                part = part.where(customers.c.number > after)
        parts.append(part)
    if can_hold(tree, _MASTER):
        c = customers
        on_empty = to_sql(tree, lambda n: c.c[n] if n in _MASTER else _missing(n), dialect, today)
        part = select(*(c.c[col] for col in columns)).where(on_empty)
        if entities:
            has_row = exists().where(
                w.c.customer_id == c.c.id,
                w.c.legal_entity.in_(entities),
            )
            part = part.where(~has_row)
        if after is not None:
            part = part.where(c.c.number > after)
        parts.append(part)
    return parts


def _union(parts: list[Select[Any]]) -> Select[Any] | CompoundSelect[Any]:
    return parts[0] if len(parts) == 1 else union_all(*parts)


class SqlSegmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def query(
        self, tree: Node, scope: QueryScope, today: date, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        parts = _parts(tree, scope, self._dialect, today, after, _SUMMARY)
        if not parts:
            return []
        page = _union(parts).subquery()
        query = select(page).order_by(page.c.number).limit(limit)
        return [dict(row._mapping) for row in self._connection.execute(query)]

    def page(
        self, tree: Node, scope: QueryScope, today: date, after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page (after number ``after``) and the total, in one statement: the matching
        rows are found once (PostgreSQL materialises a CTE read twice) and both counted
        and cut into the page."""
        parts = _parts(tree, scope, self._dialect, today, None, _SUMMARY)
        if not parts:
            return [], 0
        found = _union(parts).cte("found")
        total = select(func.count()).select_from(found).scalar_subquery().label("total")
        query = select(found, total).order_by(found.c.number).limit(limit)
        if after is not None:
            query = query.where(found.c.number > after)
        rows = [dict(row._mapping) for row in self._connection.execute(query)]
        if not rows:  # past the last page: no row to carry the total
            return [], self.count(tree, scope, today)
        count = int(rows[0]["total"])
        for row in rows:
            del row["total"]
        return rows, count

    def count(self, tree: Node, scope: QueryScope, today: date) -> int:
        parts = _parts(tree, scope, self._dialect, today, None, ("id",))
        if not parts:
            return 0
        inner = _union(parts).subquery()
        found = self._connection.execute(select(func.count()).select_from(inner)).scalar_one()
        return int(found)

    # saved segments
    def add(self, segment: SavedSegment) -> None:
        self._connection.execute(insert(segments).values(**_row(segment)))

    def get(self, segment_id: UUID) -> SavedSegment | None:
        row = self._connection.execute(select(segments).where(segments.c.id == segment_id)).first()
        return None if row is None else _segment(row)

    def by_name(self, name: str) -> SavedSegment | None:
        row = self._connection.execute(select(segments).where(segments.c.name == name)).first()
        return None if row is None else _segment(row)

    def all(self) -> list[SavedSegment]:
        rows = self._connection.execute(select(segments).order_by(segments.c.name))
        return [_segment(row) for row in rows]

    def save(self, segment: SavedSegment) -> None:
        values = _row(segment)
        del values["id"]
        self._connection.execute(update(segments).where(segments.c.id == segment.id).values(values))

    def delete(self, segment_id: UUID) -> None:
        self._connection.execute(delete(segments).where(segments.c.id == segment_id))


def _row(segment: SavedSegment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "expression": segment.expression,
        "entity": segment.entity,
        "created_by": segment.created_by,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _segment(row: Row[Any]) -> SavedSegment:
    return SavedSegment(**dict(row._mapping))
