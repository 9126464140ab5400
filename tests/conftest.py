"""Database fixtures: every database test runs on SQLite, and on PostgreSQL when
CUSTMASTER_TEST_POSTGRES_URL is set (CI sets it). The real migrations run once per
session and database; each test starts from empty tables.

What every test used to pay again is paid once per session and database: the reference
data (and the user "tester") are made once through the API and kept as a snapshot of
the rows they wrote (``restore``: SQLite keeps the raw values in memory, PostgreSQL in a
schema of its own); one application object per container is reused while its settings
are unchanged (``_app_for``).

The run caches bytecode in ``__pycache__`` (git-ignored) even where PYTHONDONTWRITEBYTECODE
is set: every xdist worker imports the ~580 modules of src/ and tests/ again, and compiling
them (with pytest's assertion rewriting) costs each ~8 s of CPU per run without the cache.
Python checks a cached file against its source's modification time and size, as it does
by default. CUSTMASTER_TEST_NO_BYTECODE=1 leaves the interpreter's setting alone."""

from __future__ import annotations

import os
import sys

if not os.environ.get("CUSTMASTER_TEST_NO_BYTECODE"):
    sys.dont_write_bytecode = False  # before the imports below: src/ is compiled once

import functools
import gc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, MetaData, Table, text

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.persistence.audit_guard import suspended_guard
from custmaster.persistence.engine import make_engine
from custmaster.persistence.matching import forget_latest_run
from custmaster.persistence.tables import sequences
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.auth import add_user
from tests.factories import seed_reference
from tests.nats_server import TEST_NATS_URL, NatsServer, answers, nats_binary

POSTGRES_URL = os.environ.get("CUSTMASTER_TEST_POSTGRES_URL")

