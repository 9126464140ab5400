"""Database fixtures: every database test runs on SQLite, and on PostgreSQL when
CUSTMASTER_TEST_POSTGRES_URL is set (CI sets it). The real migrations run once per
session and database; each test starts from empty tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, text

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.persistence.tables import sequences
from tests.factories import seed_reference

POSTGRES_URL = os.environ.get("CUSTMASTER_TEST_POSTGRES_URL")


def _reset_postgres_schema(url: str) -> None:
    container = build_container(Settings(database_url=url), migrate=False)
    with container.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    container.engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def container(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need CUSTMASTER_TEST_POSTGRES_URL")
        _reset_postgres_schema(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'custmaster.db'}"
    built = build_container(Settings(database_url=url, local_principal_id="tester"), migrate=True)
    yield built
    built.engine.dispose()


_SCHEMAS: dict[int, tuple[list[Table], list[dict[str, object]]]] = {}


def _schema(container: Container) -> tuple[list[Table], list[dict[str, object]]]:
    """Every table the migrations made (children first) and the rows the migrations
    seeded into ``sequences``: reflected once per database."""
    key = id(container)
    if key not in _SCHEMAS:
        reflected = MetaData()
        reflected.reflect(bind=container.engine)
        tables = [t for t in reversed(reflected.sorted_tables) if t.name != "alembic_version"]
        with container.engine.connect() as connection:
            seeds = [dict(r._mapping) for r in connection.execute(sequences.select())]
        _SCHEMAS[key] = (tables, seeds)
    return _SCHEMAS[key]


def clean(container: Container) -> None:
    """Empty every table (DELETE beats TRUNCATE on a handful of rows); restore the
    sequences the migrations seeded."""
    tables, seeds = _schema(container)
    with container.engine.begin() as connection:
        for table in tables:
            connection.execute(table.delete())
        connection.execute(sequences.insert(), seeds)


@pytest.fixture
def bare_client(container: Container) -> Iterator[TestClient]:
    """An API client over empty tables (no reference data)."""
    clean(container)
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(bare_client: TestClient) -> TestClient:
    """An API client with the reference data of DESIGN.md §4 in place."""
    seed_reference(bare_client)
    return bare_client


@pytest.fixture
def samples_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "samples"
