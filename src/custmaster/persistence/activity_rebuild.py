"""The set-based profile rebuild (PostgreSQL): every aggregate part of
``domain.activity_state.ActivityState`` and every profile feature of
``domain.profile_calc.profile_rows`` recomputed by ``INSERT ... SELECT ... GROUP BY`` from
the stored events into unlogged scratch tables, compared with the stored rows in SQL, and
only what differs written back.

It is a second implementation of ``state_of`` + ``ActivityState.merge`` and of
``profile_rows``, held equal to them by ``tests/profile/test_rebuild_sql.py`` (random event
sets: SQL rebuild against the Python fold) and ``tests/profile/test_property_replay.py``:

- amounts and quantities are read from the envelope as ``parse_envelope`` reads them: a
  JSON number with a fraction or an exponent goes through a double (as ``json.loads``
  makes it) and its shortest text (``str(float)``), then times the scale, rounded half to
  even (``Decimal.to_integral_value``);
- the legal entity, business date, event time and kind are the stored columns (intake
  writes them from the parsed event); the register stamp is the event time's
  ``isoformat()`` and the event id, compared in code point order (``COLLATE "C"``);
- an absorbed customer's events count for its final survivor (``customer_redirects``
  followed up to 64 hops, as ``services.profile.rebuild._final``);
- a contract register's value (dates and ``str(Decimal)`` of the committed volume) is
  parsed by ``parse_envelope`` from the winning event of each contract (one event per
  contract, not per event);
- features are floats summed in another order than Python's: they are compared within
  ``profile_calc.TOLERANCE``, as the Python rebuild compares them.

Sales and order counts, the bulk of the work, are ``CREATE TABLE AS`` over the order lines
and the placed orders alone (PostgreSQL runs those in parallel), see :func:`_stage_sales`.
The writes are set-based too (:func:`write`): the drifted customers' parts, feature rows
and read rows by ``INSERT ... SELECT``, their scores and events by
``persistence/profile_scoring_sql.py``.

The customers may be split by id into slices (:class:`Stage`, :func:`split`): each slice's
aggregates, comparison and features are computed from its own events and stored rows (an
event counts in the slice of its final customer), on a connection of its own, at the same
time as the other slices'; the writes read the slices' tables put together
(:func:`combine`).

The scratch tables are named ``rebuild_<run>_<name>`` (a slice's ``rebuild_<run>_s<n>_<name>``;
unlogged: the writes read them from their own transactions) and dropped at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, MetaData, text

from custmaster.domain import activity as a
from custmaster.domain.activity import parse_envelope
from custmaster.domain.profile import (
    ALL_ENTITIES,
    PROFILE_FEATURES,
    REPORTING_CURRENCY,
    FeatureType,
)
from custmaster.domain.profile_calc import RECENT_DAYS, TOLERANCE
from custmaster.domain.receivables import DSO_DAYS
from custmaster.persistence import profile_wide
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables_activity import activity_contracts

#: part -> (table, key columns, value columns), in ``ActivityState.PARTS`` order
PARTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "sales": (
        "activity_sales",
        ("month", "product_group", "currency"),
        ("amount", "quantity", "return_amount", "return_quantity"),
    ),
    "counts": ("activity_counts", ("month",), ("orders", "returns", "last_order")),
    "documents": (
        "activity_documents",
        ("document_id",),
        ("amount", "currency", "kind", "document_date", "due_date"),
    ),
    "payments": ("activity_payments", ("payment_id", "document_id"), ("amount", "paid_on")),
    "cases": (
        "activity_cases",
        ("case_id",),
        (
            "kind",
            "first_on",
            "opened_on",
            "status_time",
            "status_event",
            "status",
            "closed_on",
            "detail_time",
            "detail_event",
            "severity",
            "subject",
        ),
    ),
    "contracts": (
        "activity_contracts",
        ("contract_id",),
        (
            "stamp_time",
            "stamp_event",
            "start_date",
            "end_date",
            "renewal_date",
            "committed_volume",
            "sla",
        ),
    ),
    "touches": ("activity_touches", ("day", "kind"), ("count",)),
}


def _quote(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _number(value: str) -> str:
    """A JSON value (jsonb) as the Decimal ``parse_envelope`` makes of it."""
    value = f"({value})"
    return (
        f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN "
        f"(CASE WHEN {value}::text ~ '[.eE]' THEN {value}::text::float8::text::numeric "
        f"ELSE {value}::text::numeric END) ELSE ({value} #>> '{{}}')::numeric END)"
    )


def _even(x: str) -> str:
    """A numeric rounded half to even (``Decimal.to_integral_value``), as bigint."""
    return (
        f"(CASE WHEN abs({x} - trunc({x})) = 0.5 THEN 2 * round({x} / 2) "
        f"ELSE round({x}) END)::bigint"
    )


def _units(value: str, scale: int) -> str:
    """``domain.activity.to_units`` of a JSON value: times the scale, rounded half to
    even."""
    return _even(f"({_number(value)} * {scale})")


def _month(day: str) -> str:
    """The first day of the month of the date ``day``: truncated as a timestamp without
    time zone (the same day as through ``timestamptz``, without the session's time zone
    rules for every row: measurably cheaper over 20,000,000 order lines)."""
    return f"date_trunc('month', {day}::timestamp)::date"


def _day(value: str) -> str:
    """``_Reader.day``: the first 10 characters of the text as an ISO date."""
    value = f"({value})"
    return f"left({value} #>> '{{}}', 10)::date"


def _truthy(value: str) -> str:
    """Python's ``bool()`` of a JSON value."""
    value = f"({value})"
    return (
        f"(CASE jsonb_typeof({value}) WHEN 'boolean' THEN {value} = 'true'::jsonb "
        f"WHEN 'number' THEN {value}::text::numeric <> 0 "
        f"WHEN 'string' THEN {value} #>> '{{}}' <> '' "
        f"WHEN 'array' THEN {value} <> '[]'::jsonb WHEN 'object' THEN {value} <> '{{}}'::jsonb "
        "ELSE false END)"
    )


#: ``event.time.isoformat()`` of the stored (UTC) event time
_STAMP = (
    "(to_char(e.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN date_part('microseconds', e.event_time)::bigint % 1000000 <> 0 "
    "THEN to_char(e.event_time AT TIME ZONE 'UTC', '.US') ELSE '' END || '+00:00')"
)
_ORDERS = _quote(a.ORDER_KINDS)
_DOCUMENTS = _quote(a.DOCUMENT_KINDS)
_PAYMENTS = _quote(a.PAYMENT_KINDS)
_CASES = _quote(a.CASE_EVENT_KINDS)
_TOUCHES = _quote(a.TOUCH_KINDS)
_CASE_KIND = (
    "(CASE e.kind "
    + " ".join(f"WHEN '{k}' THEN '{v[0]}'" for k, v in sorted(a.CASE_EVENT_KINDS.items()))
    + " END)"
)
_CASE_STEP = "split_part(e.kind, '.', 2)"