#: The cyclic collector's youngest generation is collected every 10,000 net allocations
#: instead of 700 (see "What keeps it fast" in docs/testing.md): a test process holds
#: ~500,000 objects (the modules, the collected tests, the OpenAPI schemas), and with the
#: default every few dozen requests ended in a full collection walking all of them.
GC_THRESHOLDS = (10_000, 10, 10)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("CUSTMASTER_TEST_DEFAULT_GC"):
        gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection made (the imported modules, the test items) lives for the whole run:
    out of the full collections' walk (``gc.freeze``), after a last full collection so
    that no garbage is kept."""
    if not os.environ.get("CUSTMASTER_TEST_DEFAULT_GC"):
        gc.collect()
        gc.freeze()


DIRECT_POLICY = Path(__file__).parent / "policies" / "direct.yaml"

#: typer's ``CliRunner.invoke`` turns the Typer app into its click command at every call,
#: which cost about a third of the CPU of tests/cli (22.5 s against 15.4 s, twice each way);
#: built once per app here, as the ``custmaster`` process does once per run. The command
#: is the same: typer builds it from the app's registered commands, which no test changes.
typer.testing._get_command = functools.cache(typer.testing._get_command)  # type: ignore[attr-defined]


def _own_postgres_schema(url: str, *, drop_only: bool = False) -> str:
    """A schema of this test process (several runs may share the database); returns the
    URL whose connections use it."""
    schema = f"custmaster_test_{os.getpid()}"
    engine = build_container(Settings(database_url=url), migrate=False).engine
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if not drop_only:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}{NO_COMMIT_FLUSH}"


#: The tests' PostgreSQL connections commit without waiting for the WAL to reach the disk
#: (``synchronous_commit=off``: what a commit makes visible, and when, is the same; only a
#: crash of the server could lose the last commits, and the tests crash no server). Each
#: commit waited ~1 ms for the flush, longer while a bench on the same server writes.
NO_COMMIT_FLUSH = "%20-csynchronous_commit%3Doff"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def container(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need CUSTMASTER_TEST_POSTGRES_URL")
        url = _own_postgres_schema(POSTGRES_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'custmaster.db'}"
    settings = Settings(
        database_url=url,
        local_principal_id="system",
        approval_policy=DIRECT_POLICY,
        auth_cache_seconds=0,  # revocations take effect at once in the tests
        certificate_check_interval_seconds=0,  # tests/api/test_certificate_expiry.py turns it on
    )
    built = build_container(settings, migrate=True)
    yield built
    built.engine.dispose()
    if request.param == "postgres" and POSTGRES_URL:
        _drop_snapshots(POSTGRES_URL)
        _own_postgres_schema(POSTGRES_URL, drop_only=True)


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


def _quoted(connection: Connection, table: Table) -> str:
    return connection.dialect.identifier_preparer.format_table(table)


def _columns(connection: Connection, table: Table) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return ", ".join(quote(column.name) for column in table.columns)


def clean(container: Container) -> None:
    """Empty every table (DELETE beats TRUNCATE on a handful of rows); restore the
    sequences the migrations seeded. PostgreSQL: the DELETEs go in one round trip."""
    tables, seeds = _schema(container)
    with container.engine.begin() as connection, suspended_guard(connection):
        deletes = [f"DELETE FROM {_quoted(connection, table)}" for table in tables]
        if connection.dialect.name == "postgresql":
            # no parameters: psycopg sends the statements as one simple query
            connection.exec_driver_sql("; ".join(deletes))
        else:
            for delete in deletes:
                connection.exec_driver_sql(delete)
        connection.execute(sequences.insert(), seeds)
    forget_latest_run(container.engine)


@dataclass
class _Snapshot:
    """The rows a state's ``build`` wrote into empty tables: per table (parents first)
    with rows, the raw values (SQLite) or a copy in ``schema`` (PostgreSQL)."""

    key: str | None
    tables: list[Table]
    rows: dict[str, list[tuple[Any, ...]]]
    schema: str | None


_SNAPSHOTS: dict[tuple[int, str], _Snapshot] = {}
#: the PostgreSQL schemas holding snapshots, dropped with the session's container
_SNAPSHOT_SCHEMAS: list[str] = []


def restore(
    container: Container, state: str, build: Callable[[Container], str | None]
) -> str | None:
    """Put the rows of ``state`` into the tables ``clean`` has just emptied: the rows
    ``build(container)`` writes into empty tables, which runs once per session and
    database (later calls copy what it wrote). Returns what ``build`` returned (an API
    key, say). The in-process caches clean() resets are reset again."""
    snapshot = _SNAPSHOTS.get((id(container), state))
    if snapshot is None:
        snapshot = _SNAPSHOTS[(id(container), state)] = _take(container, state, build)
    with container.engine.begin() as connection:
        # clean() seeded ``sequences``: the state's rows instead
        statements = [f"DELETE FROM {_quoted(connection, sequences)}"]
        if snapshot.schema is not None:
            # as the rows were (no triggers; parents come first anyway), in one round trip
            statements.insert(0, "SET LOCAL session_replication_role = replica")
            for table in snapshot.tables:
                columns = _columns(connection, table)
                statements.append(
                    f"INSERT INTO {_quoted(connection, table)} ({columns}) "
                    f"SELECT {columns} FROM {snapshot.schema}.{_quoted(connection, table)}"
                )
            connection.exec_driver_sql("; ".join(statements))
        else:  # SQLite: the raw values back (the audit log's guard refuses no INSERT)
            connection.exec_driver_sql(statements[0])
            for table in snapshot.tables:
                marks = ", ".join("?" for _ in table.columns)
                connection.exec_driver_sql(
                    f"INSERT INTO {_quoted(connection, table)} ({_columns(connection, table)}) "
                    f"VALUES ({marks})",
                    snapshot.rows[table.name],
                )
    forget_latest_run(container.engine)
    return snapshot.key


def _take(container: Container, state: str, build: Callable[[Container], str | None]) -> _Snapshot:
    clean(container)
    key = build(container)
    tables = list(reversed(_schema(container)[0]))  # parents first
    with container.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for table in tables:
                found = connection.exec_driver_sql(
                    f"SELECT {_columns(connection, table)} FROM {_quoted(connection, table)}"
                ).all()
                if found:
                    rows[table.name] = [tuple(row) for row in found]
            taken = _Snapshot(key, [t for t in tables if t.name in rows], rows, None)
        else:
            taken = _copied(connection, key, tables)
    clean(container)
    return taken


def _copied(connection: Connection, key: str | None, tables: list[Table]) -> _Snapshot:
    """PostgreSQL: a copy of every table with rows in a schema of this process."""
    schema = f"custmaster_snap_{os.getpid()}_{len(_SNAPSHOT_SCHEMAS)}"
    _SNAPSHOT_SCHEMAS.append(schema)
    connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    kept = []
    for table in tables:
        name = _quoted(connection, table)
        if connection.exec_driver_sql(f"SELECT EXISTS (SELECT FROM {name})").scalar():
            connection.exec_driver_sql(f"CREATE TABLE {schema}.{name} AS TABLE {name}")
            kept.append(table)
    return _Snapshot(key, kept, {}, schema)


def _drop_snapshots(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for schema in _SNAPSHOT_SCHEMAS:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()
    _SNAPSHOT_SCHEMAS.clear()


def new_user(
    container: Container, user_id: str, roles: list[str], entities: list[str] | None = None
) -> str:
    """Create a user directly through the service; returns its API key."""
    return add_user(
        container.uow(), container.system_principal(), user_id, roles=roles, entities=entities
    )


_APPS: dict[tuple[int, bool | None], tuple[Container, Engine, str, FastAPI]] = {}


def _app_for(container: Container, *, fast_path: bool | None = None) -> FastAPI:
    """``create_app(container, fast_path=fast_path)``, made once per container while the
    container's engine and settings stay as they were (making one costs ~0.1 s of CPU);
    what a test may have changed on it (dependency overrides, the fast path's counts) is
    reset."""
    settings = container.settings.model_dump_json()
    found = _APPS.get((id(container), fast_path))
    if (
        found is None
        or found[0] is not container
        or found[1] is not container.engine
        or found[2] != settings
    ):
        made = create_app(container, fast_path=fast_path)
        found = _APPS[(id(container), fast_path)] = (container, container.engine, settings, made)
    app = found[3]
    app.dependency_overrides.clear()
    app.state.fast_path_answers.clear()
    return app


@pytest.fixture
def app(container: Container) -> FastAPI:
    clean(container)
    return _app_for(container)


def _tester(container: Container) -> str:
    return new_user(container, "tester", ["admin"])


def _tester_and_reference(container: Container) -> str:
    key = restore(container, "tester", _tester)
    assert key is not None
    with TestClient(_app_for(container), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        seed_reference(client)
    return key


def _client_in(app: FastAPI, key: str | None) -> TestClient:
    assert key is not None
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture
def bare_client(app: FastAPI, container: Container) -> Iterator[TestClient]:
    """An API client over empty tables (no reference data), authenticated as the user
    "tester" with the admin role. Under the tests' policy every change applies at once."""
    with _client_in(app, restore(container, "tester", _tester)) as client:
        yield client


@pytest.fixture
def client_as(app: FastAPI, container: Container) -> Iterator[Callable[..., TestClient]]:
    """``client_as("ar_manager")`` or ``client_as("ctrl", roles=["controller"],
    entities=["DE01"])``: another authenticated client on the same application."""
    opened: list[TestClient] = []

    def make(
        user_id: str, *, roles: list[str] | None = None, entities: list[str] | None = None
    ) -> TestClient:
        key = new_user(container, user_id, roles or [user_id], entities)
        client = TestClient(app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {key}"
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def governed(container: Container) -> Iterator[Container]:
    """The shipped default approval policy instead of the tests' direct one."""
    direct = container.policy
    container.policy = load_policy(None)
    yield container
    container.policy = direct


@pytest.fixture
def client(app: FastAPI, container: Container) -> Iterator[TestClient]:
    """``bare_client`` with the reference data of DESIGN.md §4 in place (made through the
    API once per session and database, then copied: ``restore``)."""
    key = restore(container, "reference", _tester_and_reference)
    app.state.fast_path_answers.clear()  # the first one made the reference data through it
    with _client_in(app, key) as client:
        yield client


@pytest.fixture
def samples_dir() -> Path:
    """The import-format samples: CUSTMASTER_TEST_SAMPLES, else ``../shared/samples`` beside
    the checkout (the project's workspace layout); a test needing them skips without them."""
    default = Path(__file__).resolve().parents[2] / "shared" / "samples"
    if not default.is_dir():  # a clone elsewhere on the project's machine
        default = Path("/work/shared/samples")
    found = Path(os.environ.get("CUSTMASTER_TEST_SAMPLES", default))
    if not found.is_dir():
        pytest.skip(f"no import-format samples at {found} (set CUSTMASTER_TEST_SAMPLES)")
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database for migration tests: a fresh SQLite file, or a throw-away
    PostgreSQL schema."""
    if request.param == "sqlite":
        built = make_engine(f"sqlite:///{tmp_path / 'mig.db'}")
        yield built
        built.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CUSTMASTER_TEST_POSTGRES_URL")
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    built = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}{NO_COMMIT_FLUSH}")
    try:
        yield built
    finally:
        built.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["fast_path", "route"])
def caller(
    request: pytest.FixtureRequest, client: TestClient, container: Container
) -> Iterator[TestClient]:
    """``client`` (the fast path on, as in production) or the same caller on an app
    without the fast path (every request takes its route): a test runs once each way."""
    if request.param == "fast_path":
        yield client
        return
    with TestClient(_app_for(container, fast_path=False), raise_server_exceptions=False) as routed:
        routed.headers["Authorization"] = client.headers["Authorization"]
        yield routed


def fast_path_answers(client: TestClient) -> Counter[str]:
    """How many requests the fast path (``api.fast_path``) of ``client``'s app answered,
    per entry (``"PATCH /api/v1/customers/{customer_id}"``)."""
    app: Any = client.app
    answers: Counter[str] = app.state.fast_path_answers
    return answers


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS JetStream server the tests share: CUSTMASTER_TEST_NATS_URL (default
    nats://127.0.0.1:4222; .ci/run starts one when nothing answers). Use subjects and
    stream names unique to the test and delete them after."""
    if not answers(TEST_NATS_URL):
        pytest.skip(f"no NATS server at {TEST_NATS_URL} (set CUSTMASTER_TEST_NATS_URL)")
    return TEST_NATS_URL


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A ``nats-server -js`` of the test's own (free port, own store): the test may
    ``stop()`` and ``start()`` it."""
    if nats_binary() is None:
        pytest.skip("nats-server is not installed")
    with NatsServer(tmp_path / "jetstream") as server:
        yield server
