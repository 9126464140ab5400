"""The CLI through its real interface (Typer's runner over the installed command)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer import main as typer_main
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


def test_users_key_finds_the_demo_database_and_never_makes_an_empty_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUSTMASTER_DATABASE_URL", raising=False)
    nothing = runner.invoke(app, ["users", "key", "ar_manager"])
    assert nothing.exit_code == 1 and "no database at custmaster.db" in nothing.output
    assert list(tmp_path.iterdir()) == []  # no empty SQLite file left behind
    loaded = runner.invoke(app, ["demo", "--customers", "5", "--no-serve"])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(app, ["users", "key", "ar_manager"])
    assert result.exit_code == 0, result.output
    key = re.findall(r"\bcm_\S+", result.output)[-1]
    container = build_container(Settings(database_url="sqlite:///custmaster-demo.db"))
    assert authenticate_key(container.uow(), key).user_id == "ar_manager"
    container.engine.dispose()
    assert not (tmp_path / "custmaster.db").exists()


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_commands(sub, (*path, name)))
    return found


def test_every_help_fits_80_columns_with_whole_option_names() -> None:
    root = typer_main.get_command(app)
    for path, command in _commands(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, color=False)
        assert result.exit_code == 0, (path, result.output)
        assert max(len(line) for line in result.output.splitlines()) <= 80, path
        for param in command.params:
            for option in param.opts:
                if option.startswith("--"):
                    assert option in result.output, (path, option)
