"""Account structure (issue 5) through the HTTP API on both databases: hierarchies (cycles
refused, one parent at a time, as-of reads before and after a move, the flattened view),
inheritance with provenance, roll-up, relationships (overlapping primaries refused)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from custmaster.bootstrap import Container
from custmaster.domain.relationships import BUILTIN_RELATIONSHIP_TYPES
from custmaster.persistence.tables import outbox
from tests.conftest import new_user
from tests.factories import create, errors_of, minimal, outbox_events

API = "/api/v1"
LINKS = f"{API}/hierarchies/legal/links"


def events(container: Container) -> list[tuple[str, str]]:
    """(type, subject) of every outbox event in write order. Read from the table: on a
    shared PostgreSQL server the feed holds back while other sessions' transactions run."""
    with container.engine.connect() as connection:
        rows = connection.execute(select(outbox.c.type, outbox.c.subject).order_by(outbox.c.id))
        return [(row.type, row.subject) for row in rows]


def customer(client: TestClient, name: str, **extra: Any) -> str:
    slug = name.lower().replace(" ", "-")
    return str(create(client, minimal(name, f"ap@{slug}.example", **extra))["id"])


def link(
    client: TestClient,
    parent: str,
    child: str,
    valid_from: str = "2026-01-01",
    valid_to: str | None = None,
    kind: str = "legal",
) -> Any:
    body = {"parent_id": parent, "child_id": child, "valid_from": valid_from}
    if valid_to:
        body["valid_to"] = valid_to
    return client.post(f"{API}/hierarchies/{kind}/links", json=body)


def chain(client: TestClient, *names: str) -> list[str]:
    ids = [customer(client, name) for name in names]
    for parent, child in itertools.pairwise(ids):
        assert link(client, parent, child).status_code == 201
    return ids


def view(client: TestClient, node: str, view: str, as_of: str, kind: str = "legal") -> Any:
    response = client.get(
        f"{API}/customers/{node}/hierarchies/{kind}", params={"view": view, "as_of": as_of}
    )
    assert response.status_code == 200, response.text
    return response.json()


def names(tree: dict[str, Any]) -> dict[str, Any]:
    """``{name: {child name: {...}}}`` of a tree response."""
    return {tree["name"]: {k: v for c in tree["children"] for k, v in names(c).items()}}


def test_a_link_is_stored_audited_and_evented(client: TestClient, container: Container) -> None:
    group, sub = customer(client, "Group"), customer(client, "Sub")
    response = link(client, group, sub)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["parent_id"], body["child_id"], body["valid_to"]) == (group, sub, None)
    assert response.headers["location"] == f"{LINKS}/{body['id']}"
    assert ("custmaster.hierarchy_link.created", sub) in events(container)
    history = client.get(f"{API}/customers/{sub}/hierarchies/legal/links").json()
    assert [h["id"] for h in history] == [body["id"]]


def test_cycles_are_refused_at_any_date(client: TestClient) -> None:
    a, b, c = chain(client, "Alpha", "Beta", "Gamma")
    assert errors_of(link(client, c, a)) == {"parent_id": "cycle"}
    assert errors_of(link(client, a, a)) == {"parent_id": "self_parent"}
    assert errors_of(link(client, c, a, "2030-01-01")) == {"parent_id": "cycle"}
    # a link that ended before the new one starts makes no cycle
    d, e = customer(client, "Delta"), customer(client, "Epsilon")
    assert link(client, d, e, "2026-01-01", "2026-06-01").status_code == 201
    assert link(client, e, d, "2026-06-01").status_code == 201
    assert b


def test_a_child_has_one_parent_of_a_type_at_a_time(client: TestClient) -> None:
    p1, p2, child = customer(client, "P One"), customer(client, "P Two"), customer(client, "Kid")
    assert link(client, p1, child, "2026-01-01", "2026-07-01").status_code == 201
    assert errors_of(link(client, p2, child, "2026-06-01")) == {"child_id": "overlapping_parent"}
    assert link(client, p2, child, "2026-07-01").status_code == 201  # touching periods
    assert link(client, p1, child, "2026-03-01", kind="sales").status_code == 201  # other type


