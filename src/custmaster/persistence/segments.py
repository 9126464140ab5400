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
feature questions cannot. An expression over master fields only reads ``customers``
alone: every read row of a customer carries its master fields, so the answer is the
same.

A page is an ``ORDER BY number LIMIT`` (after the cursor's number); the total is a
second statement, exact or, above a limit on PostgreSQL, the planner's estimate
(:meth:`SqlSegmentRepository.total`). Segment statements run without JIT compilation on
PostgreSQL (:meth:`SqlSegmentRepository._planner`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
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

from custmaster.domain.expressions import Binary, Call, Cond, Ident, ListLit, Node, Type, Unary
from custmaster.domain.profile_schema import MASTER_FIELDS, QUERY_SCHEMA
from custmaster.persistence.expression_sql import SQL_TYPES, can_hold, to_sql
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile_rules import segments
from custmaster.persistence.tables_profile_wide import profile_wide
from custmaster.services.profile.rule_ports import QueryScope, SavedSegment, Total

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


def _names(node: Node) -> set[str]:
    """The names an expression reads."""
    if isinstance(node, Ident):
        return {node.name}
    children: list[Node] = []
    if isinstance(node, Unary):
        children = [node.operand]
    elif isinstance(node, Binary):
        children = [node.left, node.right]
    elif isinstance(node, Call):
        children = [*([node.target] if node.target is not None else []), *node.args]
    elif isinstance(node, Cond):
        children = [node.test, node.then, node.other]
    elif isinstance(node, ListLit):
        children = list(node.items)
    return set().union(*(_names(child) for child in children))


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
    if _names(tree) <= _MASTER:
        # master fields only: every read row of a customer holds its master fields, as
        # does the empty profile, so the answer is the customers' own -- no read row,
        # no anti-join (which cost a second at 1,000,000 customers)
        c = customers
        part = select(*(c.c[col] for col in columns)).where(
            to_sql(tree, lambda n: c.c[n], dialect, today)
        )
        return [part if after is None else part.where(c.c.number > after)]
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
        self._jit_off = False

    def query(
        self, tree: Node, scope: QueryScope, today: date, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        parts = _parts(tree, scope, self._dialect, today, after, _SUMMARY)
        if not parts:
            return []
        page = _union(parts).subquery()
        query = select(page).order_by(page.c.number).limit(limit)
        with self._planner():
            return [dict(row._mapping) for row in self._connection.execute(query)]

    def page(
        self,
        tree: Node,
        scope: QueryScope,
        today: date,
        after: str | None,
        limit: int,
        exact_up_to: int | None = None,
    ) -> tuple[list[dict[str, Any]], Total]:
        """A page (after number ``after``; an ``ORDER BY number LIMIT``, which the
        planner may serve by walking the number index) and :meth:`total`. A first page
        shorter than ``limit`` is the whole answer: its length is the total."""
        with self._planner():
            rows = self.query(tree, scope, today, after, limit)
            if after is None and len(rows) < limit:
                return rows, Total(len(rows), True)
            return rows, self.total(tree, scope, today, exact_up_to)

    def count(self, tree: Node, scope: QueryScope, today: date) -> int:
        parts = _parts(tree, scope, self._dialect, today, None, ("id",))
        if not parts:
            return 0
        inner = _union(parts).subquery()
        with self._planner():
            found = self._connection.execute(select(func.count()).select_from(inner))
            return int(found.scalar_one())

    def total(
        self, tree: Node, scope: QueryScope, today: date, exact_up_to: int | None = None
    ) -> Total:
        """The number of matching customers. Without ``exact_up_to``, and on SQLite, an
        exact count. On PostgreSQL with it: when the planner expects at most
        ``exact_up_to`` rows they are counted up to ``exact_up_to`` (the count stops after
        one more), when it expects more, up to a tenth of it; a count that stops short
        is exact, one that reaches its limit gives the planner's estimate (never below
        what was counted) marked as not exact. The row fetches of a count cost ~40 µs
        each at 1,000,000 customers here, so counting 34,000 matches took a second; the
        estimate costs a millisecond."""
        if exact_up_to is None or self._dialect != "postgresql":
            return Total(self.count(tree, scope, today), True)
        parts = _parts(tree, scope, self._dialect, today, None, ("id",))
        if not parts:
            return Total(0, True)
        with self._planner():
            estimate = self._estimate(_union(parts))
            cap = exact_up_to if estimate <= exact_up_to else max(exact_up_to // 10, 1)
            capped = _union(parts).limit(cap + 1).subquery()
            counted = int(
                self._connection.execute(select(func.count()).select_from(capped)).scalar_one()
            )
            if counted <= cap:
                return Total(counted, True)
            return Total(max(counted, estimate), False)

    def _estimate(self, query: Select[Any] | CompoundSelect[Any]) -> int:
        """The planner's estimate of the rows of ``query`` (PostgreSQL)."""
        compiled = query.compile(
            dialect=self._connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        plan = self._connection.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params
        ).scalar_one()
        if isinstance(plan, str):  # pragma: no cover - psycopg parses json already
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    @contextmanager
    def _planner(self) -> Iterator[None]:
        """On PostgreSQL, segment statements without JIT compilation: the questions are
        index range scans of well under a second, and compiling cost 100-175 ms of them
        at 1,000,000 customers (``docs/profile-rules.md``)."""
        if self._dialect != "postgresql" or self._jit_off:
            yield
            return
        self._connection.exec_driver_sql("SET jit = off")
        self._jit_off = True
        try:
            yield
        finally:
            self._jit_off = False
            self._connection.exec_driver_sql("RESET jit")

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