class Stage:
    """The scratch tables of one rebuild run (``rebuild_<run>_*``), or of one slice of it:
    the customers from ``low`` (included) to ``high`` (excluded) in id order, ``None`` for
    no bound (``rebuild_<run>_s<n>_*``). The slices of a run split the customers by their
    final id, so every slice is computed from its own events, stored rows and scratch
    tables, on a connection of its own, at the same time as the others."""

    def __init__(
        self,
        run: str | None = None,
        slice_no: int | None = None,
        low: UUID | None = None,
        high: UUID | None = None,
    ) -> None:
        self.run = run or secrets.token_hex(4)
        self.slice_no = slice_no
        self.low = low
        self.high = high

    @property
    def shared(self) -> bool:
        """Whether the run has other slices (computed at the same time as this one)."""
        return self.low is not None or self.high is not None

    def t(self, name: str) -> str:
        if self.slice_no is None:
            return f"rebuild_{self.run}_{name}"
        return f"rebuild_{self.run}_s{self.slice_no}_{name}"

    def owns(self, customer: str) -> str:
        """SQL: the customer id ``customer`` is in this stage's slice (``TRUE`` for a
        whole run). The bounds are ``UUID`` values, their text safe to write into SQL."""
        bounds = []
        if self.low is not None:
            bounds.append(f"{customer} >= '{UUID(str(self.low))}'::uuid")
        if self.high is not None:
            bounds.append(f"{customer} < '{UUID(str(self.high))}'::uuid")
        return " AND ".join(bounds) or "TRUE"

    @property
    def events(self) -> str:
        """Every stored event of the slice with its final customer (``c``)."""
        return (
            f"(SELECT e.*, coalesce(f.target, e.customer_id) AS c FROM activity_events e "
            f"LEFT JOIN {self.t('final')} f ON f.absorbed = e.customer_id "
            f"WHERE {self.owns('coalesce(f.target, e.customer_id)')})"
        )


def split(connection: Connection, count: int) -> list[UUID]:
    """Bounds that split the customers into ``count`` slices of about as many customers
    each (fewer slices when there are fewer customers): the ids at each n-th place."""
    total = int(connection.execute(text("SELECT count(*) FROM customers")).scalar_one())
    bounds: list[UUID] = []
    for k in range(1, max(1, count)):
        place = total * k // count
        found = connection.execute(
            text("SELECT id FROM customers ORDER BY id OFFSET :n LIMIT 1"), {"n": place}
        ).scalar()
        if place > 0 and found is not None and (not bounds or found > bounds[-1]):
            bounds.append(found)
    return bounds


