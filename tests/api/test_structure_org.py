"""Account structure (issue 5) through the HTTP API on both databases: org units and
derived account teams, templates, extra reference data (name affixes, sales
organisations, payment schedules), operating hours, visit settings, sellable contacts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.api.test_structure import events
from tests.conftest import new_user
from tests.factories import acme, create, errors_of, minimal

API = "/api/v1"


def unit(client: TestClient, code: str, kind: str, parent: str | None = None) -> Any:
    response = client.post(
        f"{API}/org-units", json={"code": code, "kind": kind, "name": code, "parent_code": parent}
    )
    assert response.status_code == 201, response.text
    return response.json()


def assign_user(
    client: TestClient, user: str, role: str, valid_from: str = "2026-01-01", **target: Any
) -> Any:
    """Assign ``user`` (made a sales_rep user first when it does not exist yet)."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    with container.uow().read_only() as uow:
        known = uow.users.get(user) is not None
    if not known:
        new_user(container, user, ["sales_rep"])
    body = {"user_id": user, "role": role, "valid_from": valid_from, **target}
    return client.post(f"{API}/team-assignments", json=body)


def team(client: TestClient, customer_id: str, as_of: str) -> list[tuple[str, str, str]]:
    response = client.get(f"{API}/customers/{customer_id}/account-team", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    return [(m["role"], m["user_id"], m["source"]) for m in response.json()["members"]]


def test_org_unit_tree_with_paths_and_no_cycles(client: TestClient) -> None:
    unit(client, "EU", "sales_organisation")
    unit(client, "DACH", "region", "EU")
    muc = unit(client, "MUC", "territory", "DACH")
    assert muc["path"] == ["EU", "DACH", "MUC"]
    assert (
        client.post(
            f"{API}/org-units", json={"code": "EU", "kind": "region", "name": "x"}
        ).status_code
        == 409
    )
    bad = client.post(f"{API}/org-units", json={"code": "X", "kind": "planet", "name": "X"})
    assert errors_of(bad) == {"kind": "unknown_org_unit_kind"}
    orphan = client.post(
        f"{API}/org-units", json={"code": "Y", "kind": "branch", "name": "Y", "parent_code": "NOPE"}
    )
    assert errors_of(orphan) == {"parent_id": "unknown_org_unit"}
    cycle = client.patch(f"{API}/org-units/EU", json={"parent_code": "MUC"})
    assert errors_of(cycle) == {"parent_id": "cycle"}
    renamed = client.patch(f"{API}/org-units/MUC", json={"name": "Munich", "parent_code": "EU"})
    assert renamed.status_code == 200 and renamed.json()["path"] == ["EU", "MUC"]
    listed = client.get(f"{API}/org-units", params={"limit": 2}).json()
    assert [u["code"] for u in listed["items"]] == ["DACH", "EU"] and listed["next_cursor"]
    assert client.delete(f"{API}/org-units/EU").status_code == 409  # has children
    assert client.delete(f"{API}/org-units/DACH").status_code == 204
    assert client.get(f"{API}/org-units/DACH").status_code == 404


def test_the_account_team_is_derived_from_direct_and_org_unit_assignments(
    client: TestClient,
) -> None:
    unit(client, "EU", "sales_organisation")
    unit(client, "DACH", "region", "EU")
    unit(client, "MUC", "territory", "DACH")
    shop = create(client, minimal("Shop", "ap@shop.example"))["id"]
    assigned = client.post(
        f"{API}/org-units/MUC/customers", json={"customer_id": shop, "valid_from": "2026-01-01"}
    )
    assert assigned.status_code == 201, assigned.text
    assert assign_user(client, "ava", "account_manager", org_unit="EU").status_code == 201
    assert assign_user(client, "ron", "sales_rep", org_unit="DACH").status_code == 201
    assert assign_user(client, "tim", "sales_rep", "2026-06-01", org_unit="MUC").status_code == 201
    kam = assign_user(client, "kim", "key_account_manager", "2026-03-01", customer_id=shop)
    assert kam.status_code == 201

    assert team(client, shop, "2026-02-01") == [
        ("account_manager", "ava", "EU"),
        ("sales_rep", "ron", "EU/DACH"),
    ]
    assert team(client, shop, "2026-07-01") == [
        ("key_account_manager", "kim", "direct"),
        ("account_manager", "ava", "EU"),
        ("sales_rep", "tim", "EU/DACH/MUC"),
    ]
    direct_rep = assign_user(client, "dan", "sales_rep", "2026-08-01", customer_id=shop)
    assert direct_rep.status_code == 201
    assert ("sales_rep", "dan", "direct") in team(client, shop, "2026-08-01")
    assert ("sales_rep", "tim", "EU/DACH/MUC") not in team(client, shop, "2026-08-01")
    assert team(client, shop, "2025-12-31") == []

    assert errors_of(
        assign_user(client, "ava", "account_manager", "2026-05-01", org_unit="EU")
    ) == {"valid_from": "duplicate_assignment"}
    assert errors_of(assign_user(client, "x", "boss", org_unit="EU")) == {"role": "unknown_role"}
    assert errors_of(assign_user(client, "x", "sales_rep")) == {"org_unit_id": "target_required"}
    nobody = {
        "user_id": "nobody",
        "role": "sales_rep",
        "valid_from": "2026-01-01",
        "org_unit": "EU",
    }
    unknown = client.post(f"{API}/team-assignments", json=nobody)
    assert errors_of(unknown) == {"user_id": "unknown_reference"}
    assignments = client.get(f"{API}/org-units/MUC/assignments").json()
    assert [c["customer"]["name"] for c in assignments["customers"]] == ["Shop"]
    assert [u["user_id"] for u in assignments["users"]] == ["tim"]
    assert client.delete(f"{API}/org-unit-assignments/{assigned.json()['id']}").status_code == 204
    assert team(client, shop, "2026-07-01") == [("key_account_manager", "kim", "direct")]
    assert client.delete(f"{API}/team-assignments/{kam.json()['id']}").status_code == 204
    mine = client.get(f"{API}/customers/{shop}/org-assignments").json()
    assert mine["org_units"] == [] and [u["user_id"] for u in mine["users"]] == ["dan"]


def test_templates_crud_and_a_customer_from_a_template(client: TestClient) -> None:
    body = {
        "name": "EU wholesale",
        "description": "German wholesalers",
        "defaults": {
            "customer_type": "wholesale",
            "currency": "EUR",
            "payment_terms": "NET30",
            "customer_group": "RETAIL",
            "dimensions": {"department": "SALES"},
        },
    }
    assert client.post(f"{API}/customer-templates", json=body).status_code == 201
    assert client.post(f"{API}/customer-templates", json=body).status_code == 409
    bad = client.post(f"{API}/customer-templates", json={"name": "x", "defaults": {"number": "C1"}})
    assert errors_of(bad) == {"defaults.number": "server_owned_field"}
    url = f"{API}/customer-templates/EU wholesale/customers"
    made = client.post(
        url,
        json={
            "kind": "organization",
            "name": "Hamburg Handel GmbH",
            "email": "ap@hh.example",
            "payment_terms": "NET45",
            "owning_entity": "DE01",
        },
    )
    assert made.status_code == 201, made.text
    customer = made.json()
    assert (customer["customer_type"], customer["currency"], customer["payment_terms"]) == (
        "wholesale",
        "EUR",
        "NET45",
    )
    assert customer["dimensions"] == {"department": "SALES"}
    assert sorted(customer["from_template"]) == [
        "currency",
        "customer_group",
        "customer_type",
        "dimensions",
    ]
    assert made.headers["location"] == f"{API}/customers/{customer['id']}"
    no_mail = {"kind": "organization", "name": "No Mail", "owning_entity": "DE01"}
    assert errors_of(client.post(url, json=no_mail)) == {"email": "required"}
    patched = client.patch(
        f"{API}/customer-templates/EU wholesale", json={"defaults": {"currency": "CHF"}}
    )
    assert patched.status_code == 200 and patched.json()["defaults"] == {"currency": "CHF"}
    assert [t["name"] for t in client.get(f"{API}/customer-templates").json()["items"]] == [
        "EU wholesale"
    ]
    assert client.delete(f"{API}/customer-templates/EU wholesale").status_code == 204
    assert client.post(url, json={"name": "x"}).status_code == 404


def test_name_affixes_and_sales_organisations_crud(
    client: TestClient, container: Container
) -> None:
    affixes = f"{API}/name-affixes"
    assert (
        client.post(affixes, json={"code": "DR", "name": "Dr.", "kind": "title"}).status_code == 201
    )
    assert (
        client.post(affixes, json={"code": "MS", "name": "Ms", "kind": "salutation"}).status_code
        == 201
    )
    assert (
        client.post(affixes, json={"code": "DR", "name": "Dr.", "kind": "title"}).status_code == 409
    )
    assert (
        client.post(affixes, json={"code": "JR", "name": "Jr.", "kind": "nickname"}).status_code
        == 422
    )
    assert [a["code"] for a in client.get(affixes).json()["items"]] == ["DR", "MS"]
    changed = client.patch(f"{affixes}/DR", json={"name": "Doctor"})
    assert changed.status_code == 200 and changed.json()["name"] == "Doctor"
    person = minimal(
        "Dana Doctor",
        "dana@doc.example",
        kind="person",
        first_name="Dana",
        last_name="Doctor",
        name_affix="DR",
    )
    create(client, person)
    assert client.delete(f"{affixes}/DR").status_code == 409  # a customer uses it
    assert client.delete(f"{affixes}/MS").status_code == 204
    assert client.get(f"{affixes}/MS").status_code == 404

    orgs = f"{API}/sales-organisations"
    created = client.post(
        orgs,
        json={"code": "DE10", "name": "Sales Germany", "legal_entity": "DE01", "currency": "EUR"},
    )
    assert created.status_code == 201 and created.json()["legal_entity"] == "DE01"
    bad = client.post(
        orgs, json={"code": "XX10", "name": "X", "legal_entity": "XX99", "currency": "XYZ"}
    )
    assert errors_of(bad) == {"legal_entity": "unknown_reference", "currency": "invalid_currency"}
    assert client.patch(f"{orgs}/DE10", json={"currency": "CHF"}).json()["currency"] == "CHF"
    assert client.delete(f"{orgs}/DE10").status_code == 204
    types = {kind for kind, _ in events(container)}
    assert {
        "custmaster.name_affix.created",
        "custmaster.name_affix.updated",
        "custmaster.sales_organisation.deleted",
    } <= types


def test_payment_schedules_of_payment_terms(client: TestClient) -> None:
    url = f"{API}/payment-terms/NET30/schedule"
    assert client.get(url).json() == {"payment_terms": "NET30", "lines": [], "payment_days": []}
    schedule = {
        "lines": [
            {"percentage": "30", "due_days": 0, "discount_percent": "2"},
            {"percentage": "70", "due_days": 30},
        ],
        "payment_days": [15, 1],
    }
    stored = client.put(url, json=schedule)
    assert stored.status_code == 200, stored.text
    assert stored.json()["payment_days"] == [1, 15]
    assert [(line["line_no"], line["percentage"]) for line in client.get(url).json()["lines"]] == [
        (1, "30"),
        (2, "70"),
    ]
    wrong = {
        "lines": [{"percentage": "30", "due_days": 10}, {"percentage": "60", "due_days": 5}],
        "payment_days": [0, 7, 7],
    }
    assert errors_of(client.put(url, json=wrong)) == {
        "lines[1].due_days": "not_increasing",
        "payment_days[0]": "out_of_range",
        "payment_days[2]": "duplicate",
    }
    short = {"lines": [{"percentage": "30", "due_days": 10}]}
    assert errors_of(client.put(url, json=short)) == {"lines": "percentages_not_100"}
    assert client.put(f"{API}/payment-terms/NOPE/schedule", json=schedule).status_code == 404
    assert client.delete(url).status_code == 204
    assert client.get(url).json()["lines"] == []


def test_operating_hours_and_visit_settings(client: TestClient, container: Container) -> None:
    shop = create(client, minimal("Corner Shop", "ap@corner.example"))["id"]
    hours_url = f"{API}/customers/{shop}/operating-hours"
    assert client.get(hours_url).status_code == 404
    hours = {
        "timezone": "Europe/Berlin",
        "weekly": {"monday": ["13:00-17:00", "08:00-12:00"], "saturday": ["09:00-12:00"]},
        "exceptions": [{"date": "2026-12-24", "closed": True, "note": "Christmas Eve"}],
    }
    stored = client.put(hours_url, json=hours)
    assert stored.status_code == 200, stored.text
    assert stored.json()["weekly"]["monday"] == ["08:00-12:00", "13:00-17:00"]
    assert client.get(hours_url).json()["exceptions"][0]["closed"] is True
    overlapping = {"weekly": {"tuesday": ["08:00-12:00", "11:00-14:00"]}}
    assert errors_of(client.put(hours_url, json=overlapping)) == {
        "weekly.tuesday[1]": "overlapping_intervals"
    }
    assert errors_of(client.put(hours_url, json={"timezone": "Mars/Olympus"})) == {
        "timezone": "unknown_timezone"
    }

    visits_url = f"{API}/customers/{shop}/visit-settings"
    visits = client.put(
        visits_url, json={"frequency": "biweekly", "preferred_days": ["Tuesday", "monday"]}
    )
    assert visits.status_code == 200, visits.text
    assert visits.json()["preferred_days"] == ["monday", "tuesday"]
    assert [w["code"] for w in visits.json()["warnings"]] == ["closed_on_preferred_day"]
    assert errors_of(client.put(visits_url, json={"frequency": "hourly"})) == {
        "frequency": "invalid_choice"
    }
    assert client.delete(visits_url).status_code == 204
    assert client.get(visits_url).status_code == 404
    types = [kind for kind, _ in events(container)]
    assert "custmaster.operating_hours.updated" in types
    assert "custmaster.visit_settings.deleted" in types


def test_a_contact_becomes_sellable_on_a_quote_or_order_and_stays_so(client: TestClient) -> None:
    customer = create(client, acme())
    contact = customer["contacts"][0]["id"]
    url = f"{API}/customers/{customer['id']}/contacts/{contact}/participations"
    case = client.post(url, json={"kind": "service_case"})
    assert case.status_code == 200 and case.json()["changed"] is False
    assert case.json()["contact"]["sellable"] is False
    order = client.post(url, json={"kind": "order"})
    assert order.status_code == 200 and order.json()["changed"] is True
    assert order.json()["contact"]["sellable"] is True and order.headers["etag"] == '"2"'
    again = client.post(url, json={"kind": "quote"})
    assert again.json()["changed"] is False and again.json()["contact"]["sellable"] is True
    history = client.get(f"{API}/customers/{customer['id']}/history").json()["items"]
    assert history[-1]["changes"] == [
        {"field": f"contacts[{contact}].sellable", "before": False, "after": True}
    ]
    ghost = "00000000-0000-4000-8000-000000000000"
    missing = client.post(
        f"{API}/customers/{customer['id']}/contacts/{ghost}/participations", json={"kind": "order"}
    )
    assert missing.status_code == 404


def test_a_customer_from_a_template_waits_for_approval_like_any_other(
    client: TestClient, governed: Container, client_as: Callable[..., TestClient]
) -> None:
    """Under the shipped policy a new customer waits for approval, template or not."""
    client_as("ann", roles=["ar_manager"])
    client_as("carl", roles=["controller"])
    body = {"name": "Retail", "defaults": {"customer_group": "RETAIL"}}
    assert client.post(f"{API}/customer-templates", json=body).status_code == 201
    pending = client.post(
        f"{API}/customer-templates/Retail/customers",
        json={
            "kind": "organization",
            "name": "Kiosk",
            "email": "a@k.example",
            "owning_entity": "DE01",
        },
    )
    assert pending.status_code == 202, pending.text
    assert pending.json()["from_template"] == ["customer_group"]
    assert pending.headers["location"].startswith(f"{API}/change-requests/")
    assert client.get(f"{API}/customers").json()["items"] == []


def test_participation_is_green_under_the_shipped_policy(
    client: TestClient, container: Container
) -> None:
    """A contacts-only change applies at once under the shipped policy."""
    customer = create(client, acme())  # created under the tests' direct policy
    contact = customer["contacts"][0]["id"]
    direct, container.policy = container.policy, load_policy(None)
    try:
        done = client.post(
            f"{API}/customers/{customer['id']}/contacts/{contact}/participations",
            json={"kind": "quote"},
        )
    finally:
        container.policy = direct
    assert done.status_code == 200, done.text
    assert done.json()["changed"] is True and done.json()["contact"]["sellable"] is True
