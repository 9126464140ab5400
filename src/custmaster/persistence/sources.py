"""The source-record repository (``uow.sources``): source records and the provenance
of golden-record fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)

from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.members import text_array
from custmaster.persistence.tables_sources import golden_fields, source_records
from custmaster.services.sources.ports import SourceRecord

_CHUNK = 1000


def _values(record: SourceRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "source_system": record.source_system[:64],
        "source_id": None if record.source_id is None else record.source_id[:255],
        "golden_id": record.golden_id,
        "origin": record.origin,
        "received": record.received,
        "normalised": record.normalised,
        "features": record.features,
        "missing": record.missing,
        "warnings": record.warnings,
        "job_id": record.job_id,
        "file": None if record.file is None else record.file[:255],
        "rows": record.rows,
        "received_at": record.received_at,
        "pending_group": record.pending_group,
    }


def _record(row: Row[Any]) -> SourceRecord:
    m = row._mapping
    return SourceRecord(
        id=m["id"],
        source_system=m["source_system"],
        source_id=m["source_id"],
        golden_id=m["golden_id"],
        origin=m["origin"],
        received=m["received"],
        normalised=m["normalised"],
        received_at=m["received_at"],
        features=m["features"],
        missing=list(m["missing"] or []),
        warnings=list(m["warnings"] or []),
        job_id=m["job_id"],
        file=m["file"],
        rows=list(m["rows"] or []),
        pending_group=m["pending_group"],
    )


class SqlSourceRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_many(self, records: Sequence[SourceRecord]) -> None:
        insert_rows(self._connection, source_records, [_values(r) for r in records])

    def replace(self, record: SourceRecord) -> None:
        values = _values(record)
        del values["id"]
        self._connection.execute(
            update(source_records).where(source_records.c.id == record.id).values(**values)
        )

    def get(self, record_ids: Sequence[UUID]) -> list[SourceRecord]:
        found: list[SourceRecord] = []
        ids = list(record_ids)
        for i in range(0, len(ids), _CHUNK):
            rows = self._connection.execute(
                select(source_records).where(source_records.c.id.in_(ids[i : i + _CHUNK]))
            )
            found.extend(_record(r) for r in rows)
        return found

    def for_golden(self, golden_ids: Sequence[UUID]) -> list[SourceRecord]:
        if not golden_ids:
            return []
        rows = self._connection.execute(
            select(source_records)
            .where(source_records.c.golden_id.in_(list(golden_ids)))
            .order_by(source_records.c.received_at, source_records.c.id)
        )
        return [_record(r) for r in rows]

    def by_refs(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], SourceRecord]:
        wanted = list(dict.fromkeys(refs))
        found: dict[tuple[str, str], SourceRecord] = {}
        c = source_records.c
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            if self._connection.dialect.name == "postgresql":
                # two array parameters, unnested and joined: an index probe per pair; a
                # row-value IN list of a thousand pairs costs PostgreSQL far more to plan
                systems, ids = [s for s, _ in chunk], [r for _, r in chunk]
                given = select(
                    func.unnest(bindparam("systems", systems, text_array(systems))).label("system"),
                    func.unnest(bindparam("ids", ids, text_array(ids))).label("source_id"),
                ).subquery("given")
                query = select(source_records).join(
                    given,
                    (c.source_system == given.c.system) & (c.source_id == given.c.source_id),
                )
            else:
                query = select(source_records).where(
                    tuple_(c.source_system, c.source_id).in_(chunk)
                )
            rows = self._connection.execute(query.order_by(c.received_at, c.id))
            for row in rows:
                record = _record(row)
                assert record.ref is not None
                found[record.ref] = record  # the latest wins
        return found

    def pending_groups(self) -> dict[UUID, UUID]:
        c = source_records.c
        rows = self._connection.execute(
            select(c.id, c.pending_group).where(c.pending_group.is_not(None), c.golden_id.is_(None))
        )
        return {record_id: group for record_id, group in rows}

    def in_groups(self, groups: Sequence[UUID]) -> list[SourceRecord]:
        if not groups:
            return []
        c = source_records.c
        rows = self._connection.execute(
            select(source_records)
            .where(c.pending_group.in_(list(groups)), c.golden_id.is_(None))
            .order_by(c.received_at, c.id)
        )
        return [_record(r) for r in rows]

    def set_group(self, record_ids: Sequence[UUID], group: UUID | None) -> None:
        ids = list(record_ids)
        for i in range(0, len(ids), _CHUNK):
            self._connection.execute(
                update(source_records)
                .where(source_records.c.id.in_(ids[i : i + _CHUNK]))
                .values(pending_group=group)
            )

    def delete_for_golden(self, golden_ids: Sequence[UUID]) -> int:
        if not golden_ids:
            return 0
        ids = list(golden_ids)
        self._connection.execute(delete(golden_fields).where(golden_fields.c.customer_id.in_(ids)))
        result = self._connection.execute(
            delete(source_records).where(source_records.c.golden_id.in_(ids))
        )
        return int(result.rowcount or 0)

    def move(self, record_ids: Sequence[UUID], golden_id: UUID | None) -> None:
        if record_ids:
            self._connection.execute(
                update(source_records)
                .where(source_records.c.id.in_(list(record_ids)))
                .values(golden_id=golden_id)
            )

    def iter_features(self, batch_size: int) -> Iterator[list[tuple[UUID, dict[str, Any]]]]:
        c = source_records.c
        result = self._connection.execution_options(
            stream_results=True, yield_per=batch_size
        ).execute(select(c.id, c.features).where(c.features.is_not(None)).order_by(c.id))
        for partition in result.partitions(batch_size):
            yield [(rid, features) for rid, features in partition if features is not None]

    def iter_attached_features(
        self, batch_size: int
    ) -> Iterator[list[tuple[UUID, UUID, dict[str, Any]]]]:
        c = source_records.c
        query = (
            select(c.id, c.golden_id, c.features)
            .where(c.features.is_not(None), c.golden_id.is_not(None))
            .order_by(c.golden_id, c.id)
        )
        result = self._connection.execution_options(
            stream_results=True, yield_per=batch_size
        ).execute(query)
        for partition in result.partitions(batch_size):
            # a JSON column stores None as JSON null, which IS NOT NULL lets through
            yield [(rid, gid, features) for rid, gid, features in partition if features is not None]

    def provenance(self, customer_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
        if not customer_ids:
            return {}
        rows = self._connection.execute(
            select(golden_fields.c.customer_id, golden_fields.c.fields).where(
                golden_fields.c.customer_id.in_(list(customer_ids))
            )
        )
        return {cid: dict(fields) for cid, fields in rows}

    def save_provenance(self, customer_id: UUID, fields: dict[str, Any], at: datetime) -> None:
        self._connection.execute(
            delete(golden_fields).where(golden_fields.c.customer_id == customer_id)
        )
        self._connection.execute(
            insert(golden_fields).values(customer_id=customer_id, fields=fields, updated_at=at)
        )

    def drop_provenance(self, customer_ids: Sequence[UUID]) -> None:
        if customer_ids:
            self._connection.execute(
                delete(golden_fields).where(golden_fields.c.customer_id.in_(list(customer_ids)))
            )
