"""Customer-product affinity on both databases: the batch over an in-memory order-line
source and through ``custmaster profile affinity --lines``, read back through
``GET /api/v1/customers/{id}/affinity``; scoped users may not read it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli_app
from custmaster.services.profile.affinity import (
    AffinityOptions,
    OrderLine,
    affinity,
    run_affinity,
)
from tests.factories import create, minimal
from tests.profile.events import order

API = "/api/v1/customers"
Clients = Callable[..., TestClient]


def baskets(customers: list[UUID]) -> list[OrderLine]:
    """Half buy brakes with pads (and a little oil), half buy tyres with rims; every
    customer but the first of each half also buys the third product of its kind."""
    lines = []
    for i, customer in enumerate(customers):
        kind = ("brakes", "pads", "discs") if i % 2 else ("tyres", "rims", "valves")
        group = "braking" if i % 2 else "wheels"
        bought = kind if i > 1 else kind[:2]
        for product in bought:
            lines.append(OrderLine(customer, product, group, 1, 100.0))
        lines.append(OrderLine(customer, "oil", "fluids", 1, 5.0 + i))
    return lines


def test_similar_customers_suggest_what_is_missing() -> None:
    customers = [uuid4() for _ in range(12)]
    found = dict(affinity(baskets(customers), AffinityOptions(min_support=2)))
    first_wheels, first_brakes = found[customers[0]], found[customers[1]]
    assert [i.product for i in first_wheels if i.kind == "similar"][:1] == ["valves"]
    assert [i.product for i in first_brakes if i.kind == "similar"][:1] == ["discs"]
    over = [i for i in found[customers[5]] if i.kind == "over"]
    assert over and over[0].product_group == "braking" and over[0].score > 1
    assert "oil" not in {i.product for i in over[:1]}


def test_the_batch_is_stored_and_read_through_the_api(
    client: TestClient, container: Container, client_as: Clients
) -> None:
    ids = [
        UUID(create(client, minimal(f"Buyer {i}", f"ap@buyer{i}.example"))["id"]) for i in range(8)
    ]
    run = run_affinity(container.uow(), baskets(ids), AffinityOptions(min_support=2))
    assert run.customers == 8 and run.rows > 8
    body = client.get(f"{API}/{ids[0]}/affinity").json()
    assert body["similar"][0]["product"] == "valves" and body["computed_at"]
    assert [i["rank"] for i in body["over"]] == list(range(1, len(body["over"]) + 1))
    scoped = client_as("hans", roles=["viewer"], entities=["DE01"])
    assert scoped.get(f"{API}/{ids[0]}/affinity").status_code == 403
    assert client.get(f"{API}/{uuid4()}/affinity").status_code == 404
    # a second run replaces the first
    run_affinity(container.uow(), baskets(ids[:4]), AffinityOptions(min_support=1))
    assert client.get(f"{API}/{ids[6]}/affinity").json()["similar"] == []


def test_the_cli_reads_order_lines_from_csv(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    ids = [UUID(create(client, minimal(f"Csv {i}", f"ap@csv{i}.example"))["id"]) for i in range(6)]
    path = tmp_path / "lines.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "product", "product_group", "quantity", "amount"])
        for line in baskets(ids):
            writer.writerow(
                [line.customer_id, line.product, line.product_group, line.quantity, line.amount]
            )
    result = CliRunner().invoke(
        cli_app,
        [
            "profile",
            "affinity",
            "--lines",
            str(path),
            "--min-support",
            "2",
            "--database-url",
            container.settings.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "affinity: 6 customers" in result.output
    assert client.get(f"{API}/{ids[0]}/affinity").json()["similar"][0]["product"] == "valves"
    missing = CliRunner().invoke(
        cli_app, ["profile", "affinity", "--database-url", container.settings.database_url]
    )
    assert missing.exit_code == 1 and "no stored order lines" in missing.output


def test_the_cli_reads_the_order_lines_activity_intake_stored(
    client: TestClient, container: Container
) -> None:
    """Without --lines the batch reads ``activity_order_lines``, kept by activity intake."""
    ids = [
        UUID(create(client, minimal(f"Stored {i}", f"ap@stored{i}.example"))["id"])
        for i in range(6)
    ]
    events = [
        order(
            str(line.customer_id),
            date(2026, 11, 2),
            line.amount,
            product=line.product,
            group=line.product_group or "",
        )
        for line in baskets(ids)
    ]
    response = client.post("/api/v1/activities", json=events)
    assert response.status_code == 200 and response.json()["applied"] == len(events)
    result = CliRunner().invoke(
        cli_app,
        [
            "profile",
            "affinity",
            "--min-support",
            "2",
            "--database-url",
            container.settings.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "affinity: 6 customers" in result.output
    assert client.get(f"{API}/{ids[0]}/affinity").json()["similar"][0]["product"] == "valves"
