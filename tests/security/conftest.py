"""Fixtures of the security suite: one application and one client per role for a whole
module (the probes read, or write nothing that passes validation), on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.bootstrap import Container
from custmaster.domain.permissions import Role
from tests.conftest import clean, new_user
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


@pytest.fixture(scope="module")
def role_clients(sec_app: FastAPI, container: Container) -> Iterator[dict[Role, TestClient]]:
    """An unscoped client per role (user id ``sec-<role>``)."""
    clients = {
        role: _client(sec_app, new_user(container, f"sec-{role.value}", [role.value]))
        for role in Role
    }
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
    role_clients: dict[Role, TestClient],
    container: Container,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    """Real objects to fill path parameters with (tests.security.world)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path_factory.mktemp("imports")))
        return plant(role_clients[Role.ADMIN], role_clients[Role.SALES_REP], container)


@pytest.fixture(scope="module")
def gb01(sec_app: FastAPI, container: Container, world: World) -> Iterator[TestClient]:
    """An admin scoped to GB01 (planted with the world): every permission, one entity."""
    client = _client(sec_app, new_user(container, "sec-gb01-admin", ["admin"], ["GB01"]))
    yield client
    client.close()
