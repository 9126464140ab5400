"""Similar-name warnings of the validation stage: against the master and inside the
file, with names normalised by the record preparation (in-process or in the worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custmaster.bootstrap import Container
from custmaster.services.imports import jobs
from custmaster.services.imports.jobs import FileStore, Upload, approve_job, run_job, submit_job
from custmaster.services.imports.store import ImportOptions, JobStatus
from tests.services.imports.conftest import APPROVER, SUBMITTER

HEADER = "Kundennr;Name1;Strasse;PLZ;Ort;Land;USt-IdNr;Kreditlimit;Zahlungsbedingung;Angelegt am;E-Mail\n"


def _file(tmp_path: Path, name: str, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / name
    lines = [
        f"{n};{company};Hauptstr. 1;10115;Berlin;DE;;0,00;;;{email}\n" for n, company, email in rows
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _run(db: Container, store: FileStore, path: Path, **options: Any) -> Any:
    with path.open("rb") as handle:
        job = submit_job(
            db.uow(),
            SUBMITTER,
            template="legacy_erp",
            uploads=[Upload(path.name, handle)],
            options=ImportOptions(entity="DE01", **options),
            files=store,
        )
    return run_job(db.uow, job.id, db.service_settings, files=store)


@pytest.mark.parametrize("parallel_from", [10**9, 0])
def test_similar_names_are_warned_against_the_master_and_in_the_file(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_from: int
) -> None:
    monkeypatch.setattr(jobs, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(jobs, "spare_core", lambda: True)
    store = FileStore(tmp_path / "files")
    first = _run(db, store, _file(tmp_path, "a.csv", [("1", "Globex AG", "a@globex.example")]))
    approve_job(db.uow(), APPROVER, first.id)
    assert run_job(db.uow, first.id, db.service_settings, files=store).status is JobStatus.DONE
    second = _run(
        db,
        store,
        _file(
            tmp_path,
            "b.csv",
            [
                ("2", "GLOBEX A.G.", "b@globex.example"),
                ("3", "Initech GmbH", "c@initech.example"),
                ("4", "Initech G.m.b.H.", "d@initech.example"),
            ],
        ),
        validate_only=True,
        batch_size=2,
    )
    codes = {
        r.seq: sorted(w["code"] for w in r.warnings)
        for r in jobs.job_rows(db.uow(), SUBMITTER, second.id)
    }
    assert "similar_customer" in codes[0]
    assert "similar_in_file" not in codes[1]
    assert "similar_in_file" in codes[2]  # across the batch boundary too
