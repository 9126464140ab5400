"""The CLI through its real interface (Typer's runner over the installed command)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from custmaster.bootstrap import build_container
from custmaster.cli.app import app
from custmaster.config import Settings
from custmaster.persistence.migrate import head_revision
from custmaster.services.auth import authenticate_key

runner = CliRunner()


def test_db_upgrade_creates_the_schema_and_reports_the_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cm.db'}"
    result = runner.invoke(app, ["db", "current", "--database-url", url])
    assert "empty database" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    current = runner.invoke(app, ["db", "current", "--database-url", url]).output
    assert "empty" not in current
    assert current.strip().splitlines()[-1].strip() == head_revision()  # one revision, the head


def test_demo_loads_valid_customers_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--database-url", url, "--customers", "30", "--no-serve"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "created 30 customers" in result.output
    assert "controller_2" in result.output  # one user per role
    keys = re.findall(r"\bcm_\S+", result.output)
    assert len(keys) >= 8
    container = build_container(Settings(database_url=url), migrate=False)
    try:  # printed whole, whatever the terminal's width (a table used to cut them short)
        assert all(authenticate_key(container.uow(), key).user_id for key in keys)
    finally:
        container.engine.dispose()
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "has customers already" in again.output
    assert "demo users exist" in again.output


def test_no_command_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "serve" in result.output and "demo" in result.output


def test_serve_gives_workers_time_to_start_on_a_busy_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn restarts a worker that misses its health check (5 s by default), which a
    worker still importing on a loaded machine does; serve allows the configured time."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: started.append(options))
    monkeypatch.setenv("CUSTMASTER_WORKER_HEALTHCHECK_SECONDS", "45")
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    result = runner.invoke(app, ["serve", "--database-url", url, "--workers", "2"])
    assert result.exit_code == 0, result.output
    [options] = started
    assert options["workers"] == 2 and options["timeout_worker_healthcheck"] == 45
    monkeypatch.delenv("CUSTMASTER_WORKER_HEALTHCHECK_SECONDS")
    runner.invoke(app, ["serve", "--database-url", url])
    assert started[1]["timeout_worker_healthcheck"] == 30
