"""Property-level authorisation (OWASP API3): finance fields are refused to roles that are
not finance roles, and server-owned fields in any request body are refused (mass
assignment), on every route that takes a JSON object."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.api.route_permissions import permissions_for
from custmaster.domain.build import SERVER_OWNED
from custmaster.domain.permissions import PERMISSION_MATRIX, Permission, Role
from custmaster.services.governance.access import FINANCE_FIELDS, FINANCE_ROLES
from tests.security.routes import Route, all_routes, resolve, route_ids
from tests.security.world import API, World

#: A valid value of each finance field (reference data of tests.factories).
FINANCE_VALUES: dict[str, str] = {
    "credit_limit": "5000",
    "payment_terms": "NET60",
    "payment_method": "ACH",
    "currency": "EUR",
    "tax_code": "STANDARD",
    "revenue_account": "4000",
}
#: Roles that may change customers but are no finance roles.
EDITORS = tuple(
    r
    for r in Role
    if r not in FINANCE_ROLES
    and PERMISSION_MATRIX[r] & {Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_PROPOSE}
)


def test_every_finance_field_has_a_probe_value() -> None:
    assert set(FINANCE_VALUES) == set(FINANCE_FIELDS)
    assert EDITORS, "some role edits customers without being a finance role"


@pytest.mark.parametrize("field", sorted(FINANCE_FIELDS))
def test_finance_fields_are_refused_to_non_finance_roles(
    role_clients: dict[Role, TestClient], world: World, field: str
) -> None:
    victim = world.values["customer_id"][0]
    value = FINANCE_VALUES[field]
    for role in EDITORS:
        client = role_clients[role]
        master = client.patch(f"{API}/customers/{victim}", json={field: value})
        assert master.status_code == 403, (role, master.text)
        override = client.patch(
            f"{API}/customers/{victim}",
            json={"overrides": [{"action": "update", "entity": "GB01", field: value}]},
        )
        assert override.status_code == 403, (role, override.text)
        body = {
            "kind": "organization",
            "name": f"Finance Probe {field}",
            "email": "ap@probe.example",
            "owning_entity": "GB01",
            field: value,
        }
        created = client.post(f"{API}/customers", json=body)
        assert created.status_code == 403, (role, created.text)
        templated = client.post(f"{API}/customer-templates/Retail/customers", json=body)
        assert templated.status_code == 403, (role, templated.text)


def test_a_finance_role_may_set_them(role_clients: dict[Role, TestClient], world: World) -> None:
    victim = world.values["customer_id"][0]
    changed = role_clients[Role.AR_MANAGER].patch(
        f"{API}/customers/{victim}", json={"credit_limit": "7000"}
    )
    assert changed.status_code in (200, 202), changed.text


def _object_body(route: Route) -> dict[str, Any] | None:
    """The JSON object schema of the route's body (None: no JSON object body)."""
    content = route.operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    resolved = resolve(schema)
    return resolved if resolved.get("type", "object") == "object" else None


JSON_WRITES = tuple(r for r in all_routes() if _object_body(r) is not None)


@pytest.mark.parametrize("route", JSON_WRITES, ids=route_ids(JSON_WRITES))
def test_server_owned_fields_are_refused(admin: TestClient, world: World, route: Route) -> None:
    """A body naming a server-owned field (id, number, version, status, timestamps) is a
    422 naming that field, unless the body's schema declares the field as its own."""
    schema = _object_body(route)
    assert schema is not None
    own = set(schema.get("properties", {}))
    url = route.url(world.fill(route, admin)[0])
    for name in sorted(SERVER_OWNED - own):
        value: Any = 7 if name == "version" else "2026-01-01T00:00:00Z"
        response = admin.request(route.method, url, json={name: value})
        assert response.status_code == 422, (name, response.text)
        fields = [e.get("field") for e in response.json().get("errors", [])]
        assert any(f == name or str(f).endswith(f".{name}") for f in fields), (name, fields)


def test_the_writes_are_found() -> None:
    keys = {r.key for r in JSON_WRITES}
    assert f"POST {API}/customers" in keys and f"PATCH {API}/customers/{{customer_id}}" in keys
    assert all(permissions_for(r.method, r.path) is not None for r in JSON_WRITES)
