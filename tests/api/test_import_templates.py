"""Import templates are chosen by name only (issue 12, item 1), through HTTP and the CLI
on SQLite and PostgreSQL: a path a client sends is refused with a 422 (a usage error in
the CLI) that never echoes a file's content; the operator's template directory
(CUSTMASTER_IMPORT_TEMPLATE_DIR) adds templates by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli_app
from custmaster.persistence.tables_imports import import_jobs
from custmaster.services.imports.templates import shipped_templates

API = "/api/v1/imports"
SECRET = "TOPSECRET-7f3a-line"
UPLOAD = [("file", ("x.csv", b"source_id,name,email\nA1,Acme,ap@acme.example\n", "text/csv"))]


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def operator_dir(container: Container, tmp_path: Path) -> Iterator[Path]:
    """The operator's template directory, configured for the duration of a test."""
    folder = tmp_path / "templates"
    folder.mkdir()
    before = container.service_settings
    container.service_settings = dataclasses.replace(before, import_template_dir=folder)
    yield folder
    container.service_settings = before


def _secret_files(tmp_path: Path) -> list[Path]:
    """Files a hostile client would like to read: not YAML, and a valid template."""
    broken = tmp_path / "secret.yaml"
    broken.write_text(f"fields: [unclosed {SECRET}\nroot:x:0:0:{SECRET}\n", encoding="utf-8")
    data = yaml.safe_load(shipped_templates()["custmaster"].read_text(encoding="utf-8"))
    data["description"] = SECRET
    valid = tmp_path / "valid.yaml"
    valid.write_text(yaml.safe_dump(data), encoding="utf-8")
    return [broken, valid]


def test_a_template_path_is_refused_without_echoing_the_file(
    client: TestClient, tmp_path: Path
) -> None:
    paths = [str(p) for p in _secret_files(tmp_path)]
    relative = ["../" * 12 + paths[0].lstrip("/"), "/etc/passwd", "custmaster.yaml", "./d365"]
    for value in [*paths, *relative]:
        answer = client.post(API, files=UPLOAD, data={"template": value})
        assert answer.status_code == 422, (value, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        [error] = answer.json()["errors"]
        assert error["field"] == "template" and error["code"] == "not_a_template_name"
        assert SECRET not in answer.text and "root:" not in answer.text
    assert client.get(API).json()["items"] == []  # no job was made


def test_a_template_of_the_operators_directory_is_chosen_by_name(
    client: TestClient, operator_dir: Path
) -> None:
    data = yaml.safe_load(shipped_templates()["custmaster"].read_text(encoding="utf-8"))
    data["name"] = "house_layout"
    (operator_dir / "house_layout.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    answer = client.post(API, files=UPLOAD, data={"template": "house_layout"})
    assert answer.status_code == 202, answer.text
    job = client.get(f"{API}/{answer.json()['id']}").json()
    assert job["template"] == "house_layout"
    assert job["status"] == "awaiting_review", job
    unknown = client.post(API, files=UPLOAD, data={"template": "nope"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "unknown_template"
    assert "house_layout" in unknown.json()["errors"][0]["message"]  # the names on offer
    assert str(operator_dir) not in unknown.text  # never the server's paths


def test_an_invalid_operator_template_is_a_422_without_its_content(
    client: TestClient, operator_dir: Path
) -> None:
    (operator_dir / "broken.yaml").write_text(f"fields: [unclosed {SECRET}\n", encoding="utf-8")
    (operator_dir / "wrong.yaml").write_text(f"name: x\n{SECRET}: 1\n", encoding="utf-8")
    for name in ("broken", "wrong"):
        answer = client.post(API, files=UPLOAD, data={"template": name})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["code"] == "invalid_template"
        assert SECRET not in answer.text and str(operator_dir) not in answer.text


def test_the_cli_refuses_a_template_path_as_a_usage_error(
    container: Container, tmp_path: Path
) -> None:
    upload = tmp_path / "x.csv"
    upload.write_bytes(UPLOAD[0][1][1])
    url = container.engine.url.render_as_string(hide_password=False)
    for path in _secret_files(tmp_path):
        result = CliRunner().invoke(
            cli_app, ["import", str(upload), "--template", str(path), "--database-url", url]
        )
        assert result.exit_code == 2, result.output
        assert "never by a path" in result.output
        assert SECRET not in result.output
    with container.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(import_jobs)).scalar() == 0
