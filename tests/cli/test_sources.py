"""Source records through the CLI (``custmaster import`` then ``custmaster sources
show``), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from tests.api.test_sources import SAP, csv_file
from tests.conftest import new_user
from tests.services.imports.conftest import db as db
from tests.services.imports.conftest import import_dir  # noqa: F401

runner = CliRunner()


def _url(container: Container) -> str:
    return container.engine.url.render_as_string(hide_password=False)


def _import(db: Container, path: Path, *options: str) -> str:
    result = runner.invoke(
        app,
        [
            "import",
            str(path),
            "--template",
            "custmaster",
            "--entity",
            "DE01",
            "--approve",
            "--approver",
            "manager",
            "--database-url",
            _url(db),
            *options,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def _sources(db: Container, customer_id: str) -> dict[str, Any]:
    shown = runner.invoke(
        app, ["sources", "show", customer_id, "--format", "json", "--database-url", _url(db)]
    )
    assert shown.exit_code == 0, shown.output
    found: dict[str, Any] = json.loads(shown.output)
    return found


@pytest.fixture
def operators(db: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_LOCAL_PRINCIPAL_ID", "clerk")
    new_user(db, "clerk", ["ar_manager"])
    new_user(db, "manager", ["ar_manager"])


@pytest.mark.usefixtures("operators")
def test_a_lower_ranked_import_does_not_overwrite_the_golden_record(
    db: Container, tmp_path: Path
) -> None:
    first = tmp_path / "sap.csv"
    first.write_bytes(csv_file(SAP))
    _import(db, first)
    with db.engine.connect() as connection:
        (customer_id,) = connection.exec_driver_sql("SELECT id FROM customers").one()
    later = tmp_path / "hubspot.csv"
    later.write_bytes(
        csv_file(
            {
                **SAP,
                "source_system": "hubspot",
                "source_id": "H-1",
                "name": "Pacific Pack",
                "tax_id": "DE136695976",
            }
        )
    )
    _import(db, later, "--on-duplicate", "update")
    found = _sources(db, str(customer_id))
    fields = {f["field"]: f for f in found["fields"]}
    assert fields["name"]["value"] == "Pacific Packaging GmbH"
    assert fields["name"]["source_system"] == "sap"
    assert fields["tax_id"]["source_system"] == "hubspot"
    assert sorted(r["source_system"] for r in found["records"]) == ["hubspot", "sap"]
    assert {r["file"] for r in found["records"]} == {"sap.csv", "hubspot.csv"}
    table = runner.invoke(app, ["sources", "show", str(customer_id), "--database-url", _url(db)])
    assert table.exit_code == 0 and "field winners" in table.output
    unknown = runner.invoke(
        app, ["sources", "show", "00000000-0000-0000-0000-000000000009", "--database-url", _url(db)]
    )
    assert unknown.exit_code == 1 and "no customer" in unknown.output


@pytest.mark.usefixtures("operators")
def test_a_bad_tax_id_lands_without_it_and_the_summary_counts_warnings_by_kind(
    db: Container, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_file({**SAP, "tax_id": "DE136695977"}))
    output = _import(db, path)
    assert "warnings by kind" in output and "invalid_field_drop" in output
    assert "with warnings" in output and "│ 0 " not in output.split("with warnings", 1)[1][:20]
    with db.engine.connect() as connection:
        (tax_id,) = connection.exec_driver_sql("SELECT tax_id FROM customers").one()
    assert tax_id is None
