"""The activity repository: stored events, order lines, the aggregate rows of
``ActivityState`` per customer, profile feature rows and dead letters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from custmaster.domain.activity_state import (
    ActivityState,
    Case,
    Counts,
    Document,
    Payment,
    Register,
    Sales,
    Touches,
)
from custmaster.domain.profile_rules import RuleSet
from custmaster.persistence import activity_rebuild, profile_scoring_sql, profile_wide
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.members import chunk_size, member_of
from custmaster.persistence.profile_rules import decode_list
from custmaster.persistence.tables import customer_overrides, customers, legal_entities
from custmaster.persistence.tables_activity import (
    AGGREGATE_TABLES,
    activity_cases,
    activity_contracts,
    activity_counts,
    activity_dead_letters,
    activity_documents,
    activity_events,
    activity_order_lines,
    activity_payments,
    activity_sales,
    activity_touches,
)
from custmaster.persistence.tables_matching import customer_redirects
from custmaster.persistence.tables_profile import profile_features
from custmaster.services.profile.ports import DeadLetter, ProfileSnapshot, StoredEvent

_CHUNK = 500


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# state <-> rows ------------------------------------------------------------------------


def _rows_of(customer_id: UUID, state: ActivityState) -> dict[Table, list[dict[str, Any]]]:
    c = customer_id
    rows: dict[Table, list[dict[str, Any]]] = {
        activity_sales: [
            {
                "customer_id": c,
                "legal_entity": e,
                "month": m,
                "product_group": g,
                "currency": cur,
                "amount": s.amount,
                "quantity": s.quantity,
                "return_amount": s.return_amount,
                "return_quantity": s.return_quantity,
            }
            for (e, m, g, cur), s in state.sales.items()
        ],
        activity_counts: [
            {
                "customer_id": c,
                "legal_entity": e,
                "month": m,
                "orders": n.orders,
                "returns": n.returns,
                "last_order": n.last_order,
            }
            for (e, m), n in state.counts.items()
        ],
        activity_documents: [
            {
                "customer_id": c,
                "legal_entity": e,
                "document_id": d,
                "amount": doc.amount,
                "currency": doc.currency,
                "kind": doc.kind,
                "document_date": doc.document_date,
                "due_date": doc.due_date,
            }
            for (e, d), doc in state.documents.items()
        ],
        activity_payments: [
            {
                "customer_id": c,
                "legal_entity": e,
                "payment_id": p,
                "document_id": d,
                "amount": pay.amount,
                "paid_on": pay.paid_on,
            }
            for (e, p, d), pay in state.payments.items()
        ],
        activity_cases: [
            {
                "customer_id": c,
                "legal_entity": e,
                "case_id": k,
                "kind": case.kind,
                "first_on": case.first_on,
                "opened_on": case.opened_on,
                "status_time": case.status.stamp[0],
                "status_event": case.status.stamp[1],
                "status": case.status.value[0] if case.status.value else None,
                "closed_on": case.status.value[1] if case.status.value else None,
                "detail_time": case.detail.stamp[0],
                "detail_event": case.detail.stamp[1],
                "severity": case.detail.value[0] if case.detail.value else None,
                "subject": case.detail.value[1] if case.detail.value else None,
            }
            for (e, k), case in state.cases.items()
        ],
        activity_contracts: [
            {
                "customer_id": c,
                "legal_entity": e,
                "contract_id": k,
                "stamp_time": r.stamp[0],
                "stamp_event": r.stamp[1],
                "start_date": r.value[0],
                "end_date": r.value[1],
                "renewal_date": r.value[2],
                "committed_volume": r.value[3],
                "sla": r.value[4],
            }
            for (e, k), r in state.contracts.items()
        ],
        activity_touches: [
            {"customer_id": c, "legal_entity": e, "day": d, "kind": k, "count": t.count}
            for (e, d, k), t in state.touches.items()
        ],
    }
    return rows


def _add_row(state: ActivityState, table: Table, r: Any) -> None:
    e = r.legal_entity
    if table is activity_sales:
        state.sales[(e, r.month, r.product_group, r.currency)] = Sales(
            r.amount, r.quantity, r.return_amount, r.return_quantity
        )
    elif table is activity_counts:
        state.counts[(e, r.month)] = Counts(r.orders, r.returns, r.last_order)
    elif table is activity_documents:
        state.documents[(e, r.document_id)] = Document(
            r.amount, r.currency, r.kind, r.document_date, r.due_date
        )
    elif table is activity_payments:
        state.payments[(e, r.payment_id, r.document_id)] = Payment(r.amount, r.paid_on)
    elif table is activity_cases:
        status = Register(
            (r.status_time, r.status_event), (r.status, r.closed_on) if r.status_event else ()
        )
        detail = Register(
            (r.detail_time, r.detail_event), (r.severity, r.subject) if r.detail_event else ()
        )
        state.cases[(e, r.case_id)] = Case(r.kind, r.first_on, r.opened_on, status, detail)
    elif table is activity_contracts:
        state.contracts[(e, r.contract_id)] = Register(
            (r.stamp_time, r.stamp_event),
            (r.start_date, r.end_date, r.renewal_date, r.committed_volume, r.sla),
        )
    else:
        state.touches[(e, r.day, r.kind)] = Touches(r.count)


def profile_snapshot_of(found: profile_wide.Snapshot) -> ProfileSnapshot:
    """The 360 view's read of one customer from the snapshot statement's row."""
    limits = effective_limits(
        None if found.master is None else found.master["owning_entity"],
        found.credit_limit,
        found.overrides,
    )
    return _assembled(
        found.tables, found.wide, found.master, limits, found.currencies, found.descendants
    )


def _assembled(
    tables: dict[Table, list[Any]],
    wide: list[dict[str, Any]],
    master: dict[str, Any] | None,
    limits: dict[str, float],
    currencies: dict[str, str],
    descendants: list[UUID],
) -> ProfileSnapshot:
    state = ActivityState()
    for table, found_rows in tables.items():
        for found_row in found_rows:
            _add_row(state, table, found_row)
    for row in wide:  # list scores as lists (stored as ``|a|b|``)
        for name in ("segments", "actions"):
            row[name] = None if row["tier"] is None else list(decode_list(row[name]))
    by_entity = {row["legal_entity"]: row for row in wide}
    return ProfileSnapshot(state, by_entity, limits, currencies, descendants, master)


def effective_limits(
    owning_entity: str | None, master: Any, overrides: Iterable[tuple[str, Any]]
) -> dict[str, float]:
    """legal entity -> effective credit limit: an override's, else the master's, for the
    owning entity and every entity with an override."""
    limit = None if master is None else float(master)
    out: dict[str, float] = {}
    if owning_entity and limit is not None:
        out[owning_entity] = limit
    for entity, own in overrides:
        chosen = own if own is not None else limit
        if chosen is not None:
            out[entity] = float(chosen)
    return out


def _upsert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE of many rows: on PostgreSQL one statement
    per :data:`_UPSERT_CHUNK` rows (the columns as arrays, ``unnest``), elsewhere an
    executemany."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    if connection.dialect.name == "postgresql":
        _upsert_unnest(connection, table, keys, rows)
        return
    statement = sqlite_insert(table)
    values = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=values), rows)


_UPSERT_CHUNK = 5000


def _upsert_unnest(
    connection: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = [c.name for c in table.c]
    # %b: the arrays in binary (psycopg writes a list as text by default: ~7x the Python)
    arrays = ", ".join(f"%b::{table.c[n].type.compile(dialect=dialect)}[]" for n in names)
    updates = ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in names if n not in keys)
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    )
    for start in range(0, len(rows), _UPSERT_CHUNK):
        chunk = rows[start : start + _UPSERT_CHUNK]
        columns = tuple([row[n] for row in chunk] for n in names)
        connection.exec_driver_sql(statement, columns)


class SqlActivityRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._chunk = chunk_size(connection)

    # customers ---------------------------------------------------------------------

    def lock_customers(self, customer_ids: Iterable[UUID]) -> None:
        """Serialise writers of the same customers' profiles (PostgreSQL: row locks in id
        order; SQLite serialises writers anyway)."""
        ids = sorted(set(customer_ids))
        if not ids or self._connection.dialect.name != "postgresql":
            return
        for chunk in _chunks(ids, self._chunk):
            query = (
                select(customers.c.id)
                .where(member_of(self._connection, customers.c.id, chunk))
                .order_by(customers.c.id)
                .with_for_update()
            )
            self._connection.execute(query).all()

    def lock_event_ids(self, event_ids: Iterable[str]) -> None:
        """Serialise the transactions dead-lettering the same event id (two batches applied
        at once may both hold a redelivered copy of an event whose customer is unknown):
        on PostgreSQL a transaction-scoped advisory lock per id, taken in id order (code
        points, as Python sorts them); SQLite serialises writers anyway."""
        ids = sorted(set(event_ids))
        if not ids or self._connection.dialect.name != "postgresql":
            return
        self._connection.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(id, 0))) FROM (SELECT id "
                'FROM unnest(CAST(:ids AS text[])) AS u(id) ORDER BY id COLLATE "C") AS o'
            ),
            {"ids": ids},
        )

    def existing_customers(self, customer_ids: Iterable[UUID]) -> set[UUID]:
        found: set[UUID] = set()
        ids = list(set(customer_ids))
        for chunk in _chunks(ids, self._chunk):
            query = select(customers.c.id).where(member_of(self._connection, customers.c.id, chunk))
            found.update(self._connection.execute(query).scalars())
        return found

    def credit_limits(self, customer_ids: Iterable[UUID]) -> dict[UUID, dict[str, float]]:
        """customer -> legal entity -> effective credit limit (the override's, else the
        master's for its owning entity and every entity with an override)."""
        ids = list(set(customer_ids))
        masters: dict[UUID, tuple[str | None, Any]] = {}
        overrides: dict[UUID, list[tuple[str, Any]]] = {i: [] for i in ids}
        for chunk in _chunks(ids, self._chunk):
            query = select(customers.c.id, customers.c.owning_entity, customers.c.credit_limit)
            for row in self._connection.execute(
                query.where(member_of(self._connection, customers.c.id, chunk))
            ):
                masters[row.id] = (row.owning_entity, row.credit_limit)
            query = select(
                customer_overrides.c.customer_id,
                customer_overrides.c.entity_code,
                customer_overrides.c.credit_limit,
            )
            for row in self._connection.execute(
                query.where(member_of(self._connection, customer_overrides.c.customer_id, chunk))
            ):
                overrides[row.customer_id].append((row.entity_code, row.credit_limit))
        return {i: effective_limits(*masters.get(i, (None, None)), overrides[i]) for i in ids}

    def entity_currencies(self) -> dict[str, str]:
        query = select(legal_entities.c.code, legal_entities.c.currency)
        return {row.code: row.currency for row in self._connection.execute(query)}

    # events --------------------------------------------------------------------------

    def known_events(self, event_ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        ids = list(set(event_ids))
        for chunk in _chunks(ids, self._chunk):
            query = select(activity_events.c.event_id).where(
                member_of(self._connection, activity_events.c.event_id, chunk)
            )
            found.update(self._connection.execute(query).scalars())
        return found

    def add_events(self, rows: list[dict[str, Any]], lines: list[dict[str, Any]]) -> None:
        insert_rows(self._connection, activity_events, rows)
        insert_rows(self._connection, activity_order_lines, lines)

    def count_events(self) -> int:
        return int(
            self._connection.execute(select(func.count()).select_from(activity_events)).scalar_one()
        )

    def iter_events(self, batch_size: int) -> Iterator[list[StoredEvent]]:
        """Every stored event, by customer (a customer's events in one or more
        consecutive batches)."""
        query = select(
            activity_events.c.event_id, activity_events.c.customer_id, activity_events.c.envelope
        ).order_by(activity_events.c.customer_id, activity_events.c.event_id)
        result = self._connection.execution_options(yield_per=batch_size).execute(query)
        for partition in result.partitions(batch_size):
            yield [StoredEvent(r.event_id, r.customer_id, r.envelope) for r in partition]

    def events_of(self, customer_ids: Iterable[UUID]) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for chunk in _chunks(list(set(customer_ids)), self._chunk):
            query = select(
                activity_events.c.event_id,
                activity_events.c.customer_id,
                activity_events.c.envelope,
            ).where(member_of(self._connection, activity_events.c.customer_id, chunk))
            out.extend(
                StoredEvent(r.event_id, r.customer_id, r.envelope)
                for r in self._connection.execute(query)
            )
        return out

    def move_events(self, from_id: UUID, to_id: UUID) -> int:
        """Re-point the stored events and order lines of ``from_id`` (absorbed) to
        ``to_id`` (its survivor)."""
        moved = self._connection.execute(
            update(activity_events)
            .where(activity_events.c.customer_id == from_id)
            .values(customer_id=to_id)
        ).rowcount
        self._connection.execute(
            update(activity_order_lines)
            .where(activity_order_lines.c.customer_id == from_id)
            .values(customer_id=to_id)
        )
        return int(moved or 0)

    def move_event(self, event_id: str, to_id: UUID) -> int:
        """Re-point one stored event (and its order lines) to ``to_id``."""
        moved = self._connection.execute(
            update(activity_events)
            .where(activity_events.c.event_id == event_id)
            .values(customer_id=to_id)
        ).rowcount
        self._connection.execute(
            update(activity_order_lines)
            .where(activity_order_lines.c.event_id == event_id)
            .values(customer_id=to_id)
        )
        return int(moved or 0)

    def redirects(self) -> dict[UUID, UUID]:
        """Every absorbed customer id -> the id it points at (one hop)."""
        query = select(customer_redirects.c.absorbed_id, customer_redirects.c.survivor_id)
        return {r.absorbed_id: r.survivor_id for r in self._connection.execute(query)}

    def redirects_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, UUID]:
        """The one-hop redirects of those of ``customer_ids`` that a merge absorbed."""
        out: dict[UUID, UUID] = {}
        for chunk in _chunks(list(set(customer_ids)), self._chunk):
            query = select(customer_redirects.c.absorbed_id, customer_redirects.c.survivor_id)
            query = query.where(
                member_of(self._connection, customer_redirects.c.absorbed_id, chunk)
            )
            out.update({r.absorbed_id: r.survivor_id for r in self._connection.execute(query)})
        return out

    def customers_with_state(self) -> set[UUID]:
        found: set[UUID] = set()
        for table in (*AGGREGATE_TABLES, profile_features):
            found.update(self._connection.execute(select(table.c.customer_id).distinct()).scalars())
        return found

    # aggregates ----------------------------------------------------------------------

    def load_states(self, customer_ids: Iterable[UUID]) -> dict[UUID, ActivityState]:
        ids = list(set(customer_ids))
        states = {i: ActivityState() for i in ids}
        for chunk in _chunks(ids, self._chunk):
            for table in AGGREGATE_TABLES:
                for row in self._connection.execute(
                    select(table).where(member_of(self._connection, table.c.customer_id, chunk))
                ):
                    _add_row(states[row.customer_id], table, row)
        return states

    def upsert_states(self, states: dict[UUID, ActivityState]) -> None:
        """Write the given rows (merged values) over the stored ones."""
        batched: dict[Table, list[dict[str, Any]]] = {t: [] for t in AGGREGATE_TABLES}
        for customer_id, state in states.items():
            for table, rows in _rows_of(customer_id, state).items():
                batched[table].extend(rows)
        for table, rows in batched.items():
            _upsert(self._connection, table, rows)

    def replace_states(self, states: dict[UUID, ActivityState]) -> None:
        """Replace every aggregate row of these customers."""
        ids = list(states)
        for chunk in _chunks(ids, self._chunk):
            for table in AGGREGATE_TABLES:
                self._connection.execute(
                    delete(table).where(member_of(self._connection, table.c.customer_id, chunk))
                )
        batched: dict[Table, list[dict[str, Any]]] = {t: [] for t in AGGREGATE_TABLES}
        for customer_id, state in states.items():
            for table, rows in _rows_of(customer_id, state).items():
                batched[table].extend(rows)
        for table, rows in batched.items():
            insert_rows(self._connection, table, rows)

    # set-based rebuild (PostgreSQL; ``persistence.activity_rebuild``) -------------------

    def set_based_rebuild(self) -> bool:
        """Whether :meth:`rebuild_stage` and the rest are available (PostgreSQL)."""
        return self._connection.dialect.name == "postgresql"

    def rebuild_split(self, slices: int) -> list[UUID]:
        """Customer ids that split the customers into ``slices`` slices of about as many
        customers each, for a rebuild (fewer when there are fewer customers)."""
        return activity_rebuild.split(self._connection, slices)

    def rebuild_stage(self, run: str, bounds: list[UUID], slice_no: int) -> int:
        """Rebuild every aggregate of slice ``slice_no`` of the customers (split by ``bounds``)
        from the stored events into run ``run``'s scratch tables; the number of events."""
        stage = activity_rebuild.slice_stages(run, bounds)[slice_no]
        return activity_rebuild.stage_aggregates(self._connection, stage)

    def rebuild_compare(
        self, run: str, bounds: list[UUID], slice_no: int, rates: Mapping[str, float]
    ) -> int:
        """Compare the rebuilt aggregates and features of slice ``slice_no`` with the stored
        ones; the number of its customers rebuilt (with state, rebuilt or stored)."""
        stage = activity_rebuild.slice_stages(run, bounds)[slice_no]
        activity_rebuild.stage_drift(self._connection, stage)
        activity_rebuild.stage_feature_drift(self._connection, stage, rates)
        return activity_rebuild.customers(self._connection, stage)

    def rebuild_drifted(
        self, run: str, bounds: list[UUID], limit: int
    ) -> tuple[int, list[tuple[UUID, list[str], dict[str, list[str]]]]]:
        """How many customers drifted, and the first ``limit`` of them (by id)."""
        count, found = 0, []
        for stage in activity_rebuild.slice_stages(run, bounds):  # in id order
            more, first = activity_rebuild.drifted(self._connection, stage, limit)
            count += more
            found.extend(first)
        return count, found[:limit]

    def rebuild_plan(
        self, run: str, bounds: list[UUID], as_of: date, rates: Mapping[str, float]
    ) -> int:
        """The drifted customers numbered 1..N and their feature rows as of ``as_of``
        staged for writing (the slices' scratch tables put together first); N."""
        stages = activity_rebuild.slice_stages(run, bounds)
        whole = activity_rebuild.combine(self._connection, stages)
        return activity_rebuild.stage_writes(self._connection, whole, as_of, rates)

    def rebuild_write(
        self,
        run: str,
        first: int,
        last: int,
        at: datetime,
        rules: RuleSet,
        version: int,
        today: date,
    ) -> int:
        """Replace the drifted aggregate parts and the feature rows of the drifted
        customers numbered ``first`` to ``last``, re-score them in SQL with ``rules``
        (``persistence/profile_scoring_sql.py``: their ``profile_scores``, read rows and
        outbox events, as ``scoring.score_customers`` writes them); the number of events."""

        def score(connection: Connection, batch: str) -> int:
            scoring = profile_scoring_sql.ScoringRun(
                connection, f"rebuild_{run}_sc", batch, rules, version, today
            )
            return scoring.run(at)

        stage = activity_rebuild.Stage(run)
        return activity_rebuild.write(self._connection, stage, first, last, at, score)

    def rebuild_drop(self, run: str) -> None:
        activity_rebuild.drop(self._connection, activity_rebuild.Stage(run))

    # profile rows --------------------------------------------------------------------

    def write_profiles(self, rows: dict[UUID, dict[str, dict[str, Any]]], at: datetime) -> None:
        """Replace the feature rows of these customers (entity -> features). Their read rows
        (``profile_wide``) are refreshed once, by the scores' save that every writer of
        features does next in the same transaction (``services/profile/features.write_rows``
        -> ``hooks.features_changed`` -> ``save_scores_of``)."""
        ids = list(rows)
        for chunk in _chunks(ids, self._chunk):
            self._connection.execute(
                delete(profile_features).where(
                    member_of(self._connection, profile_features.c.customer_id, chunk)
                )
            )
        values = [
            {"customer_id": customer_id, "legal_entity": entity, **features, "updated_at": at}
            for customer_id, by_entity in rows.items()
            for entity, features in by_entity.items()
        ]
        insert_rows(self._connection, profile_features, values)

    def profile_snapshot(
        self, customer_id: UUID, hierarchy_type: str, as_of: date
    ) -> ProfileSnapshot:
        """What the 360 view reads of one customer: its activity state, its read rows
        (``profile_wide``: master fields, features and scores) by legal entity, its
        credit limits, the entities' currencies and its descendants in ``hierarchy_type``
        on ``as_of``; one round trip on PostgreSQL."""
        found = profile_wide.snapshot(self._connection, customer_id, hierarchy_type, as_of)
        if found is not None:
            return profile_snapshot_of(found)
        # not PostgreSQL: a statement per part
        tables, wide = profile_wide.snapshot_parts(self._connection, customer_id)
        return _assembled(
            tables,
            wide,
            None,
            self.credit_limits([customer_id])[customer_id],
            self.entity_currencies(),
            profile_wide.descendants(self._connection, customer_id, hierarchy_type, as_of),
        )

    def read_profiles(self, customer_ids: Iterable[UUID]) -> dict[UUID, dict[str, dict[str, Any]]]:
        out: dict[UUID, dict[str, dict[str, Any]]] = {}
        for chunk in _chunks(list(set(customer_ids)), self._chunk):
            query = select(profile_features).where(
                member_of(self._connection, profile_features.c.customer_id, chunk)
            )
            for row in self._connection.execute(query):
                values = dict(row._mapping)
                customer_id = values.pop("customer_id")
                entity = values.pop("legal_entity")
                out.setdefault(customer_id, {})[entity] = values
        return out

    # dead letters --------------------------------------------------------------------

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self._connection.execute(
            activity_dead_letters.insert().values(
                id=letter.id,
                event_id=letter.event_id,
                legal_entity=letter.legal_entity,
                channel=letter.channel,
                reason=letter.reason,
                attempts=letter.attempts,
                status=letter.status,
                envelope=letter.envelope,
                created_at=letter.created_at,
                replayed_at=letter.replayed_at,
            )
        )

    def open_dead_letter(self, event_id: str) -> DeadLetter | None:
        query = select(activity_dead_letters).where(
            and_(
                activity_dead_letters.c.event_id == event_id,
                activity_dead_letters.c.status == "open",
            )
        )
        row = self._connection.execute(query).first()
        return None if row is None else DeadLetter(**row._mapping)

    def get_dead_letter(self, letter_id: UUID, *, for_update: bool = False) -> DeadLetter | None:
        query = select(activity_dead_letters).where(activity_dead_letters.c.id == letter_id)
        if for_update and self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else DeadLetter(**row._mapping)

    def list_dead_letters(
        self,
        *,
        status: str | None,
        entities: frozenset[str] | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[DeadLetter]:
        t = activity_dead_letters
        query = select(t).order_by(t.c.created_at, t.c.id).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        if entities is not None:
            query = query.where(t.c.legal_entity.in_(sorted(entities)))
        if after is not None:
            query = query.where(
                or_(t.c.created_at > after[0], and_(t.c.created_at == after[0], t.c.id > after[1]))
            )
        return [DeadLetter(**row._mapping) for row in self._connection.execute(query)]

    def update_dead_letter(self, letter_id: UUID, **values: Any) -> None:
        self._connection.execute(
            update(activity_dead_letters)
            .where(activity_dead_letters.c.id == letter_id)
            .values(**values)
        )
