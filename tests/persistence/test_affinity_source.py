"""The affinity batch over the stored order lines: the database sums the spend per
customer and product (``SqlOrderLineSource.spend_matrix``) and the results are written
as columns (COPY on PostgreSQL); both give what the line-by-line path gives, on both
databases, whatever the product names hold."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, inspect
from sqlalchemy.exc import IntegrityError

from custmaster.bootstrap import Container
from custmaster.persistence.affinity_source import SqlOrderLineSource
from custmaster.persistence.tables_activity import activity_order_lines
from custmaster.persistence.tables_profile_rules import customer_affinity
from custmaster.services.profile.affinity import (
    AffinityOptions,
    OrderLine,
    affinity,
    run_affinity,
)
from tests.factories import create, minimal

#: names COPY's text format must escape, and plain ones
PRODUCTS = ["tab\there", "back\\slash", "new\nline", "plain", "ünïcode", "P1", "P2", "P3"]


def _lines(customers: list[UUID], seed: int) -> list[OrderLine]:
    """Random baskets: several lines of one product per customer, some negative (a
    correction), amounts in quarters (their sums are exact in any order)."""
    rng = random.Random(seed)
    lines = []
    for customer in customers:
        for product in rng.sample(PRODUCTS, rng.randint(1, 5)):
            for _ in range(rng.randint(1, 3)):
                amount = rng.randint(-8, 400) / 4
                group = None if product == "plain" else f"G-{product[:1]}"
                lines.append(OrderLine(customer, product, group, 1, amount))
    return lines


def _store(container: Container, lines: list[OrderLine]) -> None:
    rows = [
        {
            "event_id": f"e{i}",
            "line_no": 0,
            "customer_id": line.customer_id,
            "legal_entity": "US01",
            "order_id": f"SO-{i}",
            "product": line.product,
            "product_group": line.product_group or "",
            "quantity": line.quantity,
            "amount": line.amount,
            "currency": "USD",
            "order_date": date(2026, 11, 2),
        }
        for i, line in enumerate(lines)
    ]
    with container.engine.begin() as connection:
        connection.execute(delete(activity_order_lines))
        connection.execute(insert(activity_order_lines), rows)


def test_the_stored_lines_summed_by_the_database_give_the_line_by_line_results(
    client: TestClient, container: Container
) -> None:
    ids = [UUID(create(client, minimal(f"Aff {i}", f"ap@aff{i}.example"))["id"]) for i in range(40)]
    lines = _lines(ids, seed=3)
    _store(container, lines)
    options = AffinityOptions(min_support=2, neighbours=3, chunk=7)
    source = SqlOrderLineSource(container.engine, activity_order_lines, batch=9)
    stored = dict(affinity(source, options))
    # the line-by-line path numbers products by first appearance: give them by name, as
    # the database orders them, so ties in a ranking go the same way; product groups
    # as stored (the empty group of "plain")
    in_memory = sorted(lines, key=lambda line: line.product)
    expected = dict(
        affinity(
            [
                OrderLine(line.customer_id, line.product, line.product_group or "", 1, line.amount)
                for line in in_memory
            ],
            options,
        )
    )
    assert stored == expected
    assert any(item.kind == "similar" for items in stored.values() for item in items)
    assert any(item.kind == "over" for items in stored.values() for item in items)

    run = run_affinity(container.uow(), source, options)
    assert run.customers == len({line.customer_id for line in lines})
    assert run.rows == sum(len(items) for items in stored.values())
    with container.uow().read_only() as uow:
        for customer_id, items in stored.items():
            assert uow.affinity.of(customer_id) == sorted(items, key=lambda i: (i.kind, i.rank))
    with container.engine.begin() as connection:
        connection.execute(delete(activity_order_lines))


def test_a_run_replaces_the_results_and_keeps_the_table_keys(
    client: TestClient, container: Container
) -> None:
    """PostgreSQL writes a run into a fresh table swapped for the stored one: the primary
    key and the foreign key (on delete cascade) come back under their names and nothing
    is left behind. SQLite deletes and inserts."""
    ids = [
        UUID(create(client, minimal(f"Swap {i}", f"ap@swap{i}.example"))["id"]) for i in range(9)
    ]
    options = AffinityOptions(min_support=2, neighbours=3)
    first = run_affinity(container.uow(), _lines(ids, seed=5), options)
    second = run_affinity(container.uow(), _lines(ids[:4], seed=6), options)
    assert 0 < second.rows < first.rows
    with container.uow().read_only() as uow:
        assert uow.affinity.of(ids[-1]) == [] and uow.affinity.of(ids[0])
    schema = inspect(container.engine)
    assert "customer_affinity_next" not in schema.get_table_names()
    key = schema.get_pk_constraint("customer_affinity")
    assert key["constrained_columns"] == ["customer_id", "kind", "rank"]
    (foreign,) = schema.get_foreign_keys("customer_affinity")
    assert foreign["referred_table"] == "customers"
    assert foreign["constrained_columns"] == ["customer_id"]
    if container.engine.dialect.name == "postgresql":
        assert key["name"] == "pk_customer_affinity"
        assert foreign["name"] == "fk_customer_affinity_customer_id_customers"
        assert foreign["options"].get("ondelete") == "CASCADE"
        # the keys hold: no second rank 1, no unknown customer
        for customer, rank in ((ids[0], 1), (uuid4(), 9)):
            with pytest.raises(IntegrityError), container.engine.begin() as connection:
                connection.execute(
                    insert(customer_affinity),
                    [
                        {
                            "customer_id": customer,
                            "kind": "over",
                            "rank": rank,
                            "product": "x",
                            "score": 1.0,
                            "computed_at": datetime.now(UTC),
                        }
                    ],
                )
