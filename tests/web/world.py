"""The console's test world: users of several roles and scopes, customers with entity
overrides, a duplicate cluster in the review queue; planted through the API and the
services (the console itself is what the tests exercise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import default_policy_text
from custmaster.services.dedup.batch import run_batch
from tests.conftest import new_user
from tests.factories import acme, create, minimal, seed_reference
from tests.profile.events import complaint, envelope, invoice, order

#: the users of the console tests: user id -> (roles, entities)
USERS: dict[str, tuple[list[str], list[str] | None]] = {
    "admin": (["admin"], None),
    "steward": (["data_steward"], None),
    "steward2": (["data_steward"], None),
    "rep": (["sales_rep"], None),
    "arm": (["ar_manager"], None),
    "controller": (["controller"], None),  # the second approver of an address change
    "viewer": (["viewer"], None),
    "gb_steward": (["data_steward"], ["GB01"]),
}


@dataclass
class ConsoleWorld:
    keys: dict[str, str]
    acme_id: str
    duplicate_ids: list[str]
    global_id: str  #: owned by GB01 with overrides for DE01 and GB01
    cluster_id: int


def browser_policy(directory: Path) -> Path:
    """The shipped approval policy with merges and unmerges in the green lane (applied at
    once by a steward), so that the merge flow needs no second approver; updates keep
    their approval steps (the inbox flow)."""
    policy = yaml.safe_load(default_policy_text())
    for operation in ("merge", "unmerge"):
        policy["operations"][operation] = {"lane": "green"}
    path = directory / "console_policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def profile_activity(customer_id: str) -> list[list[dict[str, Any]]]:
    """Activity for the living profile's panel, a batch per legal entity: five orders
    (four of them four to five months ago: the order trend falls), an invoice 45 days
    overdue, an open quality complaint and a contract renewing in 30 days; GB01's
    figures are small (4321 GBP), DE01's large and distinctive (987654 EUR)."""
    today = date.today()
    batches = []
    for entity, currency, amount, tag in (
        ("GB01", "GBP", 4321.0, "GB"),
        ("DE01", "EUR", 987654.0, "DE"),
    ):
        events = [
            order(customer_id, today - timedelta(days=d), amount, entity=entity, currency=currency)
            for d in (150, 140, 130, 120, 20)
        ]
        events.append(
            invoice(
                customer_id,
                today - timedelta(days=75),
                today - timedelta(days=45),
                amount,
                f"INV-{tag}",
                entity=entity,
                currency=currency,
            )
        )
        events.append(
            complaint(customer_id, today - timedelta(days=20), f"CASE-{tag}", entity=entity)
        )
        renewal = (today + timedelta(days=30)).isoformat()
        events.append(
            envelope(
                "contract.recorded",
                customer_id,
                entity,
                contract_id=f"K-{tag}",
                start_date=(today - timedelta(days=335)).isoformat(),
                end_date=renewal,
                renewal_date=renewal,
            )
        )
        batches.append(events)
    return batches


def plant(app_client: TestClient, container: Container) -> ConsoleWorld:
    """Plant the world (under the container's policy, the tests' direct one)."""
    keys = {"admin": new_user(container, "admin", ["admin"])}
    app_client.headers["Authorization"] = f"Bearer {keys['admin']}"
    seed_reference(app_client)  # the legal entities first: scoped users name them
    for user, (roles, entities) in USERS.items():
        if user not in keys:
            keys[user] = new_user(container, user, roles, entities)
    main = create(app_client, acme(phone="+1 415 555 0100"))
    twins = [
        create(
            app_client,
            minimal(
                "ACME Corp",
                "ap@acme.example",
                phone="+1 415 555 0100",
                tax_id=main.get("tax_id"),
                legal_name="Acme Corporation",
            ),
        ),
        create(
            app_client,
            minimal(
                "Acme Corporation Inc",
                "billing@acme.example",
                phone="+1 415 555 0100",
                tax_id=main.get("tax_id"),
            ),
        ),
    ]
    global_co = create(
        app_client,
        minimal(
            "Global Widgets",
            "ap@globalwidgets.example",
            owning_entity="GB01",
            overrides={
                "DE01": {"credit_limit": "70000", "payment_terms": "NET60"},
                "GB01": {"credit_limit": "5000", "payment_terms": "NET30"},
            },
        ),
    )
    for events in profile_activity(global_co["id"]):  # the customer page's profile panel
        response = app_client.post("/api/v1/activities", json=events)
        assert response.status_code == 200, response.text
    for i in range(5):
        create(app_client, minimal(f"Filler {i} Trading", f"office{i}@filler{i}.example"))
    run_batch(container.uow, container.system_principal(), container.service_settings)
    with container.uow().read_only() as uow:
        clusters = uow.matching.list_clusters("open", None, 10)
    assert clusters, "the matcher found no duplicate cluster in the planted world"
    return ConsoleWorld(keys, main["id"], [t["id"] for t in twins], global_co["id"], clusters[0].id)