def slice_stages(run: str, bounds: list[UUID]) -> list[Stage]:
    """The stages of the run's slices between ``bounds`` (see :func:`split`)."""
    edges: list[UUID | None] = [None, *bounds, None]
    return [Stage(run, i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def _exec(connection: Connection, sql: str, params: Mapping[str, Any] | None = None) -> int:
    return int(connection.execute(text(sql), dict(params or {})).rowcount or 0)


def _settings(connection: Connection, stage: Stage) -> None:
    """Memory for the aggregations and hash joins (1,000,000 customers' rows in memory,
    not in batches on disk); no JIT (its compilation of these wide expressions
    costs more than it saves: seconds on the first rows of each statement). A slice of a
    run with other slices runs without parallel workers: the slices keep the cores busy,
    and a parallel plan's partial aggregates of nearly as many groups as rows are work
    done twice."""
    _exec(connection, "SET LOCAL work_mem = '1GB'")
    _exec(connection, "SET LOCAL jit = off")
    if stage.shared:
        _exec(connection, "SET LOCAL max_parallel_workers_per_gather = 0")


#: the parts with many rows a customer: their scratch tables are indexed only for the
#: writes (the comparison and the features join them by hash)
_LARGE = ("sales", "counts")


def _final_of(alias: str, redirects: bool) -> str:
    """The final customer of ``alias``'s rows (``f``: the redirects' table joined)."""
    return f"coalesce(f.target, {alias}.customer_id)" if redirects else f"{alias}.customer_id"


def _final_join(alias: str, stage: Stage, redirects: bool) -> str:
    if not redirects:
        return ""
    return f"LEFT JOIN {stage.t('final')} f ON f.absorbed = {alias}.customer_id"


#: an order line's amount and quantity are ``units / scale`` as doubles: times the scale
#: and rounded they are the units again, exactly while below 2**50 units; a larger one is
#: read from its envelope
_EXACT = 2**50


def _stage_sales(connection: Connection, stage: Stage, ev: str, redirects: bool) -> None:
    """The sales part: ``CREATE TABLE AS`` over the order lines alone (which PostgreSQL
    may run in parallel; a correlated subquery or a UNION would keep it from that) with
    every line's units from its doubles; the customers with a group too large for that
    are then recomputed with each large line read from its envelope (the statement of
    before, exact at any size), and the returns merged when there are any."""
    t = stage.t

    def from_line(col: str, scale: int) -> str:
        raw = f"x.envelope -> 'data' -> 'lines' -> l.line_no -> '{col}'"
        return (
            f"(CASE WHEN abs(l.{col}) * {scale} < {_EXACT} THEN round(l.{col} * {scale})::bigint "
            f"ELSE (SELECT {_units(raw, scale)} FROM activity_events x "
            "WHERE x.event_id = l.event_id) END)"
        )

    def query(amount: str, quantity: str, large: str, only: str) -> str:
        return f"""SELECT {_final_of("l", redirects)} AS customer_id, l.legal_entity,
            {_month("l.order_date")} AS month, l.product_group, l.currency,
            sum({amount})::bigint AS amount, sum({quantity})::bigint AS quantity,
            0::bigint AS return_amount, 0::bigint AS return_quantity{large}
        FROM activity_order_lines l {_final_join("l", stage, redirects)}
        WHERE {stage.owns(_final_of("l", redirects))} {only} GROUP BY 1, 2, 3, 4, 5"""

    # the fast path: each line's units summed as doubles -- exact while every line is
    # below 2**50 units (its units recovered from its double) and every partial sum below
    # 2**53, which both hold when the group's lines' absolute units add up to less than
    # 2**50 (a partial sum is at most that plus half a unit a line; the guard's own
    # rounding is far inside the margin); a group past that is flagged (``large``, its
    # sums left NULL) and its customer recomputed exactly below. (Summing the absolute
    # values is one aggregate a column where the largest line times the number of lines
    # was three: a sixth of a slice's statement over 10,000,000 lines; it flags a subset
    # of the groups that flagged.)
    flagged = (
        f"(sum(abs(l.amount)) * {a.AMOUNT_SCALE} >= {_EXACT} "
        f"OR sum(abs(l.quantity)) * {a.QUANTITY_SCALE} >= {_EXACT})"
    )
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("sales")} AS
        SELECT {_final_of("l", redirects)} AS customer_id, l.legal_entity,
            {_month("l.order_date")} AS month, l.product_group, l.currency,
            CASE WHEN NOT {flagged} THEN sum(round(l.amount * {a.AMOUNT_SCALE}))::bigint
                END AS amount,
            CASE WHEN NOT {flagged} THEN sum(round(l.quantity * {a.QUANTITY_SCALE}))::bigint
                END AS quantity,
            0::bigint AS return_amount, 0::bigint AS return_quantity,
            CASE WHEN {flagged} THEN 1 ELSE 0 END AS large
        FROM activity_order_lines l {_final_join("l", stage, redirects)}
        WHERE {stage.owns(_final_of("l", redirects))}
        GROUP BY 1, 2, 3, 4, 5""",
    )
    big = f"(SELECT DISTINCT customer_id FROM {t('sales')} WHERE large > 0)"
    if connection.execute(text(f"SELECT EXISTS {big}")).scalar():
        _exec(connection, f"CREATE UNLOGGED TABLE {t('big')} AS {big}")
        _exec(
            connection,
            f"DELETE FROM {t('sales')} WHERE customer_id IN (SELECT * FROM {t('big')})",
        )
        _exec(
            connection,
            f"INSERT INTO {t('sales')} "
            + query(
                from_line("amount", a.AMOUNT_SCALE),
                from_line("quantity", a.QUANTITY_SCALE),
                ", 0",
                f"AND {_final_of('l', redirects)} IN (SELECT * FROM {t('big')})",
            ),
        )
    _exec(connection, f"ALTER TABLE {t('sales')} DROP COLUMN large")
    _merge(
        connection,
        t("sales"),
        f"""SELECT e.c, e.legal_entity, {_month("e.occurred_on")},
            e.envelope -> 'data' ->> 'product_group', e.envelope -> 'data' ->> 'currency',
            0::bigint, 0::bigint, {_units("e.envelope -> 'data' -> 'amount'", a.AMOUNT_SCALE)},
            {_units("e.envelope -> 'data' -> 'quantity'", a.QUANTITY_SCALE)}
        FROM {ev} e WHERE e.kind = '{a.RETURN_RECEIVED}'""",
        "customer_id, legal_entity, month, product_group, currency",
        "sum(amount)::bigint AS amount, sum(quantity)::bigint AS quantity, "
        "sum(return_amount)::bigint AS return_amount, "
        "sum(return_quantity)::bigint AS return_quantity",
    )


def _merge(connection: Connection, table: str, rows: str, keys: str, values: str) -> None:
    """Add ``rows`` (the table's columns, in order) to ``table``, grouped by ``keys`` with
    ``values`` (the aggregates of the other columns): when there are any, the table is
    made again from both (a GROUP BY, so keys match as they would have in one statement,
    NULLs included)."""
    if not connection.execute(text(f"SELECT EXISTS ({rows})")).scalar():
        return
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {table}_m AS SELECT {keys}, {values} FROM (
            SELECT * FROM {table} UNION ALL {rows}) x GROUP BY {keys}""",
    )
    _exec(connection, f"DROP TABLE {table}")
    _exec(connection, f"ALTER TABLE {table}_m RENAME TO {table.rsplit('.', 1)[-1]}")


def stage_aggregates(connection: Connection, stage: Stage) -> int:
    """Compute every aggregate part of every customer into the stage's tables; the number
    of events."""
    t = stage.t
    _settings(connection, stage)
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("final")} AS
        WITH RECURSIVE hop(absorbed, target, n) AS (
            SELECT absorbed_id, survivor_id, 1 FROM customer_redirects
            UNION ALL
            SELECT h.absorbed, r.survivor_id, h.n + 1 FROM hop h
            JOIN customer_redirects r ON r.absorbed_id = h.target WHERE h.n < 64)
        SELECT DISTINCT ON (absorbed) absorbed, target FROM hop ORDER BY absorbed, n DESC""",
    )
    _exec(connection, f"ANALYZE {t('final')}")
    redirects = bool(
        connection.execute(text("SELECT EXISTS (SELECT 1 FROM customer_redirects)")).scalar()
    )
    for part, (table, _, _) in PARTS.items():
        if part not in ("sales", "counts"):  # those two: CREATE TABLE AS (below)
            _exec(connection, f"CREATE UNLOGGED TABLE {t(part)} (LIKE {table} INCLUDING DEFAULTS)")
    # every event but the placed orders (their lines and counts are read below from the
    # narrow columns): the rest of the parts read only this
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("ev")} AS SELECT * FROM {stage.events} e
        WHERE e.kind <> '{a.ORDER_PLACED}'""",
    )
    ev = f"(SELECT * FROM {t('ev')})"
    _stage_sales(connection, stage, ev, redirects)
    # order counts: CREATE TABLE AS from the placed orders (PostgreSQL may run it in
    # parallel; INSERT ... SELECT never is, nor a UNION with the other events), the returns
    # and cancellations merged after when there are any
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("counts")} AS
        SELECT {_final_of("e", redirects)} AS customer_id, e.legal_entity,
            {_month("e.occurred_on")} AS month, count(*) AS orders,
            0::bigint AS returns, max(e.occurred_on) AS last_order
        FROM activity_events e {_final_join("e", stage, redirects)}
        WHERE e.kind = '{a.ORDER_PLACED}' AND {stage.owns(_final_of("e", redirects))}
        GROUP BY 1, 2, 3""",
    )
    placed = int(
        connection.execute(text(f"SELECT coalesce(sum(orders), 0) FROM {t('counts')}")).scalar_one()
    )
    _merge(
        connection,
        t("counts"),
        f"""SELECT e.c, e.legal_entity, {_month("e.occurred_on")},
            CASE e.kind WHEN '{a.ORDER_CORRECTED}' THEN -1 ELSE 0 END,
            CASE e.kind WHEN '{a.RETURN_RECEIVED}' THEN 1 ELSE 0 END, NULL::date
        FROM {ev} e
        WHERE e.kind = '{a.RETURN_RECEIVED}' OR (e.kind = '{a.ORDER_CORRECTED}'
            AND {_truthy("e.envelope -> 'data' -> 'cancelled'")})""",
        "customer_id, legal_entity, month",
        "sum(orders)::bigint AS orders, sum(returns)::bigint AS returns, "
        "max(last_order) AS last_order",
    )
    # documents: the amounts summed; the attributes of the issuing event (the least by
    # kind, date, due date, currency when several), else the currency of the last event
    _exec(
        connection,
        f"""INSERT INTO {t("documents")}
        WITH d AS (
            SELECT e.c, e.legal_entity, e.envelope -> 'data' ->> 'document_id' AS document_id,
                e.kind, e.kind <> '{a.INVOICE_CORRECTED}' AS issued,
                CASE WHEN e.kind = '{a.CREDIT_NOTE_ISSUED}' THEN -1 ELSE 1 END
                    * {_units("e.envelope -> 'data' -> 'amount'", a.AMOUNT_SCALE)} AS amount,
                e.envelope -> 'data' ->> 'currency' AS currency, e.occurred_on,
                coalesce({_day("(e.envelope -> 'data' -> 'due_date')")}, e.occurred_on) AS due,
                e.customer_id AS origin, e.event_id
            FROM {ev} e WHERE e.kind IN ({_DOCUMENTS}))
        SELECT s.c, s.legal_entity, s.document_id, s.amount, w.currency, w.kind,
            w.document_date, w.due_date
        FROM (SELECT c, legal_entity, document_id, sum(amount) AS amount FROM d
              GROUP BY 1, 2, 3) s
        JOIN (SELECT DISTINCT ON (c, legal_entity, document_id) c, legal_entity, document_id,
                currency, CASE WHEN issued THEN kind END AS kind,
                CASE WHEN issued THEN occurred_on END AS document_date,
                CASE WHEN issued THEN due END AS due_date
              FROM d ORDER BY c, legal_entity, document_id, issued DESC,
                CASE WHEN issued THEN kind END COLLATE "C",
                CASE WHEN issued THEN occurred_on END, CASE WHEN issued THEN due END,
                CASE WHEN issued THEN currency END COLLATE "C", origin DESC, event_id DESC) w
            USING (c, legal_entity, document_id)""",
    )
    _exec(
        connection,
        f"""INSERT INTO {t("payments")}
        SELECT e.c, e.legal_entity, e.envelope -> 'data' ->> 'payment_id',
            p ->> 'document_id',
            sum(CASE e.kind WHEN '{a.PAYMENT_RECEIVED}' THEN 1 ELSE -1 END
                * {_units("p -> 'amount'", a.AMOUNT_SCALE)}),
            min(CASE e.kind WHEN '{a.PAYMENT_RECEIVED}' THEN e.occurred_on END)
        FROM {ev} e
        CROSS JOIN LATERAL jsonb_array_elements(e.envelope -> 'data' -> 'applications') p
        WHERE e.kind IN ({_PAYMENTS}) GROUP BY 1, 2, 3, 4""",
    )
    _exec(
        connection,
        f"""INSERT INTO {t("cases")}
        WITH k AS (
            SELECT e.c, e.legal_entity, e.envelope -> 'data' ->> 'case_id' AS case_id,
                {_CASE_KIND} AS kind, {_CASE_STEP} AS step, e.occurred_on,
                {_STAMP} AS stamp, e.event_id,
                e.envelope -> 'data' ->> 'severity' AS severity,
                e.envelope -> 'data' ->> 'subject' AS subject
            FROM {ev} e WHERE e.kind IN ({_CASES}))
        SELECT g.c, g.legal_entity, g.case_id, g.kind, g.first_on, g.opened_on,
            coalesce(s.stamp, ''), coalesce(s.event_id, ''), s.status, s.closed_on,
            coalesce(d.stamp, ''), coalesce(d.event_id, ''), d.severity, d.subject
        FROM (SELECT c, legal_entity, case_id, min(kind COLLATE "C") AS kind,
                min(occurred_on) AS first_on,
                min(occurred_on) FILTER (WHERE step = 'opened') AS opened_on
              FROM k GROUP BY 1, 2, 3) g
        LEFT JOIN (SELECT DISTINCT ON (c, legal_entity, case_id) c, legal_entity, case_id,
                stamp, event_id, CASE step WHEN 'opened' THEN 'open' ELSE 'closed' END AS status,
                CASE step WHEN 'closed' THEN occurred_on END AS closed_on
              FROM k WHERE step IN ('opened', 'closed')
              ORDER BY c, legal_entity, case_id, stamp COLLATE "C" DESC,
                event_id COLLATE "C" DESC) s USING (c, legal_entity, case_id)
        LEFT JOIN (SELECT DISTINCT ON (c, legal_entity, case_id) c, legal_entity, case_id,
                stamp, event_id, severity, subject
              FROM k WHERE severity IS NOT NULL OR subject IS NOT NULL
              ORDER BY c, legal_entity, case_id, stamp COLLATE "C" DESC,
                event_id COLLATE "C" DESC) d USING (c, legal_entity, case_id)""",
    )
    _stage_contracts(connection, stage)
    _exec(
        connection,
        f"""INSERT INTO {t("touches")}
        SELECT e.c, e.legal_entity, e.occurred_on, split_part(e.kind, '.', 1), count(*)
        FROM {ev} e WHERE e.kind IN ({_TOUCHES}) GROUP BY 1, 2, 3, 4""",
    )
    for part in PARTS:
        if part not in _LARGE:  # the large ones: only when writing (``stage_writes``)
            _exec(connection, f"CREATE INDEX ON {t(part)} (customer_id)")
        _exec(connection, f"ANALYZE {t(part)}")
    # the (customer, entity) pairs with rebuilt state: the rows a profile has. A sales
    # row comes from an order line or a return: a placed order's lines and a return have
    # the order counts' pair (their event's final customer and entity), so sales is read
    # only for the lines of corrected orders (the large table's pairs are not read again)
    corrected = (
        f"SELECT e.c, e.legal_entity FROM {t('ev')} e WHERE e.kind = '{a.ORDER_CORRECTED}' "
        "AND EXISTS (SELECT 1 FROM activity_order_lines l WHERE l.event_id = e.event_id)"
    )
    pairs = [f"SELECT customer_id, legal_entity FROM {t(p)}" for p in PARTS if p != "sales"]
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("ents")} AS SELECT DISTINCT customer_id, legal_entity
        FROM ({" UNION ALL ".join([*pairs, corrected])}) x""",
    )
    _exec(connection, f"CREATE INDEX ON {t('ents')} (customer_id)")
    _exec(connection, f"ANALYZE {t('ents')}")
    others = int(connection.execute(text(f"SELECT count(*) FROM {t('ev')}")).scalar_one())
    return placed + others


