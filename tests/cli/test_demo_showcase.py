"""``custmaster demo``: its first customers show what custmaster is for (overrides, a
hierarchy, a near-duplicate, a change waiting for approval), seen through the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.api.app import create_app
from custmaster.bootstrap import build_container
from custmaster.cli.app import app
from custmaster.config import Settings
from custmaster.services.auth import add_user


def test_the_first_demo_customers_show_the_product(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    loaded = CliRunner().invoke(
        app, ["demo", "--database-url", url, "--customers", "20", "--no-serve"]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "waits for approval" in loaded.output
    container = build_container(Settings(database_url=url))
    key = add_user(container.uow(), container.system_principal(), "probe", roles=["admin"])
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        first = client.get("/api/v1/customers", params={"limit": 3}).json()["items"]
        assert [c["name"] for c in first] == [
            "Northwind Holding AG",
            "Northwind Traders GmbH",
            "Northwind Traders",
        ]
        holding, subsidiary, duplicate = (c["id"] for c in first)
        view = client.get(f"/api/v1/customers/{subsidiary}", params={"entity": "DE01"}).json()
        assert view["overridden_fields"] == ["credit_limit", "payment_terms"]
        tree = client.get(f"/api/v1/customers/{subsidiary}/hierarchies/legal")
        assert tree.status_code == 200 and holding in tree.text
        found = client.post("/api/v1/match", json={"name": "Northwind Traders GmbH"}).json()
        assert duplicate in [i["customer_id"] for i in found["items"]]
        pending = client.get("/api/v1/change-requests").json()["items"]
        assert [r["customer_id"] for r in pending] == [subsidiary]
    container.engine.dispose()
