"""Import jobs at the service level, on SQLite and PostgreSQL: the review's segregation
of duties, and a job interrupted mid-way that resumes with exactly the right rows."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.domain.approvals.errors import SegregationOfDuties
from custmaster.domain.permissions import PermissionDenied, Principal, Role
from custmaster.persistence.tables import audit_log, customer_source_refs, customers, outbox
from custmaster.services.imports import jobs
from custmaster.services.imports.jobs import (
    FileStore,
    Upload,
    approve_job,
    resume_job,
    run_job,
    submit_job,
)
from custmaster.services.imports.store import ImportJob, ImportOptions, JobStatus
from tests.services.imports.conftest import APPROVER, SAMPLES, SUBMITTER

LEGACY = SAMPLES / "legacy_erp_kunden.csv"  # 23 customers


def _submit(db: Container, store: FileStore, **options: Any) -> ImportJob:
    with LEGACY.open("rb") as handle:
        return submit_job(
            db.uow(),
            SUBMITTER,
            template="legacy_erp",
            uploads=[Upload(LEGACY.name, handle)],
            options=ImportOptions(entity="DE01", **options),
            files=store,
        )


def _count(db: Container, table: Any, *where: Any) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )


def _validated(db: Container, tmp_path: Path, **options: Any) -> ImportJob:
    store = FileStore(tmp_path / "files")
    job = run_job(db.uow, _submit(db, store, **options).id, db.service_settings, files=store)
    assert job.status is JobStatus.AWAITING_REVIEW
    return job


def test_the_submitter_never_approves_their_own_job(db: Container, tmp_path: Path) -> None:
    job = _validated(db, tmp_path)
    with pytest.raises(PermissionDenied):  # a data steward does not approve imports
        approve_job(db.uow(), SUBMITTER, job.id)
    admin_submitter = Principal(SUBMITTER.user_id, "Same person", frozenset({Role.ADMIN}))
    with pytest.raises(SegregationOfDuties):
        approve_job(db.uow(), admin_submitter, job.id)
    viewer = Principal("viewer", "Vic Viewer", frozenset({Role.VIEWER}))
    with pytest.raises(PermissionDenied):
        approve_job(db.uow(), viewer, job.id)
    with pytest.raises(PermissionDenied):
        _submit_as(db, tmp_path, viewer)
    with pytest.raises(SegregationOfDuties, match="agent"):  # an approver's AI assistant
        approve_job(db.uow(), APPROVER.through("mcp"), job.id)
    assert approve_job(db.uow(), APPROVER, job.id).status is JobStatus.IMPORTING
    assert _count(db, customers) == 0  # nothing is written before the import stage runs


def _submit_as(db: Container, tmp_path: Path, actor: Principal) -> ImportJob:
    with LEGACY.open("rb") as handle:
        return submit_job(
            db.uow(),
            actor,
            template="legacy_erp",
            uploads=[Upload(LEGACY.name, handle)],
            options=ImportOptions(),
            files=FileStore(tmp_path),
        )


class Crash(Exception):
    pass


def _crash_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """The batch writer raises inside the transaction of batch ``batches`` (0-based)."""
    real = jobs.write_batch  # type: ignore[attr-defined]
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        result = real(*args, **kwargs)  # the batch's rows are written, then the crash
        if calls["n"] > batches:
            raise Crash("power cut")
        return result

    monkeypatch.setattr(jobs, "write_batch", flaky)


def _assert_exactly_once(db: Container) -> None:
    assert _count(db, customers) == 23
    assert _count(db, customer_source_refs) == 23
    assert _count(db, audit_log, audit_log.c.resource_type == "customer") == 23
    assert _count(db, outbox, outbox.c.type == "custmaster.customer.created") == 23
    with db.engine.connect() as connection:
        numbers = connection.execute(select(customers.c.number).order_by(customers.c.number))
        assert [n for (n,) in numbers] == [f"C{i:06d}" for i in range(1, 24)]


def test_a_job_broken_off_mid_way_resumes_after_its_last_committed_batch(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _validated(db, tmp_path, batch_size=5)  # 23 records: 5 batches
    approve_job(db.uow(), APPROVER, job.id)
    _crash_after(monkeypatch, 2)
    store = FileStore(tmp_path / "files")
    with pytest.raises(Crash):
        run_job(db.uow, job.id, db.service_settings, files=store)
    broken = jobs.get_job(db.uow(), SUBMITTER, job.id)
    assert broken.status is JobStatus.FAILED and broken.last_committed_batch == 1
    assert broken.error is not None and broken.error.startswith("interrupted")
    assert _count(db, customers) == 10  # the batch in flight rolled back whole
    monkeypatch.undo()
    done = resume_job(db.uow, SUBMITTER, job.id, db.service_settings, files=store)
    assert done.status is JobStatus.DONE and done.last_committed_batch == 4
    assert done.summary["final"] == {"created": 23}
    _assert_exactly_once(db)


def test_a_killed_job_left_importing_resumes_too(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _validated(db, tmp_path, batch_size=4)
    approve_job(db.uow(), APPROVER, job.id)
    _crash_after(monkeypatch, 3)
    monkeypatch.setattr(jobs, "_fail", lambda *args: None)  # a kill leaves no trace
    with pytest.raises(Crash):
        run_job(db.uow, job.id, db.service_settings)
    monkeypatch.undo()
    left = jobs.get_job(db.uow(), SUBMITTER, job.id)
    assert left.status is JobStatus.IMPORTING and left.last_committed_batch == 2
    assert [j.id for j in jobs.interrupted_jobs(db.uow())] == [job.id]
    assert resume_job(db.uow, SUBMITTER, job.id, db.service_settings).status is JobStatus.DONE
    _assert_exactly_once(db)


def test_validation_broken_off_resumes_without_losing_a_record(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "files")
    job = _submit(db, store, batch_size=10)
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
    monkeypatch.undo()
    resumed = resume_job(db.uow, SUBMITTER, job.id, db.service_settings, files=store)
    assert resumed.status is JobStatus.AWAITING_REVIEW
    assert resumed.record_count == 23
    assert resumed.summary["planned"]["created"] == 23


def test_the_collector_is_paused_while_a_batch_runs_and_restored_after(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch of both stages runs with the cyclic garbage collector paused; it is on
    again between batches, after the job, and after a batch that breaks off."""
    seen: list[tuple[str, bool]] = []
    real_validate, real_write = jobs.validate_batch, jobs.write_batch  # type: ignore[attr-defined]

    def validating(*args: Any, **kwargs: Any) -> Any:
        seen.append(("validate", gc.isenabled()))
        return real_validate(*args, **kwargs)

    def writing(*args: Any, **kwargs: Any) -> Any:
        seen.append(("write", gc.isenabled()))
        return real_write(*args, **kwargs)

    def between(job: ImportJob) -> None:
        seen.append(("between", gc.isenabled()))

    monkeypatch.setattr(jobs, "validate_batch", validating)
    monkeypatch.setattr(jobs, "write_batch", writing)
    store = FileStore(tmp_path / "files")
    job = run_job(
        db.uow,
        _submit(db, store, batch_size=10).id,
        db.service_settings,
        files=store,
        progress=between,
    )
    approve_job(db.uow(), APPROVER, job.id)
    done = run_job(db.uow, job.id, db.service_settings, files=store, progress=between)
    assert done.status is JobStatus.DONE and done.summary["final"] == {"created": 23}
    assert [s for s in seen if s[0] != "between"] == [("validate", False)] * 3 + [
        ("write", False)
    ] * 3
    assert {enabled for what, enabled in seen if what == "between"} == {True}
    assert gc.isenabled()
    again = _validated(db, tmp_path, batch_size=5)
    approve_job(db.uow(), APPROVER, again.id)
    _crash_after(monkeypatch, 1)
    with pytest.raises(Crash):
        run_job(db.uow, again.id, db.service_settings)
    assert gc.isenabled()
