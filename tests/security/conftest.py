"""Fixtures of the security suite: one application and one client per role for a whole
module (the probes read, or write nothing that passes validation), on both databases.

The users of the roles and the planted world are made through the API once per session
and database, then copied into each module's empty tables (``tests.conftest.restore``):
every module starts from the same rows, as when each planted its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.bootstrap import Container
from custmaster.domain.permissions import Role
from tests.conftest import clean, new_user, restore
from tests.security.world import World, plant


@pytest.fixture(scope="module")
def sec_app(container: Container) -> Iterator[FastAPI]:
    """An application over empty tables, shared by the tests of a module (which leaves
    them empty again for whatever runs next)."""
    clean(container)
    yield create_app(container)
    clean(container)


def _client(app: FastAPI, key: str | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    if key is not None:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


def _role_users(container: Container) -> str:
    """The users ``sec-<role>``: their API keys by role, as JSON."""
    return json.dumps(
        {role.value: new_user(container, f"sec-{role.value}", [role.value]) for role in Role}
    )


@pytest.fixture(scope="module")
def role_clients(sec_app: FastAPI, container: Container) -> Iterator[dict[Role, TestClient]]:
    """An unscoped client per role (user id ``sec-<role>``), over otherwise empty tables."""
    clean(container)
    keys = json.loads(restore(container, "security-users", _role_users) or "{}")
    clients = {role: _client(sec_app, keys[role.value]) for role in Role}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture(scope="module")
def admin(role_clients: dict[Role, TestClient]) -> TestClient:
    return role_clients[Role.ADMIN]


@pytest.fixture(scope="module")
def anonymous(sec_app: FastAPI) -> Iterator[TestClient]:
    client = _client(sec_app, None)
    yield client
    client.close()


@pytest.fixture(scope="module")
def world(
    sec_app: FastAPI,
    role_clients: dict[Role, TestClient],
    container: Container,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    """Real objects to fill path parameters with (tests.security.world), over the users of
    ``role_clients`` (the same keys): planted once per session and database, copied into
    this module's emptied tables."""

    def planted(container: Container) -> str:
        restore(container, "security-users", _role_users)
        with pytest.MonkeyPatch.context() as patch:
            imports: Path = tmp_path_factory.mktemp("imports")
            patch.setenv("CUSTMASTER_IMPORT_DIR", str(imports))
            made = plant(role_clients[Role.ADMIN], role_clients[Role.SALES_REP], container)
        return json.dumps(asdict(made))

    clean(container)
    found = json.loads(restore(container, "security-world", planted) or "{}")
    return World(values=found["values"], codes=found["codes"])


@pytest.fixture(scope="module")
def gb01(sec_app: FastAPI, container: Container, world: World) -> Iterator[TestClient]:
    """An admin scoped to GB01 (planted with the world): every permission, one entity."""
    client = _client(sec_app, new_user(container, "sec-gb01-admin", ["admin"], ["GB01"]))
    yield client
    client.close()
