"""``custmaster import`` and ``custmaster export`` through Typer's CliRunner, on SQLite
and PostgreSQL: submit and validate, approve by another user, re-import, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from tests.conftest import new_user
from tests.services.imports.conftest import SAMPLES, import_dir  # noqa: F401
from tests.services.imports.conftest import db as db

runner = CliRunner()
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="import samples not available")


def _url(container: Container) -> str:
    return container.engine.url.render_as_string(hide_password=False)


def test_import_review_approve_reimport_and_export(
    db: Container,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTMASTER_LOCAL_PRINCIPAL_ID", "clerk")  # the CLI operator
    new_user(db, "clerk", ["ar_manager"])
    new_user(db, "manager", ["ar_manager"])
    url = _url(db)
    legacy = str(SAMPLES / "legacy_erp_kunden.csv")
    args = ["import", legacy, "--template", "legacy_erp", "--entity", "DE01",
            "--batch-size", "7", "--database-url", url]  # fmt: skip
    dry = runner.invoke(app, [*args, "--validate-only"])
    assert dry.exit_code == 0, dry.output
    assert "done" in dry.output and "created" in dry.output
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "awaiting_review" in result.output
    job_id = result.output.split("import job ", 1)[1].split()[0]
    own = runner.invoke(app, ["import", "approve", job_id, "--approver", "clerk",
                              "--database-url", url])  # fmt: skip
    assert own.exit_code == 1 and "cannot approve" in own.output
    approved = runner.invoke(app, ["import", "approve", job_id, "--approver", "manager",
                                   "--database-url", url])  # fmt: skip
    assert approved.exit_code == 0, approved.output
    assert "done" in approved.output
    again = runner.invoke(app, [*args, "--approve", "--approver", "manager"])
    assert again.exit_code == 0, again.output
    assert "│ skipped       │      23 │" in again.output.replace("  ", "  ")
    out = tmp_path / "customers.csv"
    exported = runner.invoke(app, ["export", str(out), "--database-url", url])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 23 and {r["source_system"] for r in rows} == {"legacy_erp"}
