"""The validation stage's records prepared by a worker process are exactly those prepared
in-process (same order, same parse results), and a job validated through the worker
plans, fails and resumes as one validated in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custmaster.bootstrap import Container
from custmaster.domain.snapshot import snapshot
from custmaster.services.imports import jobs
from custmaster.services.imports.jobs import FileStore, Upload, resume_job, run_job, submit_job
from custmaster.services.imports.sources import ImportFileError
from custmaster.services.imports.store import ImportOptions, JobStatus
from custmaster.services.imports.validate import PreparedRecord
from custmaster.services.imports.worker import prepared_batches, prepared_batches_in_worker
from tests.services.imports.conftest import SAMPLES, SUBMITTER

LEGACY = SAMPLES / "legacy_erp_kunden.csv"  # 23 customers


def _fixed(value: Any) -> Any:
    """A snapshot without what each parse draws afresh (ids, the parse time)."""
    if isinstance(value, dict):
        return {
            k: _fixed(v) for k, v in value.items() if k not in ("id", "created_at", "updated_at")
        }
    if isinstance(value, list):
        return [_fixed(v) for v in value]
    return value


def _view(batches: list[list[PreparedRecord]]) -> list[list[Any]]:
    return [
        [
            (
                e.seq,
                e.record.row_numbers,
                e.record.command,
                e.errors,
                e.warnings,
                e.keys,
                [(r.kind, r.code, r.path) for r in e.ctx.refs],
                None if e.customer is None else _fixed(snapshot(e.customer)),
                _fixed(e.snapshot),
                _fixed(e.match),
                e.name_key,
            )
            for e in batch
        ]
        for batch in batches
    ]


@pytest.mark.parametrize("start", [0, 7])
def test_the_worker_prepares_what_this_process_prepares(start: int) -> None:
    files = {"primary": LEGACY}
    here = list(prepared_batches(files, "legacy_erp", "DE01", start, 5))
    there = list(prepared_batches_in_worker(files, "legacy_erp", "DE01", start, 5))
    assert [len(b) for b in there] == [len(b) for b in here]
    assert here[0][0].seq == start and there[-1][-1].seq == 22
    assert _view(there) == _view(here)


def test_an_unreadable_file_fails_in_the_worker_as_here(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("no,key,columns\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as here:
        list(prepared_batches({"primary": bad}, "legacy_erp", None, 0, 5))
    with pytest.raises(ImportFileError) as there:
        list(prepared_batches_in_worker({"primary": bad}, "legacy_erp", None, 0, 5))
    assert str(there.value) == str(here.value)


def _job(db: Container, store: FileStore, **options: Any) -> Any:
    with LEGACY.open("rb") as handle:
        return submit_job(
            db.uow(),
            SUBMITTER,
            template="legacy_erp",
            uploads=[Upload(LEGACY.name, handle)],
            options=ImportOptions(entity="DE01", **options),
            files=store,
        )


def _report(db: Container, job_id: Any) -> list[Any]:
    rows = jobs.job_rows(db.uow(), SUBMITTER, job_id)
    return [(r.seq, r.outcome, r.errors, r.warnings) for r in rows]


def test_a_job_validated_through_the_worker_plans_as_one_validated_here(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "files")
    here = run_job(
        db.uow,
        _job(db, store, batch_size=6, validate_only=True).id,
        db.service_settings,
        files=store,
    )
    monkeypatch.setattr(jobs, "PARALLEL_FROM", 0)
    monkeypatch.setattr(jobs, "spare_core", lambda: True)
    there = run_job(
        db.uow,
        _job(db, store, batch_size=6, validate_only=True).id,
        db.service_settings,
        files=store,
    )
    assert here.status is there.status is JobStatus.DONE
    assert there.summary == here.summary and there.record_count == here.record_count == 23
    assert _report(db, there.id) == _report(db, here.id)


class Crash(Exception):
    pass


def test_validation_through_the_worker_broken_off_resumes_without_losing_a_record(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "PARALLEL_FROM", 0)
    monkeypatch.setattr(jobs, "spare_core", lambda: True)
    store = FileStore(tmp_path / "files")
    job = _job(db, store, batch_size=10)
    real = jobs.validate_batch  # type: ignore[attr-defined]
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash("restart")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "validate_batch", flaky)
    with pytest.raises(Crash):
        run_job(db.uow, job.id, db.service_settings, files=store)
    assert jobs.get_job(db.uow(), SUBMITTER, job.id).validated_records == 10
    monkeypatch.setattr(jobs, "validate_batch", real)
    resumed = resume_job(db.uow, SUBMITTER, job.id, db.service_settings, files=store)
    assert resumed.status is JobStatus.AWAITING_REVIEW
    assert resumed.record_count == 23
    assert resumed.summary["planned"]["created"] == 23
    assert [r.seq for r in jobs.job_rows(db.uow(), SUBMITTER, job.id)] == list(range(23))
