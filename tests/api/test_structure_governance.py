"""Structure changes under the shipped approval policy (issue 17), through the HTTP API on
both databases: every structure operation takes its lane, a yellow legal move applies only
after two approvals and lists its effect, a structure that moved meanwhile conflicts the
request, and legal-entity scope binds submitters and approvers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.domain.approvals import Operation
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.customers.create import apply_create
from custmaster.services.customers.update import update_customer
from custmaster.services.structure.governed import submit
from tests.conftest import DIRECT_POLICY, new_user
from tests.factories import minimal

API = "/api/v1"
DIRECT = load_policy(DIRECT_POLICY)
Clients = Callable[..., TestClient]


def customer(container: Container, name: str, **extra: Any) -> str:
    """A customer stored directly (the tests are about structure, not customer approvals)."""
    slug = name.lower().replace(" ", "-")
    result = apply_create(
        container.uow(),
        container.system_principal(),
        minimal(name, f"ap@{slug}.example", **extra),
        container.service_settings,
    )
    return str(result.customer.id)


def given(container: Container, operation: Operation, **action: Any) -> Any:
    """Structure that exists before the test: applied at once (the direct policy)."""
    outcome = submit(container.uow(), container.system_principal(), DIRECT, operation, action)
    assert outcome.applied
    return outcome.result


def given_link(container: Container, parent: str, child: str, kind: str = "legal") -> UUID:
    stored = given(
        container,
        Operation.HIERARCHY_LINK,
        hierarchy_type=kind,
        parent_id=parent,
        child_id=child,
        valid_from="2026-01-01",
    )
    return UUID(str(stored.id))


@pytest.fixture
def people(client: TestClient, client_as: Clients, governed: Container) -> dict[str, TestClient]:
    """A data steward who submits, two approvers (AR manager, controller), a sales rep
    who may only propose, and a viewer; the shipped policy is in force."""
    return {
        "steward": client_as("dana", roles=["data_steward"]),
        "bob": client_as("bob", roles=["ar_manager"]),
        "carol": client_as("carol", roles=["controller"]),
        "rep": client_as("sam", roles=["sales_rep"]),
        "viewer": client_as("vic", roles=["viewer"]),
    }


def lane(response: Any) -> tuple[int, str | None, list[str]]:
    """(status, lane, step roles): lane and steps only for a 202 change request."""
    if response.status_code != 202:
        return response.status_code, None, []
    body = response.json()
    return 202, body["lane"], [s["role"] for s in body["steps"]]


YELLOW = (202, "yellow", ["ar_manager", "controller"])


def test_every_structure_operation_takes_its_lane(
    client: TestClient, governed: Container, people: dict[str, TestClient]
) -> None:
    c = governed
    a, b, d, e = (customer(c, n) for n in ("Alpha", "Beta", "Delta", "Echo"))
    legal_ad = given_link(c, a, d)
    sales_ae = given_link(c, a, e, "sales")
    payer = given(
        c,
        Operation.RELATIONSHIP_CREATE,
        customer_id=d,
        related_id=a,
        relationship_type="payer",
        valid_from="2026-01-01",
        is_primary=True,
    )
    assert (
        client.post(
            f"{API}/org-units", json={"code": "EU", "kind": "sales_organisation", "name": "Europe"}
        ).status_code
        == 201
    )
    s = people["steward"]

    def link(kind: str, parent: str, child: str, who: TestClient = s) -> Any:
        return who.post(
            f"{API}/hierarchies/{kind}/links",
            json={"parent_id": parent, "child_id": child, "valid_from": "2026-02-01"},
        )

    def relate(kind: str, related: str) -> Any:
        return s.post(
            f"{API}/relationships",
            json={
                "customer_id": b,
                "related_id": related,
                "relationship_type": kind,
                "valid_from": "2026-02-01",
                "is_primary": True,
            },
        )

    # hierarchies: legal yellow (AR manager, then controller), sales (trade) green
    assert lane(link("legal", a, b)) == YELLOW
    assert lane(link("sales", a, b)) == (201, None, [])
    move = {"new_parent_id": b, "effective_date": "2026-03-01"}
    assert lane(s.post(f"{API}/customers/{d}/hierarchies/legal/move", json=move)) == YELLOW
    assert lane(s.post(f"{API}/customers/{e}/hierarchies/sales/move", json=move)) == (200, None, [])
    end = {"valid_to": "2026-09-01"}
    assert lane(s.post(f"{API}/hierarchies/legal/links/{legal_ad}/end", json=end)) == YELLOW
    assert lane(s.delete(f"{API}/hierarchies/legal/links/{legal_ad}")) == YELLOW
    early = {"valid_to": "2026-02-15"}  # the sales move closed the link on 2026-03-01
    assert lane(s.post(f"{API}/hierarchies/sales/links/{sales_ae}/end", json=early))[0] == 200
    # relationships: payer, bill-to, sold-to yellow; the other types green
    for kind in ("payer", "bill_to", "sold_to"):
        assert lane(relate(kind, a)) == YELLOW, kind
    ship_to = relate("ship_to", a)
    assert lane(ship_to) == (201, None, [])
    assert lane(s.post(f"{API}/relationships/{payer.id}/end", json=end)) == YELLOW
    assert lane(s.delete(f"{API}/relationships/{payer.id}")) == YELLOW
    ship_id = ship_to.json()["id"]
    assert lane(s.post(f"{API}/relationships/{ship_id}/end", json=end))[0] == 200
    assert lane(s.delete(f"{API}/relationships/{ship_id}"))[0] == 204
    # org-unit and account-team assignments: green for data stewards
    assigned = s.post(
        f"{API}/org-units/EU/customers", json={"customer_id": b, "valid_from": "2026-01-01"}
    )
    assert lane(assigned)[0] == 201
    new_user(s.app.state.container, "kim", ["sales_rep"])  # type: ignore[attr-defined]
    team = s.post(
        f"{API}/team-assignments",
        json={
            "user_id": "kim",
            "role": "account_manager",
            "valid_from": "2026-01-01",
            "customer_id": b,
        },
    )
    assert lane(team)[0] == 201
    assert lane(s.delete(f"{API}/org-unit-assignments/{assigned.json()['id']}"))[0] == 204
    assert lane(s.delete(f"{API}/team-assignments/{team.json()['id']}"))[0] == 204
    # a sales rep only proposes: even a green change goes to the proposal steps
    assert lane(link("sales", b, d, people["rep"])) == (202, "yellow", ["data_steward"])
    assert link("sales", b, d, people["viewer"]).status_code == 403
    # nothing waiting was applied: the legal structure is as it was
    links = client.get(f"{API}/customers/{d}/hierarchies/legal/links").json()
    assert [(x["parent_id"], x["valid_to"]) for x in links] == [(a, None)]
    pending = client.get(f"{API}/change-requests", params={"status": "pending"}).json()["items"]
    assert sorted({r["operation"] for r in pending}) == [
        "hierarchy_end",
        "hierarchy_link",
        "hierarchy_move",
        "relationship_create",
        "relationship_end",
    ]


def approve(who: TestClient, request_id: str) -> dict[str, Any]:
    response = who.post(f"{API}/change-requests/{request_id}/approve", json={})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def parent_on(client: TestClient, node: str, day: str) -> str | None:
    items = client.get(
        f"{API}/customers/{node}/hierarchies/legal", params={"view": "ancestors", "as_of": day}
    ).json()["items"]
    return items[0]["name"] if items else None


def family(c: Container) -> dict[str, str]:
    """Group One (NET30, KEYACCT, credit 1000) over Sub (300) over Leaf (50); Group Two
    (NET60, RETAIL, credit 2000) stands alone."""
    ids = {
        "one": customer(
            c, "Group One", payment_terms="NET30", customer_group="KEYACCT", credit_limit="1000"
        ),
        "two": customer(
            c, "Group Two", payment_terms="NET60", customer_group="RETAIL", credit_limit="2000"
        ),
        "sub": customer(c, "Sub", credit_limit="300"),
        "leaf": customer(c, "Leaf", credit_limit="50"),
    }
    given_link(c, ids["one"], ids["sub"])
    given_link(c, ids["sub"], ids["leaf"])
    return ids


def test_a_yellow_move_applies_after_two_approvals_with_its_effect_listed(
    client: TestClient, governed: Container, people: dict[str, TestClient]
) -> None:
    ids = family(governed)
    response = people["steward"].post(
        f"{API}/customers/{ids['sub']}/hierarchies/legal/move",
        json={"new_parent_id": ids["two"], "effective_date": "2026-07-01"},
    )
    assert lane(response) == YELLOW
    request = response.json()
    assert response.headers["location"] == f"/api/v1/change-requests/{request['id']}"
    effect = request["change"]["payload"]["effect"]
    assert effect["parent_before"]["name"] == "Group One"
    assert effect["parent_after"]["name"] == "Group Two"
    inherited = {
        (i["customer"]["name"], i["field"]): (i["before"], i["after"]) for i in effect["inherited"]
    }
    assert inherited == {
        ("Sub", "payment_terms"): ("NET30", "NET60"),
        ("Sub", "customer_group"): ("KEYACCT", "RETAIL"),
        ("Leaf", "payment_terms"): ("NET30", "NET60"),
        ("Leaf", "customer_group"): ("KEYACCT", "RETAIL"),
    }
    rollup = {r["customer"]["name"]: (r["before"], r["after"]) for r in effect["rollup"]["changes"]}
    assert rollup == {"Group One": ("1350", "1000"), "Group Two": ("2000", "2350")}
    # a field of the new parent changes meanwhile: the request is rebased, not conflicted
    update_customer(
        governed.uow(),
        governed.system_principal(),
        DIRECT,
        UUID(ids["two"]),
        {"payment_terms": "NET45"},
        governed.service_settings,
    )

    assert approve(people["bob"], request["id"])["status"] == "pending"
    assert parent_on(client, ids["sub"], "2026-07-01") == "Group One"  # not yet
    assert (
        people["bob"].post(f"{API}/change-requests/{request['id']}/approve", json={}).status_code
        == 403
    )  # one person, one step
    done = approve(people["carol"], request["id"])
    assert done["status"] == "applied"
    assert parent_on(client, ids["sub"], "2026-06-30") == "Group One"
    assert parent_on(client, ids["sub"], "2026-07-01") == "Group Two"
    recomputed = done["change"]["payload"]["effect"]["inherited"]
    assert {
        (i["customer"]["name"], i["after"]) for i in recomputed if i["field"] == "payment_terms"
    } == {("Sub", "NET45"), ("Leaf", "NET45")}
    view = client.get(
        f"{API}/customers/{ids['leaf']}", params={"entity": "US01", "as_of": "2026-07-01"}
    ).json()
    assert view["payment_terms"] == "NET45" and view["customer_group"] == "RETAIL"
    history = client.get(f"{API}/customers/{ids['sub']}/hierarchies/legal/links").json()
    assert [(h["parent_id"], h["valid_to"]) for h in history if h["child_id"] == ids["sub"]] == [
        (ids["one"], "2026-07-01"),
        (ids["two"], None),
    ]


def test_a_structure_that_moved_meanwhile_conflicts_the_request(
    client: TestClient, governed: Container, people: dict[str, TestClient]
) -> None:
    ids = family(governed)
    third = customer(governed, "Group Three")
    response = people["steward"].post(
        f"{API}/customers/{ids['sub']}/hierarchies/legal/move",
        json={"new_parent_id": ids["two"], "effective_date": "2026-07-01"},
    )
    assert lane(response) == YELLOW
    # meanwhile Sub moves elsewhere (another change, applied)
    given(
        governed,
        Operation.HIERARCHY_MOVE,
        hierarchy_type="legal",
        customer_id=ids["sub"],
        new_parent_id=third,
        effective_date="2026-05-01",
    )
    approve(people["bob"], response.json()["id"])
    done = approve(people["carol"], response.json()["id"])
    assert done["status"] == "conflicted"
    assert done["conflict_fields"] == [f"links.{ids['sub']}"]
    assert parent_on(client, ids["sub"], "2026-07-01") == "Group Three"  # not applied


def test_a_relationship_request_names_the_primary_it_replaces(
    client: TestClient, governed: Container, people: dict[str, TestClient]
) -> None:
    buyer, old, new = (customer(governed, n) for n in ("Buyer", "Old Payer", "New Payer"))
    given(
        governed,
        Operation.RELATIONSHIP_CREATE,
        customer_id=buyer,
        related_id=old,
        relationship_type="payer",
        valid_from="2026-01-01",
        is_primary=True,
    )
    body = {
        "customer_id": buyer,
        "related_id": new,
        "relationship_type": "payer",
        "valid_from": "2026-05-01",
        "is_primary": True,
    }
    refused = people["steward"].post(f"{API}/relationships", json=body)
    assert refused.status_code == 422  # overlapping primaries, as before
    response = people["steward"].post(
        f"{API}/relationships", json={**body, "replace_primary": True}
    )
    assert lane(response) == YELLOW
    effect = response.json()["change"]["payload"]["effect"]
    assert effect["replaces"]["related"]["name"] == "Old Payer"
    assert effect["current_primary"]["related"]["name"] == "Old Payer"
    approve(people["bob"], response.json()["id"])
    assert approve(people["carol"], response.json()["id"])["status"] == "applied"
    active = client.get(
        f"{API}/customers/{buyer}/relationships", params={"as_of": "2026-05-01"}
    ).json()
    assert [(r["related"]["name"], r["is_primary"]) for r in active] == [("New Payer", True)]
    before = client.get(
        f"{API}/customers/{buyer}/relationships", params={"as_of": "2026-04-30"}
    ).json()
    assert [r["related"]["name"] for r in before] == ["Old Payer"]


def test_entity_scope_binds_structure_submitters_and_approvers(
    client: TestClient, governed: Container, client_as: Clients, people: dict[str, TestClient]
) -> None:
    us_a, us_b = (
        customer(governed, "US A", owning_entity="US01"),
        customer(governed, "US B", owning_entity="US01"),
    )
    de_a, de_b = (
        customer(governed, "DE A", owning_entity="DE01"),
        customer(governed, "DE B", owning_entity="DE01"),
    )
    scoped = client_as("dirk", roles=["data_steward"], entities=["DE01"])
    body = {"valid_from": "2026-01-01"}
    assert (
        scoped.post(
            f"{API}/hierarchies/sales/links", json={**body, "parent_id": us_a, "child_id": de_a}
        ).status_code
        == 403
    )
    assert (
        scoped.post(
            f"{API}/relationships",
            json={
                **body,
                "customer_id": de_a,
                "related_id": us_a,
                "relationship_type": "ship_to",
            },
        ).status_code
        == 403
    )
    given_link(governed, us_a, us_b, "sales")
    assert (
        scoped.post(
            f"{API}/customers/{us_b}/hierarchies/sales/move",
            json={"new_parent_id": de_a, "effective_date": "2026-03-01"},
        ).status_code
        == 403
    )
    inside = scoped.post(
        f"{API}/hierarchies/sales/links", json={**body, "parent_id": de_a, "child_id": de_b}
    )
    assert inside.status_code == 201
    # a request about US01 customers: a DE01-scoped AR manager may not approve it
    request = people["steward"].post(
        f"{API}/hierarchies/legal/links", json={**body, "parent_id": us_a, "child_id": us_b}
    )
    assert lane(request) == YELLOW and request.json()["entities"] == ["US01"]
    de_manager = client_as("dora", roles=["ar_manager"], entities=["DE01"])
    denied = de_manager.post(f"{API}/change-requests/{request.json()['id']}/approve", json={})
    assert denied.status_code == 403
    assert approve(people["bob"], request.json()["id"])["status"] == "pending"
