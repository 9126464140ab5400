"""Merge (more than three records), unmerge exactness, absorbed ids and cross-references
(issue 4), through the HTTP API on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import acme, create, minimal, outbox_events

API = "/api/v1"


def get(client: TestClient, customer_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/customers/{customer_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def merge(client: TestClient, survivor: str, absorbed: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/customers/{survivor}/merge", json={"absorbed_ids": absorbed, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"source_system": s, "source_id": i} for s, i in pairs]


def five_duplicates(client: TestClient) -> list[dict[str, Any]]:
    """Acme as known by five systems, with overlapping and distinct child records."""
    survivor = create(client, acme(source_refs=refs(("salesforce", "001A"))))
    same_address = {
        "type": "billing",
        "lines": ["100 Market Street"],
        "city": "san francisco",
        "postal_code": "94105",
        "country": "US",
        "is_primary": True,
    }
    shipping = {
        "type": "shipping",
        "lines": ["1 Dock Rd"],
        "city": "Oakland",
        "postal_code": "94607",
        "country": "US",
    }
    b = create(
        client,
        minimal(
            "ACME Corp",
            "AP@acme.example",
            phone="+1 415 555 0199",
            addresses=[same_address],
            contacts=[
                {
                    "first_name": "Dana",
                    "last_name": "Lee",
                    "email": "DANA.LEE@acme.example",
                    "is_primary": True,
                },
                {"last_name": "Kim", "email": "kim@acme.example", "is_primary": False},
            ],
            source_refs=refs(("sap", "4711")),
            overrides={
                "DE01": {"credit_limit": "70000", "payment_terms": "NET60"},
                "US01": {"credit_limit": "1", "payment_method": "ACH"},
            },
        ),
    )
    c = create(
        client,
        minimal(
            "Acme Corporation",
            "orders@acme.example",
            addresses=[shipping],
            legal_name="Acme Corporation International Holdings",
            pricing_tiers=[
                {
                    "item": "WIDGET-1",
                    "unit_price": "9.50",
                    "currency": "USD",
                    "min_quantity": 100,
                    "max_quantity": 999,
                    "effective_from": "2026-01-01",
                    "effective_to": "2026-12-31",
                },
                {"item": "GADGET-2", "unit_price": "3.10", "currency": "USD"},
            ],
            source_refs=refs(("hubspot", "99"), ("d365", "US01/C-7")),
        ),
    )
    d = create(
        client,
        minimal(
            "Acme Corp.",
            "ap@acme.example",
            notes="Prefers invoices by email; see the contract",
            tax_profiles=[
                {"tax_code": "EXEMPT-RESALE", "certificate_number": "ca-rs-1234"},
                {"tax_code": "STANDARD"},
            ],
            metadata={"crm_segment": "B", "legacy_id": "L-17"},
            pricing_tiers=[
                {
                    "item": "WIDGET-1",
                    "unit_price": "8.00",
                    "currency": "USD",
                    "min_quantity": 500,
                    "max_quantity": 2000,
                }
            ],
            source_refs=refs(("legacy_erp", "K100")),
        ),
    )
    e = create(
        client,
        minimal("ACME Corporation", "billing@acme.example", source_refs=refs(("netsuite", "55"))),
    )
    return [survivor, b, c, d, e]


def test_merge_of_five_records_applies_survivorship_and_moves_children(
    client: TestClient,
) -> None:
    records = five_duplicates(client)
    survivor, b, c, d, e = records
    absorbed = [r["id"] for r in records[1:]]
    body = merge(
        client,
        survivor["id"],
        absorbed,
        choices={"credit_limit": {"value": "75000"}, "phone": {"from": b["id"]}},
    )
    golden = body["customer"]
    assert golden["id"] == survivor["id"] and golden["number"] == survivor["number"]
    assert golden["version"] == survivor["version"] + 1
    # rules: steward's choices, most_complete, source_priority (sap first), union
    assert golden["credit_limit"] == "75000" and golden["phone"] == "+14155550199"
    assert golden["legal_name"] == "Acme Corporation International Holdings"
    assert golden["notes"] == d["notes"]
    assert golden["email"] == "AP@acme.example"  # from the sap record
    assert golden["metadata"] == {"crm_segment": "A", "legacy_id": "L-17"}
    assert body["rules"]["credit_limit"] == "steward_choice"
    assert body["rules"]["email"] == "source_priority" and body["sources"]["email"] == b["id"]
    # children moved and de-duplicated
    assert len(golden["addresses"]) == 2  # the same billing address once, plus shipping
    assert [a["is_primary"] for a in golden["addresses"]] == [True, False]
    assert sorted(c_["email"].lower() for c_ in golden["contacts"]) == [
        "dana.lee@acme.example",
        "kim@acme.example",
    ]
    assert sorted((t["item"], t["min_quantity"]) for t in golden["pricing_tiers"]) == [
        ("GADGET-2", 1),
        ("WIDGET-1", 100),
    ]
    assert [x["reason"].startswith("overlaps") for x in body["dropped"]] == [True]
    assert sorted(t["tax_code"] for t in golden["tax_profiles"]) == ["EXEMPT-RESALE", "STANDARD"]
    # overrides combined per entity: the survivor wins, the absorbed fill the gaps
    assert golden["overrides"]["US01"]["credit_limit"] == "100000"
    assert golden["overrides"]["US01"]["payment_method"] == "ACH"
    assert golden["overrides"]["DE01"]["credit_limit"] == "80000"
    assert golden["overrides"]["DE01"]["payment_terms"] == "NET45"
    assert {(r["source_system"], r["source_id"]) for r in golden["source_refs"]} == {
        ("salesforce", "001A"),
        ("sap", "4711"),
        ("hubspot", "99"),
        ("d365", "US01/C-7"),
        ("legacy_erp", "K100"),
        ("netsuite", "55"),
    }
    assert get(client, survivor["id"]) == {**golden, "warnings": []}
    # absorbed ids answer with a pointer to the survivor
    for record in (b, c, d, e):
        gone = client.get(f"{API}/customers/{record['id']}")
        assert gone.status_code == 410
        assert gone.headers["content-type"].startswith("application/problem+json")
        assert gone.headers["location"] == f"{API}/customers/{survivor['id']}"
        assert gone.json()["survivor_id"] == survivor["id"]
        assert gone.json()["merge_ids"] == [body["merge_id"]]
        assert (
            client.patch(f"{API}/customers/{record['id']}", json={"notes": "x"}).status_code == 410
        )
        history = client.get(f"{API}/customers/{record['id']}/history").json()["items"]
        assert history[-1]["operation"] == "absorb"
    listed = client.get(f"{API}/customers").json()["items"]
    assert [c_["id"] for c_ in listed] == [survivor["id"]]
    # events for every record touched
    events = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    touched = [
        (ev["type"], ev["subject"])
        for ev in events
        if ev["type"].split(".")[-1] in ("merged", "absorbed")
    ]
    assert touched == [("custmaster.customer.merged", survivor["id"])] + [
        ("custmaster.customer.absorbed", i) for i in absorbed
    ]
    record = client.get(f"{API}/merges/{body['merge_id']}").json()
    assert [s["id"] for s in record["absorbed"]] == absorbed and record["unmerged_at"] is None


def test_merge_refuses_bad_requests(client: TestClient) -> None:
    a = create(client, acme())
    b = create(client, minimal())
    url = f"{API}/customers/{a['id']}/merge"
    assert client.post(url, json={"absorbed_ids": []}).status_code == 422
    assert client.post(url, json={"absorbed_ids": [a["id"]]}).status_code == 422
    assert client.post(url, json={"absorbed_ids": [b["id"], b["id"]]}).status_code == 422
    bad_choice = client.post(
        url, json={"absorbed_ids": [b["id"]], "choices": {"email": {"value": "nope"}}}
    )
    assert bad_choice.status_code == 422
    assert bad_choice.json()["errors"][0]["field"] == "choices.email.value"
    stale = client.post(url, json={"absorbed_ids": [b["id"]]}, headers={"If-Match": '"9"'})
    assert stale.status_code == 412
    missing = "00000000-0000-0000-0000-000000000001"
    assert client.post(url, json={"absorbed_ids": [missing]}).status_code == 404
    assert get(client, b["id"])["version"] == 1  # nothing happened


def test_unmerge_restores_every_absorbed_record_exactly_and_keeps_later_changes(
    client: TestClient,
) -> None:
    records = five_duplicates(client)
    survivor = records[0]
    before = {r["id"]: get(client, r["id"]) for r in records}
    body = merge(
        client,
        survivor["id"],
        [r["id"] for r in records[1:]],
        choices={"credit_limit": {"value": "75000"}},
    )
    golden = body["customer"]
    assert client.post(f"{API}/account-tiers", json={"code": "gold", "name": "Gold"}).is_success
    # after the merge: change a field the merge set, a field it did not, add a child
    patched = client.patch(
        f"{API}/customers/{survivor['id']}",
        json={
            "legal_name": "Acme Corporation (renamed)",
            "account_tier": "gold",
            "contacts": [{"action": "add", "last_name": "New", "email": "new@acme.example"}],
        },
    )
    assert patched.status_code == 200, patched.text
    undone = client.post(f"{API}/merges/{body['merge_id']}/unmerge")
    assert undone.status_code == 200, undone.text
    restored = undone.json()["restored"]
    for snapshot in restored:
        assert snapshot == before[snapshot["id"]]
    for record in records[1:]:
        assert get(client, record["id"]) == before[record["id"]]  # exactly as they were
    now = get(client, survivor["id"])
    assert now["credit_limit"] == before[survivor["id"]]["credit_limit"]  # merge undone
    assert now["metadata"] == before[survivor["id"]]["metadata"]
    assert now["legal_name"] == "Acme Corporation (renamed)"  # later change wins
    assert now["account_tier"] == "gold"
    assert golden["legal_name"] != now["legal_name"]
    assert [c["email"] for c in now["contacts"]] == ["dana.lee@acme.example", "new@acme.example"]
    for kind in ("addresses", "pricing_tiers", "tax_profiles", "source_refs", "overrides"):
        assert now[kind] == before[survivor["id"]][kind]
    assert now["version"] == patched.json()["version"] + 1
    again = client.post(f"{API}/merges/{body['merge_id']}/unmerge")
    assert again.status_code == 409
    history = client.get(f"{API}/customers/{survivor['id']}/history").json()["items"]
    assert [h["operation"] for h in history][-3:] == ["merge", "update", "unmerge"]
    events = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    unmerged = [ev["subject"] for ev in events if ev["type"] == "custmaster.customer.unmerged"]
    assert sorted(unmerged) == sorted(r["id"] for r in records)
    # the restored records are match targets again
    found = client.post(f"{API}/match", json={"email": "billing@acme.example"}).json()["items"]
    assert records[4]["id"] in [m["customer_id"] for m in found]


def test_xrefs_resolve_to_the_golden_record_following_two_merges(client: TestClient) -> None:
    a = create(client, minimal("Acme A", "a@acme.example", source_refs=refs(("crm", "1"))))
    b = create(client, minimal("Acme B", "b@acme.example", source_refs=refs(("erp", "2"))))
    c = create(client, minimal("Acme C", "c@acme.example", source_refs=refs(("web", "3"))))
    first = merge(client, b["id"], [a["id"]])["merge_id"]
    second = merge(client, c["id"], [b["id"]])["merge_id"]
    resolved = client.get(f"{API}/xrefs/crm/1")
    assert resolved.status_code == 200
    assert resolved.json() == {
        "customer_id": c["id"],
        "number": c["number"],
        "followed": [first, second],
    }
    assert client.get(f"{API}/xrefs/erp/2").json()["followed"] == [second]
    assert client.get(f"{API}/xrefs/web/3").json()["followed"] == []
    assert client.get(f"{API}/xrefs/crm/404").status_code == 404
    gone = client.get(f"{API}/customers/{a['id']}")
    assert gone.status_code == 410 and gone.json()["survivor_id"] == c["id"]
    assert gone.json()["merge_ids"] == [first, second]
    listed = client.get(f"{API}/customers/{c['id']}/xrefs").json()
    assert listed["customer_id"] == c["id"]
    assert {(x["source_system"], x["source_id"], x["via_merge"]) for x in listed["xrefs"]} == {
        ("crm", "1", second),
        ("erp", "2", second),
        ("web", "3", None),
    }
    # the first merge cannot be undone while its survivor is absorbed; the second can
    assert client.post(f"{API}/merges/{first}/unmerge").status_code == 409
    assert client.post(f"{API}/merges/{second}/unmerge").status_code == 200
    assert client.get(f"{API}/xrefs/crm/1").json() == {
        "customer_id": b["id"],
        "number": b["number"],
        "followed": [first],
    }
    assert client.post(f"{API}/merges/{first}/unmerge").status_code == 200
    assert client.get(f"{API}/xrefs/crm/1").json()["customer_id"] == a["id"]
    assert get(client, a["id"])["source_refs"] == refs(("crm", "1"))
