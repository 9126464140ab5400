"""Customer-product affinity on both databases: the batch over an in-memory order-line
source and through ``custmaster profile affinity --lines``, read back through
``GET /api/v1/customers/{id}/affinity``; scoped users may not read it."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import date
from fractions import Fraction
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
    for stage in ("read", "neighbours", "rank", "write"):  # where the time went
        assert f"  {stage}: " in result.output
    assert client.get(f"{API}/{ids[0]}/affinity").json()["similar"][0]["product"] == "valves"


def _reference(
    lines: list[OrderLine], top: int, min_support: int, neighbours: int
) -> dict[UUID, dict[str, list[tuple[str, Fraction]]]]:
    """The documented method in exact arithmetic, one customer and product at a time:
    each customer's candidates by kind with their exact scores, best first (ties: the
    product that appeared first), before the cut to ``top``."""
    products = list(dict.fromkeys(line.product for line in lines))
    spend: dict[UUID, dict[str, Fraction]] = {}
    for line in lines:
        own = spend.setdefault(line.customer_id, {})
        own[line.product] = own.get(line.product, Fraction(0)) + max(
            Fraction(line.amount), Fraction(0)
        )
    totals = {c: sum(own.values(), Fraction(0)) for c, own in spend.items()}
    by_product = {
        p: sum((own.get(p, Fraction(0)) for own in spend.values()), Fraction(0)) for p in products
    }
    share = {p: v / sum(by_product.values()) for p, v in by_product.items()}
    ordered = sorted(totals.values())
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    pseudo = median  # prior 1.0
    bought = {c: {p for p, v in own.items() if v > 0} for c, own in spend.items()}
    counts = {p: sum(p in b for b in bought.values()) for p in products}
    lift: dict[str, list[tuple[str, Fraction]]] = {}
    for i in products:
        partners = []
        for j in products:
            together = sum(i in b and j in b for b in bought.values())
            if i != j and together >= min_support:
                partners.append((j, Fraction(together * len(spend), counts[i] * counts[j])))
        partners.sort(key=lambda item: (-item[1], products.index(item[0])))
        lift[i] = partners[:neighbours]
    found: dict[UUID, dict[str, list[tuple[str, Fraction]]]] = {}
    for c, own in spend.items():
        over = [
            (p, (a + pseudo * share[p]) / (totals[c] + pseudo) / share[p])
            for p, a in own.items()
            if share[p] > 0 and totals[c] > 0
        ]
        similar: dict[str, Fraction] = {}
        for p in bought[c]:
            for q, value in lift[p]:
                if q not in bought[c]:
                    similar[q] = similar.get(q, Fraction(0)) + value
        rank = products.index
        found[c] = {
            "over": sorted(over, key=lambda item: (-item[1], rank(item[0]))),
            "similar": sorted(similar.items(), key=lambda item: (-item[1], rank(item[0]))),
        }
    return found


def test_the_cli_and_the_api_give_the_documented_ranking_ties_included(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    """Baskets from few products and amounts, so many scores tie and most customers have
    more candidates than ``--top``: every rank read through the API holds the reference's
    score at that rank (exact arithmetic), and the reference's product wherever that
    score is not tied; only scores above 1 are "over"."""
    rng = random.Random(19)
    ids = [
        UUID(create(client, minimal(f"Rank {i}", f"ap@rank{i}.example"))["id"]) for i in range(24)
    ]
    names = [f"R{n}" for n in range(14)]
    lines = [
        OrderLine(
            customer, product, f"G{names.index(product) % 3}", 1, rng.choice([-5, 10, 20, 40])
        )
        for customer in ids
        for product in rng.sample(names, rng.randint(2, 9))
        for _ in range(rng.randint(1, 2))
    ]
    path = tmp_path / "ranked.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "product", "product_group", "quantity", "amount"])
        for line in lines:
            writer.writerow([line.customer_id, line.product, line.product_group, 1, line.amount])
    url = container.settings.database_url
    top = 3
    result = CliRunner().invoke(
        cli_app,
        [
            "profile",
            "affinity",
            "--lines",
            str(path),
            "--top",
            str(top),
            "--min-support",
            "2",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    expected = _reference(lines, top=top, min_support=2, neighbours=AffinityOptions().neighbours)
    longer = 0
    for customer in ids:
        body = client.get(f"{API}/{customer}/affinity").json()
        for kind in ("over", "similar"):
            candidates = expected[customer][kind]
            if kind == "over":
                candidates = [(p, v) for p, v in candidates if v > 1]
            longer += len(candidates) > top
            got = body[kind]
            assert [item["rank"] for item in got] == list(range(1, min(top, len(candidates)) + 1))
            for item, (product, score) in zip(got, candidates, strict=False):
                assert abs(item["score"] - round(float(score), 4)) < 1e-9
                exact = dict(expected[customer][kind])[item["product"]]
                assert abs(exact - score) < Fraction(1, 10**9)  # the product holds that score
                if sum(abs(v - score) < Fraction(1, 10**9) for _, v in candidates) == 1:
                    assert item["product"] == product
    assert longer > 10  # the cut to --top was exercised
