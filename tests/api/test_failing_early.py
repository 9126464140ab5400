"""Failing early and clearly (issue 12, item 11), on SQLite and PostgreSQL: /health says
503 with a problem body when the schema is not at the head revision or the database
cannot be reached; an unreachable database answers every call 503 (not 500) with one log
line, not a traceback; ``custmaster serve`` refuses an unmigrated database in one line
naming ``custmaster db upgrade``; a bad database URL ends any command in one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.cli.app import app as cli
from custmaster.config import Settings
from custmaster.persistence.audit import AuditSealer
from custmaster.persistence.migrate import head_revision

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-dir-for-custmaster/x.db",
    "postgresql": "postgresql://postgres@127.0.0.1:1/custmaster",
}
KEY = {"Authorization": "Bearer cm_0123456789ab_secret"}  # well-formed: looked up


def _container(url: str) -> Container:
    # no certificate check: its own failure would be another log line
    settings = Settings(database_url=url, auto_migrate=False, certificate_check_interval_seconds=0)
    return build_container(settings, migrate=False)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def unreachable(container: Container) -> Iterator[Container]:
    """A container whose database cannot be reached (of the same kind as ``container``)."""
    built = _container(UNREACHABLE[container.engine.dialect.name])
    yield built
    built.engine.dispose()


def test_health_answers_the_schema_revision(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["schema_revision"] == head_revision()


def test_health_is_503_on_an_unmigrated_database(empty_engine: Engine) -> None:
    container = _container(_url(empty_engine))
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        answer = client.get("/health")
    container.engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == "/problems/service-unavailable" and body["status"] == 503
    assert "custmaster db upgrade" in body["detail"]
    assert body["schema_revision"] is None


def test_an_unreachable_database_answers_503_with_one_log_line(
    unreachable: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(unreachable), raise_server_exceptions=False) as client:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            health = client.get("/health")
            calls = [
                client.get("/api/v1/customers", headers=KEY),
                client.post("/api/v1/customers", json={"name": "x"}, headers=KEY),
            ]
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    for answer in calls:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "5"
    records = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custmaster.api")
    ]
    assert len(records) == 3, [r.getMessage() for r in records]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)


def test_serve_refuses_an_unmigrated_database_in_one_line(
    empty_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTMASTER_AUTO_MIGRATE", "false")
    result = CliRunner().invoke(cli, ["serve", "--database-url", _url(empty_engine)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "run `custmaster db upgrade`" in lines[0], result.output


@pytest.mark.parametrize(
    "args",
    [
        ["db", "current", "--database-url", "nonsense"],
        ["db", "upgrade", "--database-url", "mysql://nobody@nowhere/db"],
        ["users", "list", "--database-url", UNREACHABLE["postgresql"]],
        ["audit", "verify", "--database-url", UNREACHABLE["sqlite"]],
    ],
)
def test_a_bad_database_url_ends_the_cli_in_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output


def test_the_sealer_logs_an_unreachable_database_in_one_line(
    unreachable: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        AuditSealer(unreachable.engine).request()
    [record] = [r for r in caplog.records if r.name == "custmaster.persistence.audit"]
    assert record.exc_info is None and "\n" not in record.getMessage()