def test_unknown_types_customers_and_bad_periods_are_422(client: TestClient) -> None:
    a, b = customer(client, "Anna Co"), customer(client, "Bert Co")
    assert errors_of(link(client, a, b, kind="colour")) == {
        "hierarchy_type": "unknown_hierarchy_type"
    }
    ghost = "00000000-0000-4000-8000-000000000000"
    assert errors_of(link(client, ghost, b)) == {"parent_id": "unknown_customer"}
    assert errors_of(link(client, a, b, "2026-05-01", "2026-05-01")) == {
        "valid_to": "invalid_period"
    }
    missing = client.get(f"{API}/customers/{ghost}/hierarchies/legal")
    assert missing.status_code == 404


def test_reads_as_of_before_and_after_moving_a_subtree(
    client: TestClient, container: Container
) -> None:
    head, north, south = (
        customer(client, "Head"),
        customer(client, "North"),
        customer(client, "South"),
    )
    store, kiosk = customer(client, "Store"), customer(client, "Kiosk")
    for parent, child in ((head, north), (head, south), (north, store), (store, kiosk)):
        assert link(client, parent, child).status_code == 201
    moved = client.post(
        f"{API}/customers/{store}/hierarchies/legal/move",
        json={"new_parent_id": south, "effective_date": "2026-07-01"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["from_parent_id"], moved.json()["to_parent_id"]) == (north, south)
    assert [c["action"] for c in moved.json()["changes"]] == ["close", "open"]

    before = names(view(client, kiosk, "tree", "2026-06-30")["tree"])
    assert before == {"Head": {"North": {"Store": {"Kiosk": {}}}, "South": {}}}
    after = names(view(client, kiosk, "tree", "2026-07-01")["tree"])
    assert after == {"Head": {"North": {}, "South": {"Store": {"Kiosk": {}}}}}
    ancestors = view(client, kiosk, "ancestors", "2026-06-30")["items"]
    assert [(a["name"], a["distance"]) for a in ancestors] == [
        ("Store", 1),
        ("North", 2),
        ("Head", 3),
    ]
    assert [a["name"] for a in view(client, kiosk, "ancestors", "2026-07-01")["items"]] == [
        "Store",
        "South",
        "Head",
    ]
    descendants = view(client, south, "descendants", "2026-08-01")["items"]
    assert [(d["name"], d["depth"]) for d in descendants] == [("Store", 1), ("Kiosk", 2)]
    assert view(client, south, "descendants", "2026-06-01")["items"] == []
    subtree = view(client, north, "subtree", "2026-01-15")
    assert subtree["root_id"] == north and names(subtree["tree"]) == {
        "North": {"Store": {"Kiosk": {}}}
    }
    assert view(client, kiosk, "tree", "2025-12-31")["tree"]["children"] == []  # before any link

    flat = client.get(f"{API}/hierarchies/legal/flat", params={"as_of": "2026-07-01"}).json()
    rows = {r["name"]: r for r in flat["items"]}
    assert rows["Kiosk"]["level"] == 3 and rows["Kiosk"]["root_id"] == head
    assert rows["Kiosk"]["path"] == [head, south, store, kiosk]
    first = client.get(f"{API}/hierarchies/legal/flat", params={"as_of": "2026-07-01", "limit": 2})
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    rest = client.get(
        f"{API}/hierarchies/legal/flat",
        params={"as_of": "2026-07-01", "limit": 2, "cursor": first.json()["next_cursor"]},
    ).json()
    assert [r["name"] for r in first.json()["items"] + rest["items"]] == [
        r["name"] for r in flat["items"]
    ][:4]
    assert ("custmaster.hierarchy.moved", store) in events(container)


def test_a_move_that_would_create_a_cycle_or_change_nothing_is_refused(client: TestClient) -> None:
    top, mid, leaf = chain(client, "Top", "Mid", "Leaf")
    move = f"{API}/customers/{top}/hierarchies/legal/move"
    assert errors_of(
        client.post(move, json={"new_parent_id": leaf, "effective_date": "2026-05-01"})
    ) == {"new_parent_id": "cycle"}
    same = client.post(
        f"{API}/customers/{leaf}/hierarchies/legal/move",
        json={"new_parent_id": mid, "effective_date": "2026-05-01"},
    )
    assert errors_of(same) == {"new_parent_id": "no_change"}
    detach = client.post(
        f"{API}/customers/{mid}/hierarchies/legal/move",
        json={"new_parent_id": None, "effective_date": "2026-05-01"},
    )
    assert detach.status_code == 200 and detach.json()["to_parent_id"] is None
    assert view(client, leaf, "tree", "2026-05-01")["root_id"] == mid


def test_inherited_fields_flow_down_the_legal_hierarchy_with_provenance(client: TestClient) -> None:
    group = customer(
        client,
        "Group",
        customer_group="KEYACCT",
        payment_terms="NET45",
        overrides={"DE01": {"payment_terms": "NET60"}},
    )
    division = customer(client, "Division", customer_group="RETAIL")
    shop = customer(client, "Shop")
    assert link(client, group, division, "2026-02-01").status_code == 201
    assert link(client, division, shop, "2026-02-01").status_code == 201

    def effective(entity: str, as_of: str) -> dict[str, Any]:
        response = client.get(f"{API}/customers/{shop}", params={"entity": entity, "as_of": as_of})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    us = effective("US01", "2026-03-01")
    assert (us["customer_group"], us["payment_terms"]) == ("RETAIL", "NET45")
    assert us["inherited"] == {
        "customer_group": {"value": "RETAIL", "from": division, "hierarchy": "legal"},
        "payment_terms": {"value": "NET45", "from": group, "hierarchy": "legal"},
    }
    de = effective("DE01", "2026-03-01")
    assert de["inherited"]["payment_terms"] == {
        "value": "NET60",
        "from": group,
        "hierarchy": "legal",
    }
    before = effective("US01", "2026-01-15")
    assert before["inherited"] == {} and before["customer_group"] is None
    own = client.get(
        f"{API}/customers/{division}", params={"entity": "US01", "as_of": "2026-03-01"}
    )
    assert own.json()["customer_group"] == "RETAIL"
    assert own.json()["inherited"] == {
        "payment_terms": {"value": "NET45", "from": group, "hierarchy": "legal"}
    }
    master = client.get(f"{API}/customers/{shop}").json()
    assert master["customer_group"] is None and "inherited" not in master


def test_credit_limits_roll_up_the_subtree_as_of_a_date(client: TestClient) -> None:
    head = customer(client, "Roll Head", credit_limit="1000", currency="EUR")
    a = customer(client, "Roll A", credit_limit="200.50", currency="EUR")
    b = customer(client, "Roll B", credit_limit="300", currency="EUR")
    a1 = customer(client, "Roll A1", credit_limit="25", currency="EUR")
    for parent, child, start in (
        (head, a, "2026-01-01"),
        (head, b, "2026-06-01"),
        (a, a1, "2026-01-01"),
    ):
        assert link(client, parent, child, start).status_code == 201
    url = f"{API}/customers/{head}/rollup"
    early = client.get(url, params={"as_of": "2026-03-01"}).json()
    assert (early["own"], early["total"], early["nodes"]) == ("1000", "1225.50", 3)
    assert {c["name"]: c["total"] for c in early["children"]} == {"Roll A": "225.50"}
    late = client.get(url, params={"as_of": "2026-06-01", "figure": "credit_limit"}).json()
    assert late["total"] == "1525.50" and late["currencies"] == ["EUR"]
    assert client.get(url, params={"figure": "revenue"}).status_code == 422


def relate(
    client: TestClient,
    customer_id: str,
    related: str,
    kind: str = "ship_to",
    valid_from: str = "2026-01-01",
    **extra: Any,
) -> Any:
    body = {
        "customer_id": customer_id,
        "related_id": related,
        "relationship_type": kind,
        "valid_from": valid_from,
        **extra,
    }
    return client.post(f"{API}/relationships", json=body)


def test_many_relationships_of_a_type_but_one_primary_at_a_time(client: TestClient) -> None:
    buyer, dock1, dock2, dock3 = (
        customer(client, n) for n in ("Buyer", "Dock 1", "Dock 2", "Dock 3")
    )
    first = relate(client, buyer, dock1, is_primary=True, valid_to="2026-07-01")
    assert first.status_code == 201, first.text
    assert relate(client, buyer, dock2).status_code == 201  # another ship-to, not primary
    overlapping = relate(client, buyer, dock3, valid_from="2026-06-01", is_primary=True)
    assert errors_of(overlapping) == {"is_primary": "primary_overlap"}
    assert relate(client, buyer, dock3, valid_from="2026-07-01", is_primary=True).status_code == 201
    assert errors_of(relate(client, buyer, dock1, valid_from="2026-03-01")) == {
        "valid_from": "duplicate_relationship"
    }
    assert errors_of(relate(client, buyer, buyer)) == {"related_id": "self_relationship"}
    assert errors_of(relate(client, buyer, dock1, kind="friend")) == {
        "relationship_type": "unknown_relationship_type"
    }

    def active(as_of: str) -> list[tuple[str, bool]]:
        items = client.get(f"{API}/customers/{buyer}/relationships", params={"as_of": as_of}).json()
        return [(r["related"]["name"], r["is_primary"]) for r in items]

    assert active("2026-03-01") == [("Dock 1", True), ("Dock 2", False)]
    assert active("2026-08-01") == [("Dock 3", True), ("Dock 2", False)]
    incoming = client.get(
        f"{API}/customers/{dock2}/relationships", params={"direction": "incoming"}
    )
    assert [r["related"]["name"] for r in incoming.json()] == ["Buyer"]


def test_ending_and_deleting_relationships(client: TestClient, container: Container) -> None:
    payer, acct = customer(client, "Payer Co"), customer(client, "Account Co")
    rel = relate(client, acct, payer, kind="payer", is_primary=True).json()
    ended = client.post(f"{API}/relationships/{rel['id']}/end", json={"valid_to": "2026-04-01"})
    assert ended.status_code == 200 and ended.json()["valid_to"] == "2026-04-01"
    assert (
        relate(
            client, acct, payer, kind="payer", valid_from="2026-04-01", is_primary=True
        ).status_code
        == 201
    )
    bad = client.post(f"{API}/relationships/{rel['id']}/end", json={"valid_to": "2026-01-01"})
    assert errors_of(bad) == {"valid_to": "invalid_period"}
    assert client.delete(f"{API}/relationships/{rel['id']}").status_code == 204
    assert client.get(f"{API}/relationships/{rel['id']}").status_code == 404
    types = {kind for kind, _ in events(container)}
    assert {
        "custmaster.customer_relationship.created",
        "custmaster.customer_relationship.ended",
        "custmaster.customer_relationship.deleted",
    } <= types


def test_user_defined_relationship_types(client: TestClient) -> None:
    listed = client.get(f"{API}/relationship-types").json()
    assert [t["code"] for t in listed] == sorted(BUILTIN_RELATIONSHIP_TYPES)
    assert all(t["builtin"] for t in listed)
    created = client.post(
        f"{API}/relationship-types", json={"code": "franchisee", "name": "Franchisee"}
    )
    assert created.status_code == 201
    assert client.post(f"{API}/relationship-types", json={"code": "franchisee"}).status_code == 409
    assert errors_of(client.post(f"{API}/relationship-types", json={"code": "Bad Code"})) == {
        "code": "invalid_format"
    }
    owner, outlet = customer(client, "Owner"), customer(client, "Outlet")
    assert relate(client, outlet, owner, kind="franchisee").status_code == 201
    assert client.delete(f"{API}/relationship-types/franchisee").status_code == 409  # in use
    assert client.delete(f"{API}/relationship-types/bill_to").status_code == 409  # built-in
    assert client.delete(f"{API}/relationship-types/nothing").status_code == 404


def test_structure_changes_need_the_update_permission(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    a, b = customer(client, "Perm A"), customer(client, "Perm B")
    viewer = client_as("viewer")
    assert link(viewer, a, b).status_code == 403
    assert view(viewer, a, "tree", "2026-01-01")["root_id"] == a
    assert (
        viewer.post(
            f"{API}/org-units", json={"code": "EU", "kind": "region", "name": "EU"}
        ).status_code
        == 403
    )


def test_an_idempotent_retry_of_a_link_gets_the_first_answer(client: TestClient) -> None:
    a, b = customer(client, "Idem A"), customer(client, "Idem B")
    body = {"parent_id": a, "child_id": b, "valid_from": "2026-01-01"}
    headers = {"Idempotency-Key": "link-1"}
    first = client.post(LINKS, json=body, headers=headers)
    again = client.post(LINKS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len(client.get(f"{API}/customers/{b}/hierarchies/legal/links").json()) == 1


def test_a_hard_delete_records_the_links_and_relationships_it_takes_with_it(
    client: TestClient,
) -> None:
    parent, middle, child, dock = (
        customer(client, n) for n in ("Group Holding", "Group Sub", "Group Plant", "Group Dock")
    )
    up = link(client, parent, middle).json()
    down = link(client, middle, child).json()
    ship_to = relate(client, middle, dock).json()
    bill_to = relate(client, parent, middle, kind="bill_to").json()
    unit = {"code": "HQ", "kind": "sales_organisation", "name": "HQ"}
    assert client.post(f"{API}/org-units", json=unit).status_code == 201
    in_unit = client.post(
        f"{API}/org-units/HQ/customers", json={"customer_id": middle, "valid_from": "2026-01-01"}
    ).json()
    new_user(client.app.state.container, "kim", ["sales_rep"])  # type: ignore[attr-defined]
    team = {
        "user_id": "kim",
        "role": "key_account_manager",
        "valid_from": "2026-01-01",
        "customer_id": middle,
    }
    in_team = client.post(f"{API}/team-assignments", json=team).json()
    # what the delete evented, read from the outbox itself (the API's feed may hold back
    # on PostgreSQL while another test process has a transaction open: tests/factories)
    container = client.app.state.container  # type: ignore[attr-defined]
    before = len(outbox_events(container))
    assert client.delete(f"{API}/customers/{middle}").status_code == 204

    events = outbox_events(container)[before:]
    kinds = [e["type"].split(".")[1] for e in events]
    assert kinds.count("customer") == 1
    removed = {
        (kind, e["data"][kind]["id"])
        for kind, e in zip(kinds, events, strict=True)
        if kind != "customer"
    }
    assert removed == {
        ("hierarchy_link", up["id"]),
        ("hierarchy_link", down["id"]),
        ("customer_relationship", ship_to["id"]),
        ("customer_relationship", bill_to["id"]),
        ("org_unit_assignment", in_unit["id"]),
        ("team_assignment", in_team["id"]),
    }
    deleted = next(e for e in events if e["type"].endswith("hierarchy_link.deleted"))
    assert {c["field"]: c["after"] for c in deleted["data"]["changes"]}["child_id"] is None
    # the others' views no longer show them, and the database holds none
    assert client.get(f"{API}/customers/{child}/hierarchies/legal/links").json() == []
    assert client.get(f"{API}/relationships/{ship_to['id']}").status_code == 404