def customers(connection: Connection, stage: Stage) -> int:
    """The customers rebuilt: with state, or with stored rows only (drifted)."""
    t = stage.t
    query = f"""SELECT count(*) FROM (SELECT customer_id FROM {t("ents")}
        UNION SELECT customer_id FROM {t("drift")} UNION SELECT customer_id FROM {t("fdrift")}) u"""
    return int(connection.execute(text(query)).scalar_one())


def _stage_contracts(connection: Connection, stage: Stage) -> None:
    """The latest event of each contract, its value parsed as ``state_of`` does."""
    query = f"""SELECT DISTINCT ON (e.c, e.legal_entity, e.envelope -> 'data' ->> 'contract_id')
            e.c, e.envelope, {_STAMP} AS stamp, e.event_id
        FROM {stage.t("ev")} e WHERE e.kind = '{a.CONTRACT_RECORDED}'
        ORDER BY e.c, e.legal_entity, e.envelope -> 'data' ->> 'contract_id',
            {_STAMP} COLLATE "C" DESC, e.event_id COLLATE "C" DESC"""
    rows: list[dict[str, Any]] = []
    result = connection.execute(text(query).execution_options(yield_per=5000))
    for row in result:
        event = parse_envelope(row.envelope)
        data = event.data
        rows.append(
            {
                "customer_id": row.c,
                "legal_entity": event.legal_entity,
                "contract_id": data["contract_id"],
                "stamp_time": row.stamp,
                "stamp_event": row.event_id,
                "start_date": data["start_date"],
                "end_date": data["end_date"],
                "renewal_date": data["renewal_date"],
                "committed_volume": data["committed_volume"],
                "sla": data["sla"],
            }
        )
    if rows:
        scratch = activity_contracts.to_metadata(MetaData(), name=stage.t("contracts"))
        insert_rows(connection, scratch, rows)


