"""The effective view's point read: the aggregate with the entity and hierarchy flags
in one statement on PostgreSQL; short reads without a transaction leave the pooled
connection transactional for the next unit of work."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.persistence.customer_reads import AsyncCustomerReads, async_reads
from custmaster.persistence.customers import SqlCustomerRepository
from custmaster.persistence.engine import make_engine
from custmaster.persistence.tables import customers
from custmaster.persistence.uow import SqlUnitOfWork
from tests.factories import acme, create, minimal

API = "/api/v1"


def _customer(client: TestClient, name: str, **extra: Any) -> UUID:
    slug = name.lower().replace(" ", "-")
    return UUID(create(client, minimal(name, f"ap@{slug}.example", **extra))["id"])


def test_get_for_view_reads_the_aggregate_and_the_entity_and_parent_flags(
    client: TestClient, container: Container
) -> None:
    parent = _customer(client, "Parent Group", overrides={"DE01": {"payment_terms": "NET60"}})
    child = _customer(client, "Child Shop")
    body = {"parent_id": str(parent), "child_id": str(child), "valid_from": "2030-01-01"}
    assert client.post(f"{API}/hierarchies/legal/links", json=body).status_code == 201
    with container.engine.connect() as connection:
        repository = SqlCustomerRepository(connection)
        found = repository.get_for_view(parent, "DE01", "legal")
        assert found is not None
        customer, entity_exists, has_parent = found
        assert customer == repository.get(parent)  # the same aggregate as the plain read
        assert customer.overrides["DE01"].payment_terms == "NET60"
        assert (entity_exists, has_parent) == (True, False)
        assert repository.get_for_view(parent, "XX99", "legal") is not None
        assert repository.get_for_view(parent, "XX99", "legal")[1:] == (False, False)  # type: ignore[index]
        # a link counts whatever its dates (the ancestor walk checks them)
        assert repository.get_for_view(child, "GB01", "legal")[1:] == (True, True)  # type: ignore[index]
        assert repository.get_for_view(child, "GB01", "sales")[1:] == (True, False)  # type: ignore[index]
        assert repository.get_for_view(uuid4(), "DE01", "legal") is None


def test_an_effective_view_of_an_unknown_or_absorbed_customer(client: TestClient) -> None:
    missing = client.get(f"{API}/customers/{uuid4()}", params={"entity": "DE01"})
    assert missing.status_code == 404
    survivor = _customer(client, "Survivor GmbH")
    absorbed = _customer(client, "Absorbed GmbH")
    merged = client.post(
        f"{API}/customers/{survivor}/merge", json={"absorbed_ids": [str(absorbed)]}
    )
    assert merged.status_code == 200, merged.text
    gone = client.get(f"{API}/customers/{absorbed}", params={"entity": "DE01"})
    assert gone.status_code == 410


def test_an_autocommit_read_leaves_the_pooled_connection_transactional(
    container: Container, client: TestClient
) -> None:
    if container.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite read-only units of work keep their transaction")
    known = _customer(client, "Pooled Reads AG")
    url = container.engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one connection, reused
    try:
        uow = SqlUnitOfWork(engine)
        with uow.read_only(autocommit=True):
            assert uow.customers.get(known) is not None
            raw = uow._connection.connection.driver_connection  # type: ignore[union-attr]
            assert raw is not None and raw.autocommit
        before = _count(engine)
        with pytest.raises(RuntimeError), SqlUnitOfWork(engine) as writer:
            assert not writer._connection.connection.driver_connection.autocommit  # type: ignore[union-attr]
            writer._connection.execute(  # type: ignore[union-attr]
                customers.update().where(customers.c.id == known).values(notes="rolled back")
            )
            raise RuntimeError("roll back")
        assert _count(engine) == before
        with engine.connect() as connection:
            notes = connection.execute(
                select(customers.c.notes).where(customers.c.id == known)
            ).scalar_one()
        assert notes != "rolled back"
    finally:
        engine.dispose()


def _count(engine: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(customers)).scalar_one())


def test_the_event_loop_read_answers_as_the_repository(
    client: TestClient, container: Container
) -> None:
    shared = async_reads(container.engine, 2)
    if container.is_sqlite:
        assert shared is None  # SQLite reads in a thread
        return
    assert shared is not None and async_reads(container.engine, 2) is shared  # one per engine
    reads = AsyncCustomerReads(container.engine, 2)
    rich = UUID(create(client, acme())["id"])
    parent = _customer(client, "Parent Holding")
    child = _customer(client, "Child Outlet")
    body = {"parent_id": str(parent), "child_id": str(child), "valid_from": "2030-01-01"}
    assert client.post(f"{API}/hierarchies/legal/links", json=body).status_code == 201
    cases = [(rich, "DE01"), (rich, "XX99"), (child, "GB01"), (parent, "US01"), (uuid4(), "DE01")]

    async def read_all() -> list[Any]:
        # more reads than connections at once: they wait for one and reuse it
        return await asyncio.gather(*(reads.get_for_view(c, e, "legal") for c, e in cases * 3))

    found = asyncio.run(read_all())
    again = asyncio.run(read_all())  # another event loop reuses the idle connections
    with container.engine.connect() as connection:
        repository = SqlCustomerRepository(connection)
        expected = [repository.get_for_view(c, e, "legal") for c, e in cases * 3]
    assert found == expected == again
    assert found[0] is not None and found[0][0].addresses and found[0][0].overrides
    assert [f[1:] if f else None for f in found[: len(cases)]] == [
        (True, False),
        (False, False),
        (True, True),
        (True, False),
        None,
    ]
    reads.close()
