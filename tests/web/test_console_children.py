"""Addresses and contacts edited in the console (HTTP, both databases): add, change and
remove through the API's change (``PATCH`` action lists; a legal entity's override
addresses through its override), messages beside the fields, the approval policy (an
address change waits for approval in a change request), the legal-entity scope, CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.conftest import new_user
from tests.factories import create, minimal
from tests.web.test_console_http import sign_in

_REQUEST = re.compile(r"/console/change-requests/([0-9a-f-]{36})\?flash=submitted")


@pytest.fixture
def widgets(client: TestClient) -> dict[str, Any]:
    """Owned by GB01, a billing address, a contact, DE01's override with its own address."""
    return create(
        client,
        minimal(
            "Global Widgets",
            "ap@globalwidgets.example",
            owning_entity="GB01",
            addresses=[
                {"type": "billing", "lines": ["1 High St"], "city": "London", "country": "GB"}
            ],
            contacts=[{"first_name": "Ada", "last_name": "Byron", "email": "ada@gw.example"}],
            overrides={
                "DE01": {
                    "credit_limit": "70000",
                    "addresses": [
                        {
                            "type": "billing",
                            "lines": ["Hauptstr. 5"],
                            "city": "Berlin",
                            "country": "DE",
                        }
                    ],
                }
            },
        ),
    )