def stage_drift(connection: Connection, stage: Stage) -> None:
    """``drift``: (customer, part) where the rebuilt rows differ from the stored ones."""
    t = stage.t
    _settings(connection, stage)
    _exec(connection, f"CREATE UNLOGGED TABLE {t('drift')} (customer_id uuid, part text)")
    for part, (table, keys, values) in PARTS.items():
        on = " AND ".join(f"n.{k} = o.{k}" for k in ("customer_id", "legal_entity", *keys))
        new = ", ".join(f"n.{v}" for v in values)
        old = ", ".join(f"o.{v}" for v in values)
        _exec(
            connection,
            f"""INSERT INTO {t("drift")}
            SELECT DISTINCT coalesce(n.customer_id, o.customer_id), '{part}'
            FROM {t(part)} n
            FULL JOIN (SELECT * FROM {table} WHERE {stage.owns("customer_id")}) o ON {on}
            WHERE n.customer_id IS NULL OR o.customer_id IS NULL
                OR ({new}, NULL) IS DISTINCT FROM ({old}, NULL)""",
        )
    _exec(connection, f"CREATE INDEX ON {t('drift')} (customer_id, part)")
    _exec(connection, f"ANALYZE {t('drift')}")


# features --------------------------------------------------------------------------------


def _rates_values(rates: Mapping[str, float]) -> str:
    rows = [f"('{c.replace(chr(39), '')}', {float(r)!r}::float8)" for c, r in rates.items()]
    return "(VALUES " + ", ".join(rows or ["('', 1.0::float8)"]) + ") AS r(currency, rate)"


def _rate(currency: str, joined: str) -> str:
    """``Rates.rate(currency)``, ``joined`` the rate table's row of that currency."""
    return (
        f"(CASE WHEN {currency} = '{REPORTING_CURRENCY}' OR {currency} = '' "
        f"THEN 1.0::float8 ELSE coalesce({joined}.rate, 1.0::float8) END)"
    )


def _conv(amount: str, currency: str, rate: str, to: str = "s") -> str:
    """``Rates.convert(amount, currency, {to}.target)`` (``rate``: that of ``currency``,
    ``{to}.trate``: that of the target)."""
    return (
        f"(CASE WHEN {currency} = {to}.target OR {currency} = '' THEN {amount} "
        f"ELSE {amount} * {rate} / {to}.trate END)"
    )


#: a feature row's entity in a ``GROUPING SETS ((customer_id, legal_entity),
#: (customer_id))``: the entity's, or the whole customer's (``ALL_ENTITIES``)
_whole = "GROUPING(legal_entity) = 1"
_row_entity = f"(CASE WHEN {_whole} THEN '{ALL_ENTITIES}' ELSE legal_entity END)"


