"""``custmaster import`` and ``custmaster export`` through Typer's CliRunner, on SQLite
and PostgreSQL: submit and validate, approve by another user, re-import, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from custmaster.persistence.audit import AuditSealer, SqlAuditLog
from custmaster.persistence.audit_guard import suspended_guard
from custmaster.persistence.tables import audit_log
from custmaster.services.ports import AuditEntry
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
    args = [
        "import",
        legacy,
        "--template",
        "legacy_erp",
        "--entity",
        "DE01",
        "--batch-size",
        "7",
        "--database-url",
        url,
    ]
    dry = runner.invoke(app, [*args, "--validate-only"])
    assert dry.exit_code == 0, dry.output
    assert "done" in dry.output and "nothing written yet" in dry.output
    assert re.search(r"to create\s*│\s+\d+", dry.output) and "created" not in dry.output
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "awaiting_review" in result.output
    job_id = result.output.split("import job ", 1)[1].split()[0]
    own = runner.invoke(
        app, ["import", "approve", job_id, "--approver", "clerk", "--database-url", url]
    )
    assert own.exit_code == 1 and "cannot approve" in own.output
    approved = runner.invoke(
        app, ["import", "approve", job_id, "--approver", "manager", "--database-url", url]
    )
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


def test_an_import_seals_its_audit_entries_as_it_writes_them_and_verify_passes(
    db: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import batches append their entries sealed, chained after the entries other
    writers committed unsealed (sealed first, in the same transaction): with no sealing
    pass after any commit, every entry is sealed once the import is done, and
    ``custmaster audit verify`` checks the whole chain."""
    monkeypatch.setenv("CUSTMASTER_LOCAL_PRINCIPAL_ID", "clerk")
    new_user(db, "clerk", ["ar_manager"])
    new_user(db, "manager", ["ar_manager"])
    url = _url(db)
    late = AuditEntry(
        occurred_at=datetime(2026, 11, 24, tzinfo=UTC),
        actor_id="w",
        actor_name="Writer",
        operation="update",
        resource_type="customer",
        resource_id="elsewhere",
        changes=[{"field": "credit_limit", "before": None, "after": "1.50"}],
    )
    with db.engine.begin() as connection:  # committed, not sealed
        SqlAuditLog(connection).append_many([late])
    monkeypatch.setattr(AuditSealer, "request", lambda self: None)  # no sealing passes
    legacy = str(SAMPLES / "legacy_erp_kunden.csv")
    result = runner.invoke(
        app,
        [
            "import",
            legacy,
            "--template",
            "legacy_erp",
            "--entity",
            "DE01",
            "--batch-size",
            "7",
            "--approve",
            "--approver",
            "manager",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(
                audit_log.c.resource_type,
                audit_log.c.resource_id,
                audit_log.c.chain_seq,
                audit_log.c.hash,
            ).order_by(audit_log.c.chain_seq)
        ).all()
    created = [r for r in rows if r.resource_type == "customer" and r.resource_id != "elsewhere"]
    assert len(created) == 23 and all(r.hash is not None for r in created)
    order = [r.resource_id for r in rows]
    assert order.index("elsewhere") < order.index(created[0].resource_id)  # sealed first
    assert all(r.hash is not None for r in rows)
    assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))  # no gap
    verified = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert f"audit chain intact: {len(rows)} entries" in verified.output
    with db.engine.connect() as connection:  # tampering with an imported entry is caught
        assert SqlAuditLog(connection).verify().ok
    with db.engine.begin() as connection, suspended_guard(connection):
        connection.execute(
            update(audit_log)
            .where(audit_log.c.chain_seq == created[3].chain_seq)
            .values(actor_name="Mallory")
        )
    broken = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert broken.exit_code == 1 and "broken" in broken.output
