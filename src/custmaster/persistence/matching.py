"""The matching repository: the online match index, batch runs, the review queue,
not-duplicate decisions, merges and redirects."""

from __future__ import annotations

import functools
import json
import time
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.sql.selectable import TextualSelect

from custmaster.domain.model import Customer, CustomerStatus
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.customer_rows import address_from_row, customer_from_row
from custmaster.persistence.tables import customer_addresses, customers
from custmaster.persistence.tables_matching import (
    customer_redirects,
    duplicate_cluster_members,
    duplicate_clusters,
    match_keys,
    match_models,
    match_records,
    match_runs,
    merge_members,
    merge_source_refs,
    merges,
    not_duplicates,
)
from custmaster.services.dedup.ports import (
    ClusterRecord,
    IndexedRecord,
    IndexEntry,
    MergeRecord,
    ModelVersion,
    NewCluster,
    Redirect,
)

#: Rows per INSERT statement when the index is written in bulk.
_CHUNK = 5000
#: a match key's value, of (value, customer id)
_VALUE = itemgetter(0)
#: How long a process trusts the latest run id it read (per engine). A run finished by
#: this process is seen at once; one finished by another process within this time.
LATEST_RUN_TTL_SECONDS = 5.0
#: engine -> (monotonic time read, latest finished run id)
_latest_runs: weakref.WeakKeyDictionary[Engine, tuple[float, UUID | None]] = (
    weakref.WeakKeyDictionary()
)


#: engine -> (monotonic time read, current model version)
_latest_versions: weakref.WeakKeyDictionary[Engine, tuple[float, int | None]] = (
    weakref.WeakKeyDictionary()
)


def forget_latest_run(engine: Engine) -> None:
    """Make this process read the latest run and model version of ``engine``'s database
    again (after the runs were removed wholesale, as test fixtures do)."""
    from custmaster.services.dedup.models import forget_cached_models

    _latest_runs.pop(engine, None)
    _latest_versions.pop(engine, None)
    forget_cached_models()


class SqlMatchingRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # -- the online index ---------------------------------------------------------------

    def replace_entries(self, entries: Sequence[IndexEntry]) -> None:
        if not entries:
            return
        self.remove_entries([e.customer_id for e in entries])
        records = [
            {
                "customer_id": e.customer_id,
                "number": e.number,
                "name": e.name,
                "features": e.features,
            }
            for e in entries
        ]
        keys = [
            {"key_type": t, "key_value": v, "customer_id": e.customer_id}
            for e in entries
            for t, v in e.keys
        ]
        for start in range(0, len(records), _CHUNK):
            self._connection.execute(insert(match_records), records[start : start + _CHUNK])
        for start in range(0, len(keys), _CHUNK):
            self._connection.execute(insert(match_keys), keys[start : start + _CHUNK])

    def add_entries(self, entries: Sequence[IndexEntry]) -> None:
        """Index customers that have no index rows yet (new ones): the rows
        :meth:`replace_entries` writes, without its delete, in bulk (COPY on PostgreSQL)."""
        insert_rows(
            self._connection,
            match_records,
            [
                {
                    "customer_id": e.customer_id,
                    "number": e.number,
                    "name": e.name,
                    "features": e.features,
                }
                for e in entries
            ],
        )
        # in key order: the index on (key_type, key_value, customer_id) is then filled
        # page after page instead of at thirteen random places a customer (server CPU
        # of the COPY about 48 -> 40 us a customer, measured on a 10,000-row import's
        # keys; sorted by type, then each type's values: about 3 us a customer here)
        # (the ids as they are: on PostgreSQL the binary COPY takes a UUID's 16 bytes)
        by_type: dict[str, list[tuple[str, UUID]]] = {}
        for e in entries:
            customer_id = e.customer_id
            for t, v in e.keys:
                part = by_type.get(t)
                if part is None:
                    part = by_type[t] = []
                part.append((v, customer_id))
        rows: list[dict[str, Any]] = []
        for t in sorted(by_type):
            part = by_type[t]
            part.sort(key=_VALUE)
            rows += [{"key_type": t, "key_value": v, "customer_id": c} for v, c in part]
        insert_rows(self._connection, match_keys, rows)

    def remove_entries(self, customer_ids: Sequence[UUID]) -> None:
        ids = list(customer_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            self._connection.execute(delete(match_keys).where(match_keys.c.customer_id.in_(chunk)))
            self._connection.execute(
                delete(match_records).where(match_records.c.customer_id.in_(chunk))
            )

    def lookup(
        self, keys: Sequence[tuple[str, str]], max_postings: int
    ) -> dict[tuple[str, str], list[UUID]]:
        """One statement: per key, at most ``max_postings + 1`` ids from the index."""
        if not keys:
            return {}
        parts = [
            select(match_keys.c.key_type, match_keys.c.key_value, match_keys.c.customer_id)
            .where(match_keys.c.key_type == key_type, match_keys.c.key_value == key_value)
            .limit(max_postings + 1)
            .subquery()
            for key_type, key_value in keys
        ]
        statement = union_all(*(select(p) for p in parts)) if len(parts) > 1 else select(parts[0])
        found: dict[tuple[str, str], list[UUID]] = {}
        for row in self._connection.execute(statement):
            found.setdefault((row[0], row[1]), []).append(row[2])
        return found

    def candidates(
        self, keys: Sequence[tuple[str, str]], max_postings: int, max_candidates: int
    ) -> list[IndexedRecord]:
        """One round trip: the indexed records sharing a selective key (one whose
        posting list has at most ``max_postings`` ids; each key's lookup stops at
        ``max_postings + 1`` rows), the ``max_candidates`` sharing the most keys."""
        if not keys:
            return []
        params: dict[str, Any] = {"max_postings": max_postings, "max_candidates": max_candidates}
        for i, (key_type, key_value) in enumerate(keys):
            params[f"t{i}"], params[f"v{i}"] = key_type, key_value
        statement = _candidates_sql(len(keys), max_postings + 1)
        return [_indexed(row) for row in self._connection.execute(statement, params)]

    def records(self, customer_ids: Sequence[UUID]) -> list[IndexedRecord]:
        if not customer_ids:
            return []
        rows = self._connection.execute(
            select(match_records).where(match_records.c.customer_id.in_(list(customer_ids)))
        )
        return [_indexed(row) for row in rows]

    def iter_records(self, batch_size: int) -> Iterator[list[IndexedRecord]]:
        """Every indexed record in batches (server-side cursor on PostgreSQL; the
        features come as text and are parsed here, which is faster than the driver's
        JSON loader on bytes)."""
        r = match_records.c
        query = select(r.customer_id, r.number, r.name, cast(r.features, Text))
        result = self._connection.execution_options(
            stream_results=True, yield_per=batch_size
        ).execute(query)
        loads = json.loads
        for partition in result.partitions(batch_size):
            yield [
                IndexedRecord(cid, number, name, f if isinstance(f, dict) else loads(f))
                for cid, number, name, f in partition
            ]

    def count_records(self) -> int:
        return int(
            self._connection.execute(select(func.count()).select_from(match_records)).scalar_one()
        )

    def count_customers(self) -> int:
        statement = (
            select(func.count())
            .select_from(customers)
            .where(customers.c.status == CustomerStatus.ACTIVE.value)
        )
        return int(self._connection.execute(statement).scalar_one())

    def iter_customers(self, batch_size: int) -> Iterator[list[Customer]]:
        after = ""
        while True:
            rows = self._connection.execute(
                select(customers)
                .where(
                    customers.c.status == CustomerStatus.ACTIVE.value, customers.c.number > after
                )
                .order_by(customers.c.number)
                .limit(batch_size)
            ).all()
            if not rows:
                return
            batch = [customer_from_row(row) for row in rows]
            by_id = {c.id: c for c in batch}
            addresses = self._connection.execute(
                select(customer_addresses)
                .where(
                    customer_addresses.c.customer_id.in_(list(by_id)),
                    customer_addresses.c.entity_code.is_(None),
                )
                .order_by(customer_addresses.c.position)
            )
            for row in addresses:
                by_id[row.customer_id].addresses.append(address_from_row(row))
            yield batch
            after = batch[-1].number

    # -- batch runs and the review queue ------------------------------------------------

    def latest_run_id(self) -> UUID | None:
        """The latest finished run (read at most every :data:`LATEST_RUN_TTL_SECONDS`
        per engine: online matching asks on every request, runs finish rarely)."""
        engine = self._connection.engine
        now = time.monotonic()
        known = _latest_runs.get(engine)
        if known is not None and now - known[0] < LATEST_RUN_TTL_SECONDS:
            return known[1]
        run_id: UUID | None = self._connection.execute(
            select(match_runs.c.id)
            .where(match_runs.c.finished_at.is_not(None))
            .order_by(match_runs.c.finished_at.desc())
            .limit(1)
        ).scalar()
        _latest_runs[engine] = (now, run_id)
        return run_id

    def run_model(self, run_id: UUID) -> dict[str, Any]:
        model = self._connection.execute(
            select(match_runs.c.model).where(match_runs.c.id == run_id)
        ).scalar_one()
        return dict(model)

    def start_run(
        self,
        run_id: UUID,
        actor_id: str,
        at: datetime,
        model: dict[str, Any],
        model_version: int | None = None,
    ) -> None:
        self._connection.execute(
            insert(match_runs).values(
                id=run_id,
                started_at=at,
                actor_id=actor_id,
                model=model,
                stats={},
                model_version=model_version,
            )
        )

    # -- model versions ------------------------------------------------------------------

    def add_model_version(
        self, model: dict[str, Any], report: dict[str, Any], at: datetime, by: str
    ) -> int:
        latest = self._connection.execute(select(func.max(match_models.c.version))).scalar()
        version = int(latest or 0) + 1
        self._connection.execute(
            insert(match_models).values(
                version=version, created_at=at, created_by=by, model=model, report=report
            )
        )
        _latest_versions.pop(self._connection.engine, None)
        return version

    def latest_model_version(self) -> int | None:
        """The current version (read at most every :data:`LATEST_RUN_TTL_SECONDS` per
        engine, like the latest run)."""
        engine = self._connection.engine
        now = time.monotonic()
        known = _latest_versions.get(engine)
        if known is not None and now - known[0] < LATEST_RUN_TTL_SECONDS:
            return known[1]
        found = self._connection.execute(select(func.max(match_models.c.version))).scalar()
        version = None if found is None else int(found)
        _latest_versions[engine] = (now, version)
        return version

    def get_model_version(self, version: int) -> ModelVersion | None:
        row = self._connection.execute(
            select(match_models).where(match_models.c.version == version)
        ).first()
        return None if row is None else _model_version(row)

    def list_model_versions(self, limit: int) -> list[ModelVersion]:
        rows = self._connection.execute(
            select(match_models).order_by(match_models.c.version.desc()).limit(limit)
        )
        return [_model_version(row) for row in rows]

    def decided_clusters(self, limit: int) -> list[ClusterRecord]:
        rows = self._connection.execute(
            select(duplicate_clusters)
            .where(duplicate_clusters.c.status.in_(("merged", "not_duplicate")))
            .order_by(duplicate_clusters.c.id.desc())
            .limit(limit)
        )
        return [_cluster(row) for row in rows]

    def finish_run(self, run_id: UUID, at: datetime, stats: dict[str, Any]) -> None:
        self._connection.execute(
            update(match_runs).where(match_runs.c.id == run_id).values(finished_at=at, stats=stats)
        )
        # this process reads the latest run again (a reader between now and the commit
        # may keep the previous one for up to the TTL)
        forget_latest_run(self._connection.engine)

    def supersede_open_clusters(self, at: datetime) -> int:
        result = self._connection.execute(
            update(duplicate_clusters)
            .where(duplicate_clusters.c.status == "open")
            .values(status="superseded", decided_at=at)
        )
        return int(result.rowcount)

    def add_clusters(self, run_id: UUID | None, at: datetime, clusters: list[NewCluster]) -> None:
        for start in range(0, len(clusters), 1000):
            chunk = clusters[start : start + 1000]
            ids = (
                self._connection.execute(
                    insert(duplicate_clusters).returning(
                        duplicate_clusters.c.id, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "run_id": run_id,
                            "status": "open",
                            "proposal": c.proposal,
                            "score": c.score,
                            "members": c.members,
                            "pairs": c.pairs,
                            "created_at": at,
                        }
                        for c in chunk
                    ],
                )
                .scalars()
                .all()
            )
            members = [
                {"cluster_id": cluster_id, "customer_id": UUID(member)}
                for cluster_id, cluster in zip(ids, chunk, strict=True)
                for member in cluster.members
            ]
            if members:
                self._connection.execute(insert(duplicate_cluster_members), members)

    def get_cluster(self, cluster_id: int, *, for_update: bool = False) -> ClusterRecord | None:
        query = select(duplicate_clusters).where(duplicate_clusters.c.id == cluster_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else _cluster(row)

    def list_clusters(
        self,
        status: str | None,
        after_id: int | None,
        limit: int,
        *,
        uncertain_first: bool = False,
        after_uncertainty: float | None = None,
    ) -> list[ClusterRecord]:
        table = duplicate_clusters
        if uncertain_first:
            distance = func.abs(table.c.score - 0.5)
            query = select(table).order_by(distance, table.c.id).limit(limit)
            if after_id is not None and after_uncertainty is not None:
                query = query.where(
                    or_(
                        distance > after_uncertainty,
                        and_(distance == after_uncertainty, table.c.id > after_id),
                    )
                )
        else:
            query = select(table).order_by(table.c.id).limit(limit)
            if after_id is not None:
                query = query.where(table.c.id > after_id)
        if status is not None:
            query = query.where(table.c.status == status)
        return [_cluster(row) for row in self._connection.execute(query)]

    def decide_cluster(
        self, cluster_id: int, status: str, at: datetime, by: str, merge_id: UUID | None
    ) -> None:
        self._connection.execute(
            update(duplicate_clusters)
            .where(duplicate_clusters.c.id == cluster_id)
            .values(status=status, decided_at=at, decided_by=by, merge_id=merge_id)
        )

    def open_clusters_with(self, customer_ids: Sequence[UUID]) -> list[int]:
        if not customer_ids:
            return []
        rows = self._connection.execute(
            select(duplicate_clusters.c.id)
            .join(
                duplicate_cluster_members,
                duplicate_cluster_members.c.cluster_id == duplicate_clusters.c.id,
            )
            .where(
                duplicate_clusters.c.status == "open",
                duplicate_cluster_members.c.customer_id.in_(list(customer_ids)),
            )
            .distinct()
        )
        return sorted(int(row[0]) for row in rows)

    def add_not_duplicates(
        self, pairs: Sequence[tuple[UUID, UUID]], at: datetime, by: str, cluster_id: int | None
    ) -> None:
        wanted = {_ordered(a, b) for a, b in pairs if a != b}
        if not wanted:
            return
        existing = {
            (row.customer_a, row.customer_b)
            for row in self._connection.execute(
                select(not_duplicates.c.customer_a, not_duplicates.c.customer_b).where(
                    not_duplicates.c.customer_a.in_([a for a, _ in wanted])
                )
            )
        }
        rows = [
            {
                "customer_a": a,
                "customer_b": b,
                "decided_at": at,
                "decided_by": by,
                "cluster_id": cluster_id,
            }
            for a, b in sorted(wanted - existing, key=str)
        ]
        if rows:
            self._connection.execute(insert(not_duplicates), rows)

    def not_duplicate_pairs(self) -> set[tuple[str, str]]:
        return {
            (str(row.customer_a), str(row.customer_b))
            for row in self._connection.execute(
                select(not_duplicates.c.customer_a, not_duplicates.c.customer_b)
            )
        }

    # -- merges -------------------------------------------------------------------------

    def add_merge(self, merge: MergeRecord) -> None:
        self._connection.execute(
            insert(merges).values(
                id=merge.id,
                survivor_id=merge.survivor_id,
                absorbed_ids=[str(i) for i in merge.absorbed_ids],
                survivor_before=merge.survivor_before,
                survivor_after=merge.survivor_after,
                absorbed=merge.absorbed,
                rules=merge.rules,
                choices=merge.choices,
                merged_at=merge.merged_at,
                merged_by=merge.merged_by,
            )
        )
        self._connection.execute(
            insert(merge_members),
            [{"merge_id": merge.id, "customer_id": absorbed} for absorbed in merge.absorbed_ids],
        )
        if merge.moved_refs:
            self._connection.execute(
                insert(merge_source_refs),
                [
                    {
                        "merge_id": merge.id,
                        "source_system": system,
                        "source_id": source_id,
                        "from_customer_id": owner,
                    }
                    for system, source_id, owner in merge.moved_refs
                ],
            )

    def get_merge(self, merge_id: UUID, *, for_update: bool = False) -> MergeRecord | None:
        query = select(merges).where(merges.c.id == merge_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else self._merge(row)

    def _merge(self, row: Row[Any]) -> MergeRecord:
        m = row._mapping
        moved = [
            (r.source_system, r.source_id, r.from_customer_id)
            for r in self._connection.execute(
                select(merge_source_refs)
                .where(merge_source_refs.c.merge_id == m["id"])
                .order_by(merge_source_refs.c.source_system, merge_source_refs.c.source_id)
            )
        ]
        return MergeRecord(
            id=m["id"],
            survivor_id=m["survivor_id"],
            absorbed_ids=[UUID(i) for i in m["absorbed_ids"]],
            survivor_before=m["survivor_before"],
            survivor_after=m["survivor_after"],
            absorbed=m["absorbed"],
            rules=m["rules"],
            choices=m["choices"],
            merged_at=m["merged_at"],
            merged_by=m["merged_by"],
            unmerged_at=m["unmerged_at"],
            unmerged_by=m["unmerged_by"],
            moved_refs=moved,
        )

    def mark_unmerged(self, merge_id: UUID, at: datetime, by: str) -> None:
        self._connection.execute(
            update(merges).where(merges.c.id == merge_id).values(unmerged_at=at, unmerged_by=by)
        )

    def merges_of(self, customer_id: UUID) -> list[MergeRecord]:
        rows = self._connection.execute(
            select(merges).where(merges.c.survivor_id == customer_id).order_by(merges.c.merged_at)
        )
        return [self._merge(row) for row in rows]

    def merges_involving(self, customer_id: UUID) -> list[MergeRecord]:
        """As survivor, or among the absorbed (``merge_members``)."""
        absorbed = merges.c.id.in_(
            select(merge_members.c.merge_id).where(merge_members.c.customer_id == customer_id)
        )
        rows = self._connection.execute(
            select(merges)
            .where(or_(merges.c.survivor_id == customer_id, absorbed))
            .order_by(merges.c.merged_at)
        )
        return [self._merge(row) for row in rows]

    def replace_merge_snapshots(
        self,
        merge_id: UUID,
        survivor_before: dict[str, Any],
        survivor_after: dict[str, Any],
        absorbed: list[dict[str, Any]],
        rules: dict[str, Any],
        choices: dict[str, Any],
    ) -> None:
        self._connection.execute(
            update(merges)
            .where(merges.c.id == merge_id)
            .values(
                survivor_before=survivor_before,
                survivor_after=survivor_after,
                absorbed=absorbed,
                rules=rules,
                choices=choices,
            )
        )

    def add_redirects(self, redirects: Sequence[Redirect], at: datetime) -> None:
        if redirects:
            self._connection.execute(
                insert(customer_redirects),
                [
                    {
                        "absorbed_id": r.absorbed_id,
                        "survivor_id": r.survivor_id,
                        "merge_id": r.merge_id,
                        "created_at": at,
                    }
                    for r in redirects
                ],
            )

    def remove_redirects(self, merge_id: UUID) -> None:
        self._connection.execute(
            delete(customer_redirects).where(customer_redirects.c.merge_id == merge_id)
        )

    def redirect(self, absorbed_id: UUID) -> Redirect | None:
        row = self._connection.execute(
            select(customer_redirects).where(customer_redirects.c.absorbed_id == absorbed_id)
        ).first()
        return None if row is None else Redirect(row.absorbed_id, row.survivor_id, row.merge_id)

    def merges_moving_ref(self, source_system: str, source_id: str) -> list[UUID]:
        rows = self._connection.execute(
            select(merges.c.id)
            .join(merge_source_refs, merge_source_refs.c.merge_id == merges.c.id)
            .where(
                merge_source_refs.c.source_system == source_system,
                merge_source_refs.c.source_id == source_id,
                merges.c.unmerged_at.is_(None),
            )
            .order_by(merges.c.merged_at)
        )
        return [row[0] for row in rows]


@functools.cache
def _candidates_sql(count: int, cut: int) -> TextualSelect:
    """The candidate query for ``count`` keys (textual: built once per key count)."""
    parts = " UNION ALL ".join(
        f"SELECT * FROM (SELECT key_type, key_value, customer_id FROM match_keys "
        f"WHERE key_type = :t{i} AND key_value = :v{i} LIMIT {cut}) AS k{i}"
        for i in range(count)
    )
    sql = (
        f"WITH hits AS ({parts}), "
        "usable AS (SELECT key_type, key_value FROM hits GROUP BY key_type, key_value "
        "HAVING count(*) <= :max_postings), "
        "ids AS (SELECT h.customer_id, count(*) AS shared FROM hits h JOIN usable u "
        "ON u.key_type = h.key_type AND u.key_value = h.key_value GROUP BY h.customer_id "
        "ORDER BY shared DESC, h.customer_id LIMIT :max_candidates) "
        "SELECT r.customer_id, r.number, r.name, r.features "
        "FROM ids JOIN match_records r ON r.customer_id = ids.customer_id"
    )
    return text(sql).columns(
        match_records.c.customer_id,
        match_records.c.number,
        match_records.c.name,
        match_records.c.features,
    )


def _ordered(a: UUID, b: UUID) -> tuple[UUID, UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


def _model_version(row: Row[Any]) -> ModelVersion:
    return ModelVersion(
        version=int(row.version),
        created_at=row.created_at,
        created_by=row.created_by,
        model=dict(row.model),
        report=dict(row.report),
    )


def _indexed(row: Row[Any]) -> IndexedRecord:
    return IndexedRecord(row.customer_id, row.number, row.name, row.features)


def _cluster(row: Row[Any]) -> ClusterRecord:
    return ClusterRecord(
        id=row.id,
        status=row.status,
        proposal=row.proposal,
        score=row.score,
        members=list(row.members),
        pairs=list(row.pairs),
        created_at=row.created_at,
        run_id=row.run_id,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        merge_id=row.merge_id,
    )