def stage_features(
    connection: Connection, stage: Stage, name: str, as_of: str, rates: Mapping[str, float]
) -> None:
    """Table ``name``: the feature rows (``profile_rows``) of the customers of table
    ``as_of`` (customer_id, as_of) from the rebuilt aggregates; none for a customer without
    activity or that does not exist. Sales and counts are summed per customer, entity
    (and currency) first, in integer units, then converted (Python converts each row:
    the same within ``TOLERANCE``)."""
    t = stage.t
    rep = REPORTING_CURRENCY
    _settings(connection, stage)
    _exec(connection, f"DROP TABLE IF EXISTS {t('rate')}, {t('scope')}, {t('ecur')}")
    _exec(
        connection,
        f"CREATE UNLOGGED TABLE {t('rate')} AS SELECT currency, rate FROM {_rates_values(rates)}",
    )
    # each legal entity's currency (the target of its rows) and that currency's rate
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("ecur")} AS
        SELECT e.legal_entity, e.target, {_rate("e.target", "rt")} AS trate FROM (
            SELECT DISTINCT n.legal_entity, coalesce(le.currency, '{rep}') AS target
            FROM {t("ents")} n LEFT JOIN legal_entities le ON le.code = n.legal_entity) e
        LEFT JOIN {t("rate")} rt ON rt.currency = e.target""",
    )
    units = f"::float8 / {a.AMOUNT_SCALE}"
    # scope: the rows (customer, row entity) and, for each, the entities they sum with the
    # row's currency (target), the entity's currency and its effective credit limit
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("scope")} AS
        WITH e AS (
            SELECT n.customer_id, n.legal_entity, w.as_of,
                coalesce(le.currency, '{rep}') AS ecur,
                (CASE WHEN o.customer_id IS NOT NULL THEN coalesce(o.credit_limit, m.credit_limit)
                    WHEN m.owning_entity = n.legal_entity THEN m.credit_limit END)::float8
                    AS elimit
            FROM {t("ents")} n JOIN {as_of} w USING (customer_id)
            JOIN customers m ON m.id = n.customer_id
            LEFT JOIN legal_entities le ON le.code = n.legal_entity
            LEFT JOIN customer_overrides o ON o.customer_id = n.customer_id
                AND o.entity_code = n.legal_entity),
        rows AS (
            SELECT customer_id, legal_entity AS row_entity, legal_entity, as_of, ecur, elimit,
                ecur AS target FROM e
            UNION ALL
            SELECT customer_id, '{ALL_ENTITIES}', legal_entity, as_of, ecur, elimit, '{rep}'
            FROM e)
        SELECT s.*, {_rate("s.target", "rt")} AS trate, {_rate("s.ecur", "re")} AS erate
        FROM rows s LEFT JOIN {t("rate")} rt ON rt.currency = s.target
        LEFT JOIN {t("rate")} re ON re.currency = s.ecur""",
    )
    # no index: the statement below joins scope by hash, never by index
    _exec(connection, f"ANALYZE {t('scope')}")

    # the months "back" from the as-of month, as first days: back(k) = m0 - k months
    def back(first: int, last: int) -> str:
        return f"x.month BETWEEN w.m{last} AND w.m{first}"

    months = ", ".join(
        f"(date_trunc('month', as_of::timestamp) - interval '{k} months')::date AS m{k}"
        for k in (0, 2, 3, 5, 11, 12, 23)
    )
    window = f"(SELECT customer_id, as_of, {months} FROM {as_of} OFFSET 0)"  # once each
    per = "JOIN {t} x ON x.customer_id = s.customer_id AND x.legal_entity = s.legal_entity"
    applied = (
        f"(SELECT sum(p.amount) FROM {t('payments')} p WHERE p.customer_id = x.customer_id "
        "AND p.legal_entity = x.legal_entity AND p.document_id = x.document_id)"
    )
    rx, rs = _rate("x.currency", "rc"), _rate("s.currency", "rc")
    # the sums in by-value states (no numeric state allocated per group): the sales units
    # as doubles (the integers are exact below 2**53 units and converted to doubles next
    # anyway), the order and return counts of a month as int4 (summed in int8; a month
    # past 2**31 orders would be refused, never wrapped)
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t(name)} AS
        WITH sales_units AS (
            SELECT x.customer_id, x.legal_entity, x.currency,
                sum((x.amount - x.return_amount)::float8) FILTER (WHERE {back(0, 11)}) AS u12,
                sum((x.amount - x.return_amount)::float8) FILTER (WHERE {back(12, 23)}) AS u24
            FROM {t("sales")} x JOIN {window} w USING (customer_id) GROUP BY 1, 2, 3),
        -- each currency's sums converted to the entity row's currency (e) and to the
        -- reporting currency (a: the whole customer's row, whose rate is 1.0 by ``_rate``)
        sales_rows AS (
            SELECT x.customer_id, x.legal_entity,
                {_conv(f"x.u12{units}", "x.currency", rx, "s")} AS e12,
                {_conv(f"x.u24{units}", "x.currency", rx, "s")} AS e24,
                {_conv(f"x.u12{units}", "x.currency", rx, "r")} AS a12,
                {_conv(f"x.u24{units}", "x.currency", rx, "r")} AS a24
            FROM sales_units x
            CROSS JOIN (SELECT '{rep}'::text AS target, 1.0::float8 AS trate) r
            JOIN {t("ecur")} s ON s.legal_entity = x.legal_entity
            LEFT JOIN {t("rate")} rc ON rc.currency = x.currency),
        sales AS (
            SELECT customer_id, {_row_entity} AS row_entity,
                CASE WHEN {_whole} THEN sum(a12) ELSE sum(e12) END AS r12,
                CASE WHEN {_whole} THEN sum(a24) ELSE sum(e24) END AS r24
            FROM sales_rows GROUP BY GROUPING SETS ((customer_id, legal_entity), (customer_id))),
        counts AS (
            SELECT x.customer_id, {_row_entity} AS row_entity,
                sum(x.orders::int) FILTER (WHERE {back(0, 11)}) AS orders_12m,
                sum(x.returns::int) FILTER (WHERE {back(0, 11)}) AS returns_12m,
                sum(x.orders::int) FILTER (WHERE {back(0, 5)}) AS o6,
                sum(x.orders::int) FILTER (WHERE {back(0, 2)}) AS o3,
                sum(x.orders::int) FILTER (WHERE {back(3, 5)}) AS p3,
                max(x.last_order) FILTER (WHERE x.last_order <= w.as_of) AS last_order
            FROM {t("counts")} x JOIN {window} w USING (customer_id)
            GROUP BY GROUPING SETS ((x.customer_id, x.legal_entity), (x.customer_id))),
        docs AS (
            SELECT s.customer_id, s.row_entity, s.as_of, s.target, s.trate, x.currency,
                x.kind, x.amount, x.document_date, x.due_date,
                x.amount - coalesce({applied}, 0) AS open_units
            FROM {t("scope")} s {per.format(t=t("documents"))}),
        ar AS (
            SELECT s.customer_id, s.row_entity,
                sum({_conv(f"s.open_units{units}", "s.currency", rs)})
                    FILTER (WHERE s.open_units <> 0) AS open_amount,
                sum({_conv(f"s.open_units{units}", "s.currency", rs)})
                    FILTER (WHERE s.open_units > 0 AND s.due_date IS NOT NULL
                        AND s.as_of - s.due_date > 0) AS overdue,
                sum({_conv(f"s.open_units{units}", "s.currency", rs)})
                    FILTER (WHERE s.open_units > 0 AND s.due_date IS NOT NULL
                        AND s.as_of - s.due_date > 90) AS over_90,
                sum({_conv(f"s.amount{units}", "s.currency", rs)})
                    FILTER (WHERE s.kind IS DISTINCT FROM '{a.CREDIT_NOTE_ISSUED}'
                        AND s.document_date > s.as_of - {DSO_DAYS}
                        AND s.document_date <= s.as_of) AS invoiced_90
            FROM docs s LEFT JOIN {t("rate")} rc ON rc.currency = s.currency GROUP BY 1, 2),
        late AS (
            SELECT customer_id, row_entity,
                sum(greatest(0, paid_on - due_date) * weight) AS late, sum(weight) AS paid
            FROM (SELECT s.customer_id, s.row_entity, x.paid_on, d.due_date,
                    {_conv(f"x.amount{units}", "d.currency", _rate("d.currency", "rc"))}
                        AS weight
                FROM {t("scope")} s {per.format(t=t("payments"))}
                JOIN {t("documents")} d ON d.customer_id = x.customer_id
                    AND d.legal_entity = x.legal_entity AND d.document_id = x.document_id
                LEFT JOIN {t("rate")} rc ON rc.currency = d.currency
                WHERE x.paid_on IS NOT NULL AND x.amount > 0 AND d.due_date IS NOT NULL
                    AND s.as_of - x.paid_on <= 365) p
            GROUP BY 1, 2),
        cases AS (
            SELECT s.customer_id, s.row_entity,
                count(*) FILTER (WHERE x.kind = 'service') AS service,
                count(*) FILTER (WHERE x.kind = 'complaint') AS complaints,
                min(coalesce(x.opened_on, x.first_on)) FILTER (WHERE x.kind = 'complaint')
                    AS oldest
            FROM {t("scope")} s {per.format(t=t("cases"))}
            WHERE x.status_event = '' OR x.status = 'open' GROUP BY 1, 2),
        touches AS (
            SELECT s.customer_id, s.row_entity, sum(x.count) AS visits
            FROM {t("scope")} s {per.format(t=t("touches"))}
            WHERE x.day > s.as_of - {RECENT_DAYS} AND x.day <= s.as_of GROUP BY 1, 2),
        contracts AS (
            SELECT s.customer_id, s.row_entity, count(*) AS renewals
            FROM {t("scope")} s {per.format(t=t("contracts"))}
            WHERE x.renewal_date >= s.as_of AND x.renewal_date <= s.as_of + 90 GROUP BY 1, 2),
        limits AS (
            SELECT s.customer_id, s.row_entity,
                sum({_conv("coalesce(s.elimit, 0.0::float8)", "s.ecur", "s.erate")})
                    AS credit_limit
            FROM {t("scope")} s GROUP BY 1, 2),
        base AS (
            SELECT l.customer_id, l.row_entity AS legal_entity,
                coalesce(sa.r12, 0.0) AS revenue_12m, coalesce(sa.r24, 0.0) AS revenue_prev_12m,
                coalesce(c.orders_12m, 0)::bigint AS orders_12m,
                coalesce(c.o6, 0)::float8 / 6 AS order_frequency,
                (coalesce(c.o3, 0) - coalesce(c.p3, 0))::float8 / 3 AS order_frequency_trend,
                c.last_order AS last_order_date,
                coalesce(c.returns_12m, 0)::bigint AS returns_12m,
                coalesce(ar.open_amount, 0.0) AS open_items_amount,
                coalesce(ar.overdue, 0.0) AS overdue_amount,
                coalesce(ar.over_90, 0.0) AS overdue_over_90,
                coalesce(ar.invoiced_90, 0.0) AS invoiced_90,
                CASE WHEN lt.paid > 0 THEN lt.late / lt.paid ELSE 0.0 END AS avg_days_late,
                l.credit_limit,
                coalesce(cs.service, 0)::bigint AS open_service_cases,
                coalesce(cs.complaints, 0)::bigint AS open_quality_complaints,
                cs.oldest AS oldest_open_complaint_date,
                coalesce(tc.visits, 0)::bigint AS visits_90d,
                coalesce(ct.renewals, 0)::bigint AS contracts_renewal_90d
            FROM limits l
            LEFT JOIN sales sa USING (customer_id, row_entity)
            LEFT JOIN counts c USING (customer_id, row_entity)
            LEFT JOIN ar USING (customer_id, row_entity)
            LEFT JOIN late lt USING (customer_id, row_entity)
            LEFT JOIN cases cs USING (customer_id, row_entity)
            LEFT JOIN touches tc USING (customer_id, row_entity)
            LEFT JOIN contracts ct USING (customer_id, row_entity))
        SELECT customer_id, legal_entity, revenue_12m, revenue_prev_12m,
            CASE WHEN revenue_prev_12m > 0 THEN revenue_12m / revenue_prev_12m - 1
                ELSE 0.0 END AS revenue_yoy,
            orders_12m, order_frequency, order_frequency_trend, last_order_date, returns_12m,
            open_items_amount, overdue_amount, overdue_over_90,
            CASE WHEN invoiced_90 > 0 AND open_items_amount > 0
                THEN open_items_amount / invoiced_90 * {DSO_DAYS} ELSE 0.0 END AS dso,
            avg_days_late, credit_limit, open_items_amount AS credit_exposure,
            credit_limit > 0 AND open_items_amount > credit_limit AS exposure_over_limit,
            open_service_cases, open_quality_complaints, oldest_open_complaint_date,
            visits_90d, contracts_renewal_90d
        FROM base""",
    )
    # no index here: the comparison joins ``expected`` by hash; ``stage_writes`` indexes
    # ``now`` for the writes
    _exec(connection, f"DROP TABLE {t('scope')}, {t('rate')}, {t('ecur')}")


def _differs(name: str) -> str:
    """SQL: the feature ``name`` of ``n`` (expected) and ``o`` (stored) differ, as
    ``profile_calc.same_features`` compares."""
    n, o = f"n.{name}", f"o.{name}"
    if PROFILE_FEATURES[name] is FeatureType.DOUBLE:
        x, y = f"coalesce({n}, 0.0)", f"coalesce({o}, 0.0)"
        return f"abs({x} - {y}) > {TOLERANCE!r} * greatest(1.0, abs({x}), abs({y}))"
    return f"{n} IS DISTINCT FROM {o}"


def stage_feature_drift(connection: Connection, stage: Stage, rates: Mapping[str, float]) -> None:
    """``fdrift`` (customer, legal entity, what differs): the stored feature rows against
    those of the rebuilt aggregates as of the day the stored rows were written."""
    t = stage.t
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("written")} AS
        SELECT customer_id, (min(updated_at) AT TIME ZONE 'UTC')::date AS as_of
        FROM profile_features WHERE {stage.owns("customer_id")} GROUP BY customer_id""",
    )
    _exec(connection, f"ANALYZE {t('written')}")
    # (the expected rows in a table of their own: the FULL JOIN over the features' query
    # in one statement was measured slower, 53 s of CPU against 49 at 1,000,000 customers)
    stage_features(connection, stage, "expected", t("written"), rates)
    names = list(PROFILE_FEATURES)
    differ = ", ".join(f"CASE WHEN {_differs(f)} THEN '{f}' END" for f in names)
    # only the rows that differ are kept, and only theirs get the list of what differs
    # (a list built for every row and then found empty was a fifth of the statement)
    differs = " OR ".join(f"({_differs(f)})" for f in names)
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("fdrift")} AS
        SELECT coalesce(n.customer_id, o.customer_id) AS customer_id,
            coalesce(n.legal_entity, o.legal_entity) AS legal_entity,
            CASE WHEN o.customer_id IS NULL THEN ARRAY['row missing']
                WHEN n.customer_id IS NULL THEN ARRAY['row extra']
                ELSE array_remove(ARRAY[{differ}], NULL) END AS features
        FROM {t("expected")} n
        FULL JOIN (SELECT * FROM profile_features WHERE {stage.owns("customer_id")}) o
            ON o.customer_id = n.customer_id AND o.legal_entity = n.legal_entity
        WHERE o.customer_id IS NULL OR n.customer_id IS NULL OR {differs}""",
    )
    # customers with activity and no stored rows at all
    _exec(
        connection,
        f"""INSERT INTO {t("fdrift")}
        SELECT u.customer_id, '{ALL_ENTITIES}', ARRAY['missing profile rows']
        FROM (SELECT DISTINCT customer_id FROM {t("ents")}) u
        WHERE NOT EXISTS (SELECT 1 FROM {t("written")} w WHERE w.customer_id = u.customer_id)""",
    )


def drifted(
    connection: Connection, stage: Stage, limit: int
) -> tuple[int, list[tuple[UUID, list[str], dict[str, list[str]]]]]:
    """How many customers drifted, and the first ``limit`` of them by id: (customer,
    parts that differ, legal entity -> features that differ), put together in SQL."""
    t = stage.t
    count = connection.execute(
        text(
            f"SELECT count(*) FROM (SELECT customer_id FROM {t('drift')} "
            f"UNION SELECT customer_id FROM {t('fdrift')}) u"
        )
    ).scalar_one()
    order = " ".join(f"WHEN '{p}' THEN {i}" for i, p in enumerate(PARTS))
    query = f"""SELECT customer_id, coalesce(p.parts, '{{}}') AS parts,
            coalesce(f.features, '{{}}'::jsonb) AS features
        FROM (SELECT customer_id, array_agg(part ORDER BY CASE part {order} END) AS parts
              FROM {t("drift")} GROUP BY customer_id) p
        FULL JOIN (SELECT customer_id, jsonb_object_agg(legal_entity, features) AS features
              FROM {t("fdrift")} GROUP BY customer_id) f USING (customer_id)
        ORDER BY customer_id LIMIT :limit"""
    out = []
    for row in connection.execute(text(query), {"limit": limit}):
        found: dict[str, list[str]] = row.features
        out.append((row.customer_id, list(row.parts), {e: found[e] for e in sorted(found)}))
    return int(count), out


#: the scratch tables the writes read of every slice (:func:`combine`)
_COMBINED = (*PARTS, "drift", "fdrift", "ents")


def combine(connection: Connection, stages: list[Stage]) -> Stage:
    """The run's stage with the slices' tables that the writes read put together (one
    after the other: the slices hold disjoint customers)."""
    whole = Stage(stages[0].run)
    for name in _COMBINED:
        union = " UNION ALL ".join(f"SELECT * FROM {s.t(name)}" for s in stages)
        _exec(connection, f"CREATE UNLOGGED TABLE {whole.t(name)} AS {union}")
    _exec(connection, f"CREATE INDEX ON {whole.t('drift')} (customer_id, part)")
    for name in _COMBINED:
        if name not in _LARGE and name != "drift":
            _exec(connection, f"CREATE INDEX ON {whole.t(name)} (customer_id)")
        _exec(connection, f"ANALYZE {whole.t(name)}")
    return whole


def stage_writes(
    connection: Connection, stage: Stage, today: date, rates: Mapping[str, float]
) -> int:
    """``todo``: the drifted customers, numbered from 1 in id order (``n``); ``now``: their
    feature rows as of ``today``. The number of customers to write."""
    t = stage.t
    _exec(
        connection,
        f"""CREATE UNLOGGED TABLE {t("todo")} AS
        SELECT customer_id, CAST(:today AS date) AS as_of,
            row_number() OVER (ORDER BY customer_id) AS n FROM (
            SELECT customer_id FROM {t("drift")} UNION SELECT customer_id FROM {t("fdrift")}) u""",
        {"today": today},
    )
    _exec(connection, f"CREATE INDEX ON {t('todo')} (customer_id)")
    _exec(connection, f"CREATE INDEX ON {t('todo')} (n)")
    for part in _LARGE:
        _exec(connection, f"CREATE INDEX ON {t(part)} (customer_id)")
    _exec(connection, f"ANALYZE {t('todo')}")
    stage_features(connection, stage, "now", t("todo"), rates)
    _exec(connection, f"CREATE INDEX ON {t('now')} (customer_id)")
    _exec(connection, f"ANALYZE {t('now')}")
    return int(connection.execute(text(f"SELECT count(*) FROM {t('todo')}")).scalar_one())


def write(
    connection: Connection,
    stage: Stage,
    first: int,
    last: int,
    at: datetime,
    score: Callable[[Connection, str], int],
) -> int:
    """Replace the drifted parts and the feature rows of the customers numbered ``first``
    to ``last`` in ``todo`` by the stage's, set-based (an ``INSERT ... SELECT`` a table),
    then re-score them: ``score(connection, batch)``, ``batch`` the table of their ids,
    returns the number of events it added. Locks the customers first (in id order)."""
    t = stage.t
    batch = t("batch")
    _exec(connection, f"DROP TABLE IF EXISTS {batch}")
    _exec(
        connection,
        f"CREATE UNLOGGED TABLE {batch} AS SELECT customer_id FROM {t('todo')} "
        "WHERE n BETWEEN :first AND :last",
        {"first": first, "last": last},
    )
    _exec(connection, f"CREATE UNIQUE INDEX ON {batch} (customer_id)")
    _exec(connection, f"ANALYZE {batch}")
    connection.execute(
        text(
            f"SELECT c.id FROM customers c WHERE c.id IN (SELECT customer_id FROM {batch}) "
            "ORDER BY c.id FOR UPDATE OF c"
        )
    ).all()
    # every INSERT in the order of the table's primary key: its index is then filled page
    # by page, not at random
    for part, (table, keys, _) in PARTS.items():
        order = ", ".join(f"x.{k}" for k in ("customer_id", "legal_entity", *keys))
        drifted = (
            f"EXISTS (SELECT 1 FROM {t('drift')} d WHERE d.customer_id = x.customer_id "
            f"AND d.part = '{part}')"
        )
        _exec(
            connection,
            f"DELETE FROM {table} x USING {batch} b "
            f"WHERE x.customer_id = b.customer_id AND {drifted}",
        )
        _exec(
            connection,
            f"INSERT INTO {table} SELECT x.* FROM {t(part)} x "
            f"JOIN {batch} b ON b.customer_id = x.customer_id WHERE {drifted} ORDER BY {order}",
        )
    _exec(
        connection,
        f"DELETE FROM profile_features x USING {batch} b WHERE x.customer_id = b.customer_id",
    )
    columns = ", ".join(PROFILE_FEATURES)
    _exec(
        connection,
        f"""INSERT INTO profile_features (customer_id, legal_entity, {columns}, updated_at)
        SELECT x.customer_id, x.legal_entity, {", ".join(f"x.{c}" for c in PROFILE_FEATURES)},
            CAST(:at AS timestamptz)
        FROM {t("now")} x JOIN {batch} b ON b.customer_id = x.customer_id
        ORDER BY x.customer_id, x.legal_entity""",
        {"at": at},
    )
    events = score(connection, batch)
    profile_wide.refresh_batch(connection, batch)
    _exec(connection, f"DROP TABLE {batch}")
    return events


def drop(connection: Connection, stage: Stage) -> None:
    """Drop every scratch table of the run."""
    names = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE tablename LIKE :p"),
        {"p": f"rebuild\\_{stage.run}\\_%"},
    ).scalars()
    for name in list(names):
        _exec(connection, f'DROP TABLE IF EXISTS "{name}"')
