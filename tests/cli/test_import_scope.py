"""``custmaster import approve|reject|status`` under the one access rule
(``governance.access.may_see_job``), on SQLite and PostgreSQL: an approver scoped to GB01
neither approves nor rejects a job that writes DE01 data (the job is "not found" to them
and stays as it was); one scoped to both entities approves it."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from custmaster.services.imports.store import JobStatus
from tests.conftest import new_user
from tests.services.imports.conftest import db as db
from tests.services.imports.conftest import import_dir  # noqa: F401

runner = CliRunner()

#: a job for GB01 (the job's entity) whose second row writes a DE01 customer
MIXED = (
    "source_id,kind,name,email,owning_entity,billing_city,billing_country\n"
    "M-1,organization,Thames Paper Ltd,ap@thamespaper.example,,London,GB\n"
    "M-2,organization,Rhein Druck GmbH,ap@rheindruck.example,DE01,Köln,DE\n"
)


def _status(db: Container, job_id: str) -> JobStatus:
    uow = db.uow()
    with uow.read_only():
        job = uow.imports.get_job(UUID(job_id))
    assert job is not None
    return job.status


def test_a_gb01_approver_cannot_decide_a_job_that_writes_de01_data(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTMASTER_LOCAL_PRINCIPAL_ID", "clerk")  # the CLI operator
    new_user(db, "clerk", ["ar_manager"])
    new_user(db, "gb-manager", ["ar_manager"], ["GB01"])
    new_user(db, "eu-manager", ["ar_manager"], ["DE01", "GB01"])
    url = db.engine.url.render_as_string(hide_password=False)
    source = tmp_path / "mixed.csv"
    source.write_text(MIXED, encoding="utf-8")
    submitted = runner.invoke(
        app,
        [
            "import",
            str(source),
            "--template",
            "custmaster",
            "--entity",
            "GB01",
            "--database-url",
            url,
        ],
    )
    assert submitted.exit_code == 0, submitted.output
    assert "awaiting_review" in submitted.output
    job_id = submitted.output.split("import job ", 1)[1].split()[0]
    for action in ("approve", "reject"):
        refused = runner.invoke(
            app,
            ["import", action, job_id, "--approver", "gb-manager", "--database-url", url],
        )
        assert refused.exit_code == 1, refused.output
        assert f"no import job {job_id}" in refused.output
        assert _status(db, job_id) is JobStatus.AWAITING_REVIEW
    approved = runner.invoke(
        app, ["import", "approve", job_id, "--approver", "eu-manager", "--database-url", url]
    )
    assert approved.exit_code == 0, approved.output
    assert _status(db, job_id) is JobStatus.DONE
