"""Structure changes from the CLI under the shipped approval policy, on both databases:
legal-hierarchy changes open change requests (with their effect), trade-hierarchy links
and team assignments apply at once; an approved request applies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli_app
from custmaster.services.customers.create import apply_create
from tests.conftest import new_user
from tests.factories import minimal, seed_reference

runner = CliRunner()


def cli(container: Container, *args: str) -> str:
    result = runner.invoke(cli_app, [*args, "--database-url", container.settings.database_url])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cli_submits_structure_changes_under_the_shipped_policy(
    app: FastAPI, container: Container, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTMASTER_APPROVAL_POLICY", raising=False)  # the shipped policy
    keys = {
        user: new_user(container, user, [role])
        for user, role in (("bob", "ar_manager"), ("carol", "controller"))
    }
    actor, settings = container.system_principal(), container.service_settings
    for name, extra in (
        ("One", {"payment_terms": "NET30", "credit_limit": "100"}),
        ("Two", {"payment_terms": "NET60", "credit_limit": "200"}),
        ("Sub", {"credit_limit": "7"}),
    ):
        apply_create(
            container.uow(), actor, minimal(name, f"ap@{name.lower()}.example", **extra), settings
        )
    assert "link created" in cli(
        container,
        "hierarchy",
        "link",
        "C000001",
        "C000003",
        "--from",
        "2026-01-01",
        "--type",
        "sales",
    )
    pending = cli(container, "hierarchy", "link", "C000001", "C000003", "--from", "2026-01-01")
    assert "waits for approval (yellow: ar_manager, controller)" in pending
    assert "C000003 payment_terms: None -> NET30" in pending
    assert "C000001 credit_limit roll-up: 100 -> 107" in pending
    request_id = re.search(r"change request (\S+) waits", pending)
    assert request_id is not None
    for user in ("bob", "carol"):
        client.headers["Authorization"] = f"Bearer {keys[user]}"
        answer = client.post(f"/api/v1/change-requests/{request_id[1]}/approve", json={})
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied"
    moved = cli(
        container, "hierarchy", "move", "C000003", "--to-parent", "C000002", "--on", "2026-07-01"
    )
    assert "C000003 payment_terms: NET30 -> NET60" in moved
    assert "C000002 credit_limit roll-up: 200 -> 207" in moved
    shown = cli(
        container, "hierarchy", "show", "C000003", "--view", "ancestors", "--as-of", "2026-07-01"
    )
    assert "C000001" in shown and "C000002" not in shown  # waiting, not applied
    new_user(container, "kim", ["sales_rep"])  # team members are existing users
    assert "user assigned" in cli(
        container,
        "org-units",
        "assign-user",
        "kim",
        "--role",
        "account_manager",
        "--customer",
        "C000003",
        "--from",
        "2026-01-01",
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An admin client with the reference data (the payment terms the customers use)."""
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {new_user(app.state.container, 'tester', ['admin'])}"
        seed_reference(c)
        yield c
