"""Saved segments, and segment queries: an expression translated to one SQL statement
over customers, their profile rows (``profile_features``) and their scores.

A query is evaluated on the profile rows of the scope's legal entities: with one entity
(``*`` for an unscoped user: the figures over every entity) a customer has at most one
row, joined directly; with several (a user scoped to some entities) a customer matches
when the expression holds on one of its rows there -- or, when it has none there, on an
empty profile (every feature missing), as master-field questions expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    Row,
    Select,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from custmaster.domain.expressions import Node
from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.domain.profile_schema import LIST_SCORE_FIELDS, MASTER_FIELDS, SCORE_FIELDS
from custmaster.persistence.expression_sql import to_sql
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores, segments
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


def _matching(
    columns: Sequence[Column[Any]], tree: Node, scope: QueryScope, dialect: str, today: date
) -> Select[Any]:
    """``SELECT columns FROM customers ... WHERE <tree>`` for ``scope``."""
    c = customers.alias("c")
    f = profile_features.alias("f")
    s = profile_scores.alias("s")

    def resolve(name: str) -> ColumnElement[Any]:
        if name in MASTER_FIELDS:
            return c.c[name]
        if name == "legal_entity" or name in PROFILE_FEATURES:
            return f.c[name]
        if name in SCORE_FIELDS or name in LIST_SCORE_FIELDS:
            return s.c[name]
        raise KeyError(name)  # pragma: no cover - the checker knows the same names

    where = to_sql(tree, resolve, dialect, today)
    entities = sorted(scope.entities)
    single = len(entities) == 1
    on_f = f.c.legal_entity == entities[0] if single else f.c.legal_entity.in_(entities)
    joined: FromClause = c.outerjoin(f, and_(f.c.customer_id == c.c.id, on_f)).outerjoin(
        s, and_(s.c.customer_id == c.c.id, s.c.legal_entity == f.c.legal_entity)
    )
    if single:
        return select(*(c.c[col.name] for col in columns)).select_from(joined).where(where)
    ids = select(c.c.id).select_from(joined).where(where)
    return select(*columns).where(customers.c.id.in_(ids))


class SqlSegmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def query(
        self, tree: Node, scope: QueryScope, today: date, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        columns = [customers.c[name] for name in _SUMMARY]
        query = _matching(columns, tree, scope, self._dialect, today)
        number = query.selected_columns.number
        if after is not None:
            query = query.where(number > after)
        query = query.order_by(number).limit(limit)
        return [dict(row._mapping) for row in self._connection.execute(query)]

    def count(self, tree: Node, scope: QueryScope, today: date) -> int:
        inner = _matching([customers.c.id], tree, scope, self._dialect, today).subquery()
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
