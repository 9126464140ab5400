"""The import job repository (``uow.imports``): jobs, the per-record report, duplicate
keys, incomplete drafts, and the batched look-ups the import and export need (one query
per key kind and batch, never one per record)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)

from custmaster.domain.model import Customer
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.customer_rows import (
    name_key,
)
from custmaster.persistence.customers import SqlCustomerRepository, aggregate_rows
from custmaster.persistence.members import text_array
from custmaster.persistence.tables import (
    customer_source_refs,
    customers,
)
from custmaster.persistence.tables_imports import (
    import_drafts,
    import_jobs,
    import_keys,
    import_rows,
)
from custmaster.services.customer_queries import CustomerQuery, SimilarCustomer
from custmaster.services.imports.store import (
    Draft,
    ExistingMatches,
    ImportJob,
    ImportOptions,
    JobStatus,
    Outcome,
    RowReport,
)

#: Bound of one IN list (PostgreSQL and SQLite take far more; this keeps plans simple).
_CHUNK = 1000


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _lookup(
    connection: Connection,
    keys: tuple[Column[Any], ...],
    values: list[Any],
    wanted: tuple[Column[Any], ...],
    *,
    where: ColumnElement[bool] | None = None,
    order_by: Column[Any] | None = None,
    limit: int = 1,
) -> list[Row[Any]]:
    """Rows (``keys`` then ``wanted``) whose ``keys`` hold one of ``values`` (distinct;
    tuples for several keys), in ``order_by`` order per value. At most ``limit`` rows per
    value on PostgreSQL, where each value is looked up on its own: ``unnest`` of one array
    parameter per key column, LATERAL ``LIMIT`` subquery. That is an index probe per value
    whatever the planner's statistics say (the batch's size, not the table's, sets the
    cost) and a statement that does not grow with the list. Elsewhere one ``IN`` query
    (callers keep the first ``limit`` rows per value themselves)."""
    if connection.dialect.name != "postgresql":
        member = keys[0].in_(values) if len(keys) == 1 else tuple_(*keys).in_(values)
        query = select(*keys, *wanted).where(member)
        if where is not None:
            query = query.where(where)
        if order_by is not None:
            query = query.order_by(order_by)
        return list(connection.execute(query))
    arrays = [values] if len(keys) == 1 else [list(v) for v in zip(*values, strict=True)]
    given = select(
        *(
            func.unnest(bindparam(None, array, type_=text_array(array))).label(key.name)
            for key, array in zip(keys, arrays, strict=True)
        )
    ).subquery("given")
    inner = select(*wanted).where(*(key == given.c[key.name] for key in keys))
    if where is not None:
        inner = inner.where(where)
    if order_by is not None:
        inner = inner.order_by(order_by)
    found = inner.limit(limit).lateral("found")
    query = select(*given.c, *found.c).select_from(given.join(found, true()))
    if order_by is not None:
        query = query.order_by(*given.c, found.c[order_by.name])
    return list(connection.execute(query))


def _job_values(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status.value,
        "template": job.template,
        "files": job.files,
        "options": job.options.as_dict(),
        "submitted_by": job.submitted_by,
        "submitted_by_name": job.submitted_by_name,
        "decided_by": job.decided_by,
        "decided_by_name": job.decided_by_name,
        "decided_at": job.decided_at,
        "total_rows": job.total_rows,
        "validated_records": job.validated_records,
        "record_count": job.record_count,
        "last_committed_batch": job.last_committed_batch,
        "summary": job.summary,
        "failed_stage": job.failed_stage,
        "error": job.error,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def _job_from_row(row: Row[Any]) -> ImportJob:
    m = row._mapping
    return ImportJob(
        id=m["id"],
        status=JobStatus(m["status"]),
        template=m["template"],
        files=list(m["files"]),
        options=ImportOptions.from_dict(dict(m["options"])),
        submitted_by=m["submitted_by"],
        submitted_by_name=m["submitted_by_name"],
        decided_by=m["decided_by"],
        decided_by_name=m["decided_by_name"],
        decided_at=m["decided_at"],
        total_rows=m["total_rows"],
        validated_records=m["validated_records"],
        record_count=m["record_count"],
        last_committed_batch=m["last_committed_batch"],
        summary=dict(m["summary"] or {}),
        failed_stage=m["failed_stage"],
        error=m["error"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
    )


def _row_from_db(row: Row[Any], with_payload: bool) -> RowReport:
    m = row._mapping
    return RowReport(
        seq=m["seq"],
        row_numbers=list(m["row_numbers"]),
        source_id=m["source_id"],
        outcome=Outcome(m["outcome"]),
        customer_id=m["customer_id"],
        errors=list(m["errors"] or []),
        warnings=list(m["warnings"] or []),
        payload=m["payload"] if with_payload else None,
    )


def _draft_values(draft: Draft) -> dict[str, Any]:
    return {
        "id": draft.id,
        "job_id": draft.job_id,
        "seq": draft.seq,
        "source_system": draft.source_system,
        "source_id": draft.source_id,
        "name": draft.name[:255] if draft.name else None,
        "command": draft.command,
        "missing": draft.missing,
        "warnings": draft.warnings,
        "created_by": draft.created_by,
        "created_at": draft.created_at,
        "updated_at": draft.updated_at,
    }


class SqlImportRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # -- jobs ------------------------------------------------------------------------

    def add_job(self, job: ImportJob) -> None:
        self._connection.execute(insert(import_jobs).values(**_job_values(job)))

    def get_job(self, job_id: UUID, *, for_update: bool = False) -> ImportJob | None:
        query = select(import_jobs).where(import_jobs.c.id == job_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else _job_from_row(row)

    def save_job(self, job: ImportJob) -> None:
        values = _job_values(job)
        del values["id"]
        self._connection.execute(
            update(import_jobs).where(import_jobs.c.id == job.id).values(**values)
        )

    def list_jobs(self, *, before: datetime | None, limit: int) -> list[ImportJob]:
        query = select(import_jobs).order_by(import_jobs.c.created_at.desc()).limit(limit)
        if before is not None:
            query = query.where(import_jobs.c.created_at < before)
        return [_job_from_row(row) for row in self._connection.execute(query)]

    def jobs_in(self, statuses: list[JobStatus]) -> list[ImportJob]:
        query = (
            select(import_jobs)
            .where(import_jobs.c.status.in_([s.value for s in statuses]))
            .order_by(import_jobs.c.created_at)
        )
        return [_job_from_row(row) for row in self._connection.execute(query)]

    # -- the per-record report -------------------------------------------------------

    def add_rows(self, job_id: UUID, rows: list[RowReport]) -> None:
        if not rows:
            return
        insert_rows(
            self._connection,
            import_rows,
            [
                {
                    "job_id": job_id,
                    "seq": r.seq,
                    "row_numbers": r.row_numbers,
                    "source_id": r.source_id[:255] if r.source_id else None,
                    "outcome": r.outcome.value,
                    "customer_id": r.customer_id,
                    "errors": r.errors or None,
                    "warnings": r.warnings or None,
                    "payload": r.payload,
                }
                for r in rows
            ],
        )

    def rows(
        self,
        job_id: UUID,
        *,
        after_seq: int = -1,
        until_seq: int | None = None,
        outcomes: list[Outcome] | None = None,
        limit: int | None = None,
        with_payload: bool = False,
    ) -> list[RowReport]:
        columns = [c for c in import_rows.c if with_payload or c.name != "payload"]
        query = (
            select(*columns)
            .where(import_rows.c.job_id == job_id, import_rows.c.seq > after_seq)
            .order_by(import_rows.c.seq)
        )
        if until_seq is not None:
            query = query.where(import_rows.c.seq <= until_seq)
        if outcomes:
            query = query.where(import_rows.c.outcome.in_([o.value for o in outcomes]))
        if limit is not None:
            query = query.limit(limit)
        return [_row_from_db(row, with_payload) for row in self._connection.execute(query)]

    def set_outcome(
        self, job_id: UUID, seq: int, outcome: Outcome, errors: list[dict[str, Any]]
    ) -> None:
        self._connection.execute(
            update(import_rows)
            .where(import_rows.c.job_id == job_id, import_rows.c.seq == seq)
            .values(outcome=outcome.value, errors=errors or None, payload=None)
        )

    def outcome_counts(self, job_id: UUID) -> dict[str, int]:
        query = (
            select(import_rows.c.outcome, func.count())
            .where(import_rows.c.job_id == job_id)
            .group_by(import_rows.c.outcome)
        )
        return {str(outcome): int(count) for outcome, count in self._connection.execute(query)}

    def drop_payloads(self, job_id: UUID) -> None:
        self._connection.execute(
            update(import_rows)
            .where(import_rows.c.job_id == job_id, import_rows.c.payload.is_not(None))
            .values(payload=None)
        )

    # -- duplicate keys seen in the file ---------------------------------------------

    def seen_keys(self, job_id: UUID, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(keys))):
            rows = _lookup(
                self._connection,
                (import_keys.c.key,),
                chunk,
                (import_keys.c.seq,),
                where=import_keys.c.job_id == job_id,
            )
            found.update({row.key: row.seq for row in rows})
        return found

    def add_keys(self, job_id: UUID, keys: dict[str, int]) -> None:
        if keys:
            insert_rows(
                self._connection,
                import_keys,
                # in key order: the primary key's index is filled page after page
                [{"job_id": job_id, "key": k, "seq": s} for k, s in sorted(keys.items())],
            )

    def drop_keys(self, job_id: UUID) -> None:
        self._connection.execute(delete(import_keys).where(import_keys.c.job_id == job_id))

    # -- new customers -------------------------------------------------------------

    def add_customers(self, batch: list[Customer]) -> None:
        """Insert whole new aggregates, the rows ``uow.customers.add_many`` writes, by
        table with :func:`~custmaster.persistence.bulk.insert_rows` (COPY on PostgreSQL)."""
        for table, rows in aggregate_rows(batch):
            insert_rows(self._connection, table, rows)

    # -- look-ups against the master -------------------------------------------------

    def existing(
        self, emails: list[str], tax_ids: list[str], refs: list[tuple[str, str]]
    ) -> ExistingMatches:
        """Customers whose email key, tax id or source reference is one of these (one
        query per kind and chunk; email keys are case-folded by the caller)."""
        matches = ExistingMatches()
        number = customers.c.number
        for chunk in _chunks(sorted(set(emails))):
            for row in _lookup(
                self._connection,
                (customers.c.email_key,),
                chunk,
                (customers.c.id, number),
                order_by=number,
            ):
                matches.by_email.setdefault(row.email_key, row.id)
        for chunk in _chunks(sorted(set(tax_ids))):
            for row in _lookup(
                self._connection,
                (customers.c.tax_id,),
                chunk,
                (customers.c.id, number),
                order_by=number,
            ):
                matches.by_tax_id.setdefault(row.tax_id, row.id)
        refs_key = (customer_source_refs.c.source_system, customer_source_refs.c.source_id)
        for chunk in _chunks(sorted(set(refs))):
            for row in _lookup(
                self._connection, refs_key, chunk, (customer_source_refs.c.customer_id,)
            ):
                matches.by_source_ref[(row.source_system, row.source_id)] = row.customer_id
        return matches

    def owning_entities(self, customer_ids: list[UUID]) -> dict[UUID, str | None]:
        """The owning legal entity of each of these customers (one query per chunk)."""
        found: dict[UUID, str | None] = {}
        for chunk in _chunks(sorted(set(customer_ids))):
            query = select(customers.c.id, customers.c.owning_entity).where(
                customers.c.id.in_(chunk)
            )
            found.update((row.id, row.owning_entity) for row in self._connection.execute(query))
        return found

    def similar_names(
        self, names: list[str], *, keys: Mapping[str, str] | None = None
    ) -> dict[str, list[SimilarCustomer]]:
        """Existing customers whose normalised name (``name_key``; ``keys`` gives it for
        the names the caller has normalised already) equals that of each given name."""
        known = keys or {}
        by_key: dict[str, list[str]] = defaultdict(list)
        for name in set(names):
            key = known.get(name)
            by_key[(name_key(name) if key is None else key)[:255]].append(name)
        found: dict[str, list[SimilarCustomer]] = {}
        for chunk in _chunks(sorted(by_key)):
            rows = _lookup(
                self._connection,
                (customers.c.name_key,),
                chunk,
                (customers.c.id, customers.c.number, customers.c.name),
                order_by=customers.c.number,
                limit=3,
            )
            for row in rows:
                for name in by_key[row.name_key]:
                    similar = found.setdefault(name, [])
                    if len(similar) < 3:
                        similar.append(SimilarCustomer(row.id, row.number, row.name))
        return found

    # -- incomplete drafts -----------------------------------------------------------

    def add_drafts(self, drafts: list[Draft]) -> None:
        if drafts:
            self._connection.execute(insert(import_drafts), [_draft_values(d) for d in drafts])

    def drafts_by_source(self, refs: list[tuple[str, str]]) -> dict[tuple[str, str], UUID]:
        found: dict[tuple[str, str], UUID] = {}
        key = (import_drafts.c.source_system, import_drafts.c.source_id)
        for chunk in _chunks(sorted(set(refs))):
            rows = _lookup(
                self._connection,
                key,
                chunk,
                (import_drafts.c.id, import_drafts.c.created_at),
                order_by=import_drafts.c.created_at,
            )
            for row in rows:
                found.setdefault((row.source_system, row.source_id), row.id)
        return found

    def replace_draft(self, draft_id: UUID, draft: Draft) -> None:
        values = _draft_values(draft)
        for key in ("id", "created_at", "created_by"):
            del values[key]
        self._connection.execute(
            update(import_drafts).where(import_drafts.c.id == draft_id).values(**values)
        )

    def drafts(self, job_id: UUID, *, after_seq: int, limit: int) -> list[Draft]:
        query = (
            select(import_drafts)
            .where(import_drafts.c.job_id == job_id, import_drafts.c.seq > after_seq)
            .order_by(import_drafts.c.seq)
            .limit(limit)
        )
        return [
            Draft(**{c.name: row._mapping[c.name] for c in import_drafts.c})
            for row in self._connection.execute(query)
        ]

    # -- exports ---------------------------------------------------------------------

    def export_page(self, query: CustomerQuery, *, with_children: bool) -> list[Customer]:
        """One page of customers in number order (``query.after_number`` is the keyset
        cursor), with their child records and overrides loaded in one query per table."""
        page = SqlCustomerRepository(self._connection).search(query)
        if with_children and page:
            # the customer repository's batched child loader (one query per table)
            SqlCustomerRepository(self._connection)._load_children(page)
        return page
