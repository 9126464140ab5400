"""``custmaster match run`` and ``custmaster match reindex`` through Typer's runner."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from custmaster.bootstrap import build_container
from custmaster.cli.app import app
from custmaster.config import Settings
from custmaster.persistence.tables_matching import duplicate_clusters, match_keys, match_records
from custmaster.services.customers.create import apply_create
from custmaster.services.reference import create_reference
from tests.factories import minimal

runner = CliRunner()


def _count(url: str, table: object) -> int:
    container = build_container(Settings(database_url=url), migrate=False)
    with container.engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]
    container.engine.dispose()
    return int(found)


def test_match_run_fills_the_review_queue_and_reindex_rebuilds_the_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cm.db'}"
    container = build_container(Settings(database_url=url), migrate=True)
    actor = container.system_principal()
    create_reference(
        container.uow(),
        actor,
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    for name, email in [
        ("Acme GmbH", "ap@acme.example"),
        ("ACME G.m.b.H.", "AP@acme.example"),
        ("Globex Ltd", "ap@globex.example"),
    ]:
        apply_create(container.uow(), actor, minimal(name, email), container.service_settings)
    with container.engine.begin() as connection:
        keys = connection.execute(select(func.count()).select_from(match_keys)).scalar_one()
        connection.execute(match_keys.delete())
        connection.execute(match_records.delete())
    container.engine.dispose()

    result = runner.invoke(app, ["match", "reindex", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "indexed 3 customers" in result.output
    assert _count(url, match_keys) == keys and _count(url, match_records) == 3

    result = runner.invoke(app, ["match", "run", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "1 clusters in the review queue" in result.output
    assert "candidate pairs" in result.output and "thresholds" in result.output
    assert _count(url, duplicate_clusters) == 1


def test_match_train_stores_a_version_and_match_run_uses_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cm.db'}"
    container = build_container(Settings(database_url=url), migrate=True)
    actor = container.system_principal()
    create_reference(
        container.uow(),
        actor,
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    for i in range(12):
        apply_create(
            container.uow(),
            actor,
            minimal(f"Firm {i} GmbH", f"ap@firm{i}.example"),
            container.service_settings,
        )
    container.engine.dispose()
    result = runner.invoke(app, ["match", "train", "--database-url", url, "--no-labels"])
    assert result.exit_code == 0, result.output
    assert "match model version 1" in result.output and "EM same name" in result.output
    assert "model version 1 is current" in result.output
    result = runner.invoke(app, ["match", "run", "--database-url", url, "--train"])
    assert result.exit_code == 0, result.output
    assert "match model version 2" in result.output
    assert re.search(r"model version\W+2\b", result.output.split("match run")[1])
