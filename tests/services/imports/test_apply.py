"""The import stage indexes new customers for the online matcher exactly as
``services.dedup.records.index_entry`` does, whether validation computed the entry
(payloads of this version) or the writer does (payloads without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from custmaster.bootstrap import Container
from custmaster.persistence.tables_imports import import_rows
from custmaster.persistence.tables_matching import match_keys, match_records
from custmaster.services.dedup.records import index_entry
from custmaster.services.imports.jobs import FileStore, Upload, approve_job, run_job, submit_job
from custmaster.services.imports.store import ImportOptions, JobStatus
from tests.services.imports.conftest import APPROVER, SAMPLES, SUBMITTER

LEGACY = SAMPLES / "legacy_erp_kunden.csv"  # 23 customers


def _drop_match(db: Container, job_id: Any) -> None:
    with db.engine.begin() as connection:
        rows = connection.execute(
            select(import_rows.c.seq, import_rows.c.payload).where(import_rows.c.job_id == job_id)
        ).all()
        for seq, payload in rows:
            if payload and "match" in payload:
                connection.execute(
                    update(import_rows)
                    .where(import_rows.c.job_id == job_id, import_rows.c.seq == seq)
                    .values(payload={k: v for k, v in payload.items() if k != "match"})
                )


@pytest.mark.parametrize("from_validation", [True, False])
def test_new_customers_are_indexed_as_index_entry_says(
    db: Container, tmp_path: Path, from_validation: bool
) -> None:
    store = FileStore(tmp_path / "files")
    with LEGACY.open("rb") as handle:
        job = submit_job(
            db.uow(),
            SUBMITTER,
            template="legacy_erp",
            uploads=[Upload(LEGACY.name, handle)],
            options=ImportOptions(entity="DE01", batch_size=10),
            files=store,
        )
    job = run_job(db.uow, job.id, db.service_settings, files=store)
    with db.engine.connect() as connection:
        payloads = [p for (p,) in connection.execute(select(import_rows.c.payload)) if p]
    assert payloads and all("match" in p for p in payloads)
    if not from_validation:
        _drop_match(db, job.id)
    approve_job(db.uow(), APPROVER, job.id)
    job = run_job(db.uow, job.id, db.service_settings, files=store)
    assert job.status is JobStatus.DONE and job.summary["final"] == {"created": 23}

    with db.engine.connect() as connection:
        records = {r.customer_id: r for r in connection.execute(select(match_records))}
        keys: dict[Any, set[tuple[str, str]]] = {}
        for row in connection.execute(select(match_keys)):
            keys.setdefault(row.customer_id, set()).add((row.key_type, row.key_value))
    assert len(records) == 23
    uow = db.uow()
    with uow:
        for customer_id, record in records.items():
            customer = uow.customers.get(customer_id)
            assert customer is not None
            expected = index_entry(customer)
            assert expected is not None
            assert (record.number, record.name) == (expected.number, expected.name)
            assert record.features == expected.features
            assert keys[customer_id] == set(expected.keys)