def _record(client: TestClient, customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/api/v1/customers/{customer_id}").json()
    return found


ADDRESS = {
    "type": "shipping",
    "lines": "Unit 4\nDock Road",
    "city": "Leeds",
    "postal_code": "LS1 1AA",
    "country": "GB",
}


def test_contacts_added_changed_and_removed_through_the_apis_change(
    app: FastAPI, client: TestClient, container: Container, widgets: dict[str, Any]
) -> None:
    key = new_user(container, "editor", ["data_steward"])
    session, csrf = sign_in(app, key)
    base = f"/console/customers/{widgets['id']}"
    page = session.get(base)
    assert f'href="{base}/contacts/new"' in page.text
    assert session.get(f"{base}/contacts/new").status_code == 200
    url = f"{base}/contacts/new"
    assert session.post(url, data={"last_name": "Lovelace"}).status_code == 403  # no CSRF
    invalid = session.post(url, data={"csrf_token": csrf, "email": "not an e-mail"})
    assert invalid.status_code == 422
    assert 'data-testid="error-email"' in invalid.text  # the message beside the field
    assert 'aria-describedby="e-email"' in invalid.text
    assert 'value="not an e-mail"' in invalid.text  # what was typed stays
    added = session.post(
        url,
        data={"csrf_token": csrf, "first_name": "Grace", "last_name": "Hopper", "role": "AP"},
    )
    assert added.status_code == 303 and "flash=applied" in added.headers["location"]
    contacts = {c["last_name"]: c for c in _record(client, widgets["id"])["contacts"]}
    assert set(contacts) == {"Byron", "Hopper"} and contacts["Hopper"]["role"] == "AP"
    grace = contacts["Hopper"]["id"]

    edit = f"{base}/contacts/{grace}/edit"
    assert 'value="Grace"' in session.get(edit).text
    same = session.post(
        edit, data={"csrf_token": csrf, "first_name": "Grace", "last_name": "Hopper", "role": "AP"}
    )
    assert same.status_code == 422 and "Nothing changed." in same.text
    changed = session.post(
        edit,
        data={"csrf_token": csrf, "first_name": "Grace", "last_name": "Hopper", "sellable": "on"},
    )
    assert changed.status_code == 303, changed.text[:500]
    now = next(c for c in _record(client, widgets["id"])["contacts"] if c["id"] == grace)
    assert now["sellable"] is True and now["role"] is None  # the emptied role is cleared
    permanent = session.post(
        edit, data={"csrf_token": csrf, "first_name": "Grace", "last_name": "Hopper"}
    )
    assert permanent.status_code == 422
    assert 'data-testid="error-sellable"' in permanent.text  # the domain's rule, beside it

    remove = f"{base}/contacts/{contacts['Byron']['id']}/remove"
    confirm = session.get(remove)
    assert confirm.status_code == 200 and "Byron" in confirm.text
    assert [c["last_name"] for c in _record(client, widgets["id"])["contacts"]].count("Byron")
    assert session.post(remove, data={}).status_code == 403  # no CSRF
    done = session.post(remove, data={"csrf_token": csrf})
    assert done.status_code == 303
    assert [c["last_name"] for c in _record(client, widgets["id"])["contacts"]] == ["Hopper"]
    history = client.get(f"/api/v1/customers/{widgets['id']}/history").json()["items"]
    assert history[-1]["actor_id"] == "editor"  # audited as the signed-in user
    gone = session.get(remove)
    assert gone.status_code == 404


def test_master_addresses_and_an_entitys_override_addresses(
    app: FastAPI, client: TestClient, container: Container, widgets: dict[str, Any]
) -> None:
    key = new_user(container, "editor", ["data_steward"])
    session, csrf = sign_in(app, key)
    base = f"/console/customers/{widgets['id']}"
    missing = session.post(f"{base}/addresses/new", data={"csrf_token": csrf, "type": "shipping"})
    assert missing.status_code == 422
    assert 'data-testid="error-country"' in missing.text
    assert "Field required" in missing.text
    no_lines = session.post(
        f"{base}/addresses/new", data={"csrf_token": csrf, "type": "shipping", "country": "GB"}
    )
    assert no_lines.status_code == 422 and 'data-testid="error-lines"' in no_lines.text
    added = session.post(f"{base}/addresses/new", data={"csrf_token": csrf, **ADDRESS})
    assert added.status_code == 303, added.text[:500]
    addresses = {a["type"]: a for a in _record(client, widgets["id"])["addresses"]}
    assert addresses["shipping"]["lines"] == ["Unit 4", "Dock Road"]
    billing = addresses["billing"]["id"]
    bad = session.post(
        f"{base}/addresses/{billing}/edit",
        data={"csrf_token": csrf, "type": "billing", "lines": "1 High St", "country": "XX"},
    )
    assert bad.status_code == 422 and 'data-testid="error-country"' in bad.text
    moved = session.post(
        f"{base}/addresses/{billing}/edit",
        data={"csrf_token": csrf, "type": "billing", "lines": "2 High St", "country": "GB"},
    )
    assert moved.status_code == 303
    after = {a["type"]: a for a in _record(client, widgets["id"])["addresses"]}
    assert after["billing"]["lines"] == ["2 High St"] and after["billing"]["city"] is None

    # DE01's own addresses: on its tab, changed through its override
    tab = session.get(f"{base}?entity=DE01")
    override = _record(client, widgets["id"])["overrides"]["DE01"]
    berlin = override["addresses"][0]["id"]
    assert f"{base}/addresses/{berlin}/edit?entity=DE01" in tab.text
    assert "Add an address for DE01" in tab.text
    shipped = session.post(
        f"{base}/addresses/new?entity=DE01", data={"csrf_token": csrf, **ADDRESS, "country": "DE"}
    )
    assert shipped.status_code == 303 and "entity=DE01" in shipped.headers["location"]
    override = _record(client, widgets["id"])["overrides"]["DE01"]
    assert sorted(a["type"] for a in override["addresses"]) == ["billing", "shipping"]
    assert override["credit_limit"] == "70000"  # the rest of the override stays
    berlin = next(a["id"] for a in override["addresses"] if a["type"] == "billing")
    removed = session.post(
        f"{base}/addresses/{berlin}/remove?entity=DE01", data={"csrf_token": csrf}
    )
    assert removed.status_code == 303
    override = _record(client, widgets["id"])["overrides"]["DE01"]
    assert [a["type"] for a in override["addresses"]] == ["shipping"]
    assert len(_record(client, widgets["id"])["addresses"]) == 2  # the master's untouched
    # a legal entity has no contacts of its own
    assert session.get(f"{base}/contacts/new?entity=DE01").status_code == 404


def test_an_address_change_under_the_policy_opens_a_change_request(
    app: FastAPI, client: TestClient, container: Container, widgets: dict[str, Any]
) -> None:
    key = new_user(container, "proposer", ["data_steward"])
    new_user(container, "arm", ["ar_manager"])  # the approvers the shipped policy names
    new_user(container, "ctrl", ["controller"])
    session, csrf = sign_in(app, key)
    direct, container.policy = container.policy, load_policy(None)  # the shipped policy
    try:
        base = f"/console/customers/{widgets['id']}"
        submitted = session.post(f"{base}/addresses/new", data={"csrf_token": csrf, **ADDRESS})
        assert submitted.status_code == 303
        found = _REQUEST.search(submitted.headers["location"])
        assert found, submitted.headers["location"]
        request = client.get(f"/api/v1/change-requests/{found[1]}").json()
        assert request["status"] == "pending" and request["submitted_by"] == "proposer"
        assert [a["type"] for a in _record(client, widgets["id"])["addresses"]] == ["billing"]
        # contacts are low-risk under the shipped policy: applied at once
        contact = session.post(
            f"{base}/contacts/new", data={"csrf_token": csrf, "email": "ap2@gw.example"}
        )
        assert contact.status_code == 303 and "flash=applied" in contact.headers["location"]
    finally:
        container.policy = direct


def test_a_gb01_user_changes_no_master_address_and_no_de01_address(
    app: FastAPI, client: TestClient, container: Container, widgets: dict[str, Any]
) -> None:
    key = new_user(container, "gb-steward", ["data_steward"], ["GB01"])
    session, csrf = sign_in(app, key)
    base = f"/console/customers/{widgets['id']}"
    before = _record(client, widgets["id"])
    berlin = before["overrides"]["DE01"]["addresses"][0]["id"]
    assert session.get(f"{base}/addresses/{berlin}/edit?entity=DE01").status_code == 404
    refused = session.post(
        f"{base}/addresses/new?entity=DE01", data={"csrf_token": csrf, **ADDRESS}
    )
    assert refused.status_code in (403, 409, 422), refused.text[:300]
    assert "Berlin" not in refused.text and "70000" not in refused.text
    master = session.post(f"{base}/addresses/new", data={"csrf_token": csrf, **ADDRESS})
    assert master.status_code in (403, 409), master.text[:300]
    assert "may change only their overrides" in master.text
    assert _record(client, widgets["id"]) == before
    viewer, _ = sign_in(app, new_user(container, "looker", ["viewer"]))
    assert viewer.get(f"{base}/contacts/new").status_code == 403
    assert "/contacts/new" not in viewer.get(base).text  # no links to what it may not do
