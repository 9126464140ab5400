"""Governance through the HTTP API (issue 6): authentication, lanes, segregation of
duties, conflicts and rebases, object/property/function-level authorisation, and a
tamper-evident audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.persistence.audit_guard import suspended_guard
from custmaster.services.approval_policy_loader import load_policy
from tests.factories import acme, create, identity_provider, minimal

API = "/api/v1"
Make = Callable[..., TestClient]


@pytest.fixture
def strict(container: Container, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to switch to the shipped default policy (after any direct set-up)."""
    return lambda: monkeypatch.setattr(container, "policy", load_policy(None))


def steward_body(**changes: object) -> dict[str, object]:
    """The example customer without finance fields (a data steward may not set them)."""
    finance = {"credit_limit": None, "payment_terms": None, "currency": None, "overrides": None}
    return acme(**{**finance, **changes})


@pytest.fixture
def team(client: TestClient, client_as: Make) -> dict[str, TestClient]:
    """One user per role besides the admin "tester" (reference data in place)."""
    return {
        "steward": client_as("steward", roles=["data_steward"]),
        "ar": client_as("ar", roles=["ar_manager"]),
        "ctrl": client_as("ctrl", roles=["controller"]),
        "cfo": client_as("cfo", roles=["cfo"]),
        "viewer": client_as("viewer", roles=["viewer"]),
        "rep": client_as("rep", roles=["sales_rep"]),
        "ar2": client_as("ar2", roles=["ar_manager"]),
        "ctrl2": client_as("ctrl2", roles=["controller"]),
        "admin": client,
    }


def _approve(client: TestClient, request_id: str, comment: str = "ok") -> dict[str, object]:
    response = client.post(f"{API}/change-requests/{request_id}/approve", json={"comment": comment})
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_only_health_and_docs_answer_without_a_credential(bare_client: TestClient) -> None:
    anonymous = TestClient(bare_client.app)
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/docs").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200
    for path in (
        "/api/v1/customers",
        "/api/v1/events",
        "/api/v1/legal-entities",
        "/api/v1/change-requests",
    ):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    bad = anonymous.get("/api/v1/customers", headers={"Authorization": "Bearer cm_abc_def"})
    assert bad.status_code == 401
    schemes = anonymous.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"  # the docs page's Authorize button


def test_keys_are_shown_once_listed_by_prefix_and_revocable(
    bare_client: TestClient, container: Container, tmp_path: Path
) -> None:
    runner = CliRunner(
        env={
            "CUSTMASTER_DATABASE_URL": str(
                container.engine.url.render_as_string(hide_password=False)
            )
        }
    )
    result = runner.invoke(cli, ["users", "add", "dana", "--role", "viewer"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("cm_")
    listed = runner.invoke(cli, ["users", "list"]).output
    prefix = key.split("_")[1]
    assert prefix in listed and key not in listed
    dana = TestClient(bare_client.app, headers={"Authorization": f"Bearer {key}"})
    assert dana.get(f"{API}/customers").status_code == 200
    assert runner.invoke(cli, ["users", "revoke", prefix]).exit_code == 0
    assert dana.get(f"{API}/customers").status_code == 401


def test_jwt_bearer_tokens_map_a_claim_to_roles(
    bare_client: TestClient, container: Container, tmp_path: Path
) -> None:
    private, verifier = identity_provider(tmp_path)
    saved, container.token_verifier = container.token_verifier, verifier
    try:
        claims = {
            "sub": "u-42",
            "name": "Ola",
            "groups": ["mdm-readers"],
            "aud": "custmaster",
            "iss": "https://idp.example",
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        }
        token = jwt.encode(claims, private, algorithm="RS256")
        ola = TestClient(bare_client.app, headers={"Authorization": f"Bearer {token}"})
        assert ola.get(f"{API}/customers").status_code == 200
        assert ola.post(f"{API}/tax-codes", json={"code": "X", "name": "X"}).status_code == 403
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256")
        assert (
            TestClient(bare_client.app)
            .get(f"{API}/customers", headers={"Authorization": f"Bearer {forged}"})
            .status_code
            == 401
        )
        expired = jwt.encode(
            {**claims, "exp": datetime.now(UTC) - timedelta(minutes=1)}, private, algorithm="RS256"
        )
        assert (
            TestClient(bare_client.app)
            .get(f"{API}/customers", headers={"Authorization": f"Bearer {expired}"})
            .status_code
            == 401
        )
    finally:
        container.token_verifier = saved


def test_yellow_create_needs_ar_manager_then_controller(
    team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    strict()
    response = team["steward"].post(f"{API}/customers", json=steward_body())
    assert response.status_code == 202, response.text
    request = response.json()
    assert request["lane"] == "yellow" and request["status"] == "pending"
    assert [s["role"] for s in request["steps"]] == ["ar_manager", "controller"]
    assert team["admin"].get(f"{API}/customers").json()["items"] == []
    waiting = team["ar"].get(f"{API}/change-requests", params={"waiting_for_me": True}).json()
    assert [r["id"] for r in waiting["items"]] == [request["id"]]
    assert (
        team["ctrl"].get(f"{API}/change-requests", params={"waiting_for_me": True}).json()["items"]
        == []
    )
    # the controller's step is not reached yet
    early = team["ctrl"].post(f"{API}/change-requests/{request['id']}/approve", json={})
    assert early.status_code == 403
    _approve(team["ar"], request["id"])
    done = _approve(team["ctrl"], request["id"])
    assert done["status"] == "applied" and done["customer_id"]
    customer = team["admin"].get(f"{API}/customers/{done['customer_id']}").json()
    assert customer["name"] == "Acme Corporation"
    history = team["admin"].get(f"{API}/customers/{done['customer_id']}/history").json()["items"]
    assert history[0]["actor_id"] == "steward" and history[0]["change_request_id"] == request["id"]


def test_green_change_applies_at_once_and_red_adds_the_cfo(
    client: TestClient, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    customer = create(client, acme(overrides=None))
    strict()
    url = f"{API}/customers/{customer['id']}"
    green = team["steward"].patch(
        url, json={"notes": "prefers email", "website": "https://acme.example/x"}
    )
    assert green.status_code == 200 and green.json()["notes"] == "prefers email"
    red = team["ar"].patch(url, json={"credit_limit": "400000"})
    assert red.status_code == 202
    body = red.json()
    assert body["lane"] == "red"
    assert [s["role"] for s in body["steps"]] == ["ar_manager", "controller", "cfo"]
    assert any("credit limit" in reason for reason in body["reasons"])


def test_hard_delete_is_red_with_three_approvers(
    client: TestClient, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    customer = create(client, minimal())
    strict()
    url = f"{API}/customers/{customer['id']}"
    response = team["ctrl"].delete(url)
    assert response.status_code == 202
    request = response.json()
    assert request["lane"] == "red"
    assert [s["role"] for s in request["steps"]] == ["ar_manager", "controller", "cfo"]
    approve_url = f"{API}/change-requests/{request['id']}/approve"
    _approve(team["ar"], request["id"])
    # the submitter holds the controller role but may not approve their own request
    assert team["ctrl"].post(approve_url, json={}).status_code == 403
    _approve(team["ctrl2"], request["id"])
    # admin holds every permission but approves only steps of roles it holds
    assert team["admin"].post(approve_url, json={}).status_code == 403
    assert team["admin"].get(url).status_code == 200
    assert _approve(team["cfo"], request["id"])["status"] == "applied"
    assert team["admin"].get(url).status_code == 404
    operations = [e["operation"] for e in team["admin"].get(f"{url}/history").json()["items"]]
    assert operations == ["create", "delete"]


def test_segregation_of_duties_binds_admin_too(
    client_as: Make, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    strict()
    boss = client_as("boss", roles=["admin", "ar_manager", "controller"])
    submitted = boss.post(f"{API}/customers", json=minimal()).json()
    assert boss.post(f"{API}/change-requests/{submitted['id']}/approve", json={}).status_code == 403
    # one person never approves two steps
    other = (
        team["steward"]
        .post(f"{API}/customers", json=minimal("Initech", "ap@initech.example"))
        .json()
    )
    _approve(boss, other["id"])
    again = boss.post(f"{API}/change-requests/{other['id']}/approve", json={})
    assert again.status_code == 403
    assert "two steps" in again.json()["detail"]


def test_a_request_nobody_could_approve_is_refused_at_submission(
    client: TestClient, client_as: Make, strict: Callable[[], None]
) -> None:
    strict()
    lonely = client_as("lonely", roles=["ar_manager", "controller"])
    response = lonely.post(f"{API}/customers", json=minimal())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "steps"


def test_conflicted_when_the_same_field_changed_and_rebased_otherwise(
    client: TestClient, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    customer = create(client, acme(overrides=None))
    strict()
    url = f"{API}/customers/{customer['id']}"
    first = team["ar"].patch(url, json={"credit_limit": "60000", "notes": "raise"}).json()
    assert [s["role"] for s in first["steps"]] == ["ar_manager", "controller"]
    team["steward"].patch(url, json={"notes": "changed meanwhile"})  # green, same field
    _approve(team["ar2"], first["id"])
    resolved = _approve(team["ctrl"], first["id"])
    assert resolved["status"] == "conflicted"
    assert resolved["conflict_fields"] == ["notes"]
    assert team["admin"].get(url).json()["credit_limit"] == "50000"

    second = team["ar"].patch(url, json={"credit_limit": "70000"}).json()
    team["steward"].patch(url, json={"phone": "+1 415 555 0199"})  # another field meanwhile
    _approve(team["ar2"], second["id"])
    applied = _approve(team["ctrl"], second["id"])
    assert applied["status"] == "applied"
    after = team["admin"].get(url).json()
    assert after["credit_limit"] == "70000" and after["phone"] == "+14155550199"


def test_entity_scoped_users_see_and_change_only_their_entities(
    client: TestClient, client_as: Make
) -> None:
    """Object-level authorisation (under the tests' direct policy, so changes apply)."""
    customer = create(client, acme())
    url = f"{API}/customers/{customer['id']}"
    de = client_as("de-ar", roles=["ar_manager"], entities=["DE01"])
    assert de.get(url, params={"entity": "US01"}).status_code == 403
    assert de.get(url, params={"entity": "DE01"}).json()["credit_limit"] == "80000"
    assert set(de.get(url).json()["overrides"]) == {"DE01"}
    us_change = {"overrides": [{"action": "update", "entity": "US01", "credit_limit": "1"}]}
    assert de.patch(url, json=us_change).status_code == 403
    assert de.patch(url, json={"notes": "master field"}).status_code == 403
    de_change = {"overrides": [{"action": "update", "entity": "DE01", "credit_limit": "85000"}]}
    assert de.patch(url, json=de_change).status_code == 200
    assert client.get(url, params={"entity": "DE01"}).json()["credit_limit"] == "85000"


def test_property_and_function_level_authorisation(
    client: TestClient, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    customer = create(client, acme(overrides=None))
    strict()
    url = f"{API}/customers/{customer['id']}"
    assert team["rep"].patch(url, json={"credit_limit": "1"}).status_code == 403
    assert team["steward"].patch(url, json={"payment_terms": "NET60"}).status_code == 403
    assert team["viewer"].patch(url, json={"notes": "x"}).status_code == 403
    assert team["viewer"].post(f"{API}/customers", json=minimal()).status_code == 403
    proposal = team["rep"].patch(url, json={"notes": "met the buyer"})
    assert proposal.status_code == 202  # a propose-only user's green change is reviewed
    assert [s["role"] for s in proposal.json()["steps"]] == ["data_steward"]
    request_id = proposal.json()["id"]
    assert (
        team["viewer"].post(f"{API}/change-requests/{request_id}/approve", json={}).status_code
        == 403
    )
    assert team["ar"].post(f"{API}/change-requests/{request_id}/withdraw").status_code == 403
    withdrawn = team["rep"].post(f"{API}/change-requests/{request_id}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"


def test_reject_records_the_reason(team: dict[str, TestClient], strict: Callable[[], None]) -> None:
    strict()
    request = team["steward"].post(f"{API}/customers", json=minimal()).json()
    rejected = team["ar"].post(
        f"{API}/change-requests/{request['id']}/reject", json={"reason": "duplicate of C000001"}
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["steps"][0]["comment"] == "duplicate of C000001"
    assert (
        team["ctrl"].post(f"{API}/change-requests/{request['id']}/approve", json={}).status_code
        == 409
    )


def test_audit_is_append_only_and_verify_names_a_tampered_entry(
    client: TestClient, container: Container
) -> None:
    create(client, acme())
    create(client, minimal())
    url = container.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", "--database-url", url])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    for statement in ("UPDATE audit_log SET actor_name = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), container.engine.begin() as connection:
            connection.execute(text(statement))
    if not container.is_sqlite:
        with pytest.raises(Exception, match="append-only"), container.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    with container.engine.begin() as connection, suspended_guard(connection):
        target = connection.execute(
            text("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 3")
        ).scalar_one()
        connection.execute(
            text("UPDATE audit_log SET actor_name = 'mallory' WHERE id = :id"), {"id": target}
        )
    broken = runner.invoke(cli, ["audit", "verify", "--database-url", url])
    assert broken.exit_code == 1
    assert f"entry {target}" in broken.output


def test_personal_data_export_and_erasure_by_anonymisation(
    client: TestClient, client_as: Make, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    person = create(
        client,
        {
            "kind": "person",
            "name": "Erika Mustermann",
            "first_name": "Erika",
            "owning_entity": "DE01",
            "last_name": "Mustermann",
            "email": "erika@mail.example",
            "phone": "+49 30 1234567",
            "credit_limit": "2000",
            "addresses": [
                {
                    "type": "billing",
                    "lines": ["Hauptstr. 1"],
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE",
                }
            ],
        },
    )
    url = f"{API}/customers/{person['id']}"
    exported = team["steward"].get(f"{url}/personal-data").json()
    assert exported["customer"]["email"] == "erika@mail.example"
    assert [e["operation"] for e in exported["history"]] == ["create"]
    assert team["viewer"].get(f"{url}/personal-data").status_code == 403
    steward2 = client_as("steward2", roles=["data_steward"])
    strict()
    request = team["steward"].post(f"{url}/erase")
    assert request.status_code == 202, request.text
    assert request.json()["lane"] == "red"
    assert [s["role"] for s in request.json()["steps"]] == ["data_steward", "controller"]
    approve = f"{API}/change-requests/{request.json()['id']}/approve"
    assert team["ar"].post(approve, json={}).status_code == 403  # not a data steward
    _approve(steward2, request.json()["id"])
    assert _approve(team["ctrl"], request.json()["id"])["status"] == "applied"
    assert team["admin"].get(url).json()["last_name"] is None


def test_erasure_applied_keeps_financial_history(client: TestClient) -> None:
    person = create(
        client,
        {
            "kind": "person",
            "name": "Max Muster",
            "first_name": "Max",
            "last_name": "Muster",
            "owning_entity": "DE01",
            "email": "max@mail.example",
            "credit_limit": "1500",
            "contacts": [{"first_name": "Max", "last_name": "Muster", "email": "max@work.example"}],
            "addresses": [
                {
                    "type": "billing",
                    "lines": ["Weg 2"],
                    "city": "Köln",
                    "postal_code": "50667",
                    "country": "DE",
                }
            ],
        },
    )
    url = f"{API}/customers/{person['id']}"
    erased = client.post(f"{url}/erase")
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["name"] == f"Anonymised {person['number']}"
    assert (body["first_name"], body["last_name"], body["phone"]) == (None, None, None)
    assert body["email"].endswith("@anonymised.example")
    assert body["addresses"][0]["lines"] == ["(erased)"] and body["addresses"][0]["city"] == "Köln"
    assert body["contacts"][0]["email"] != "max@work.example"
    assert body["credit_limit"] == "1500" and body["number"] == person["number"]
    history = client.get(f"{url}/history").json()["items"]
    assert [e["operation"] for e in history] == ["create", "update"]
    organisation = create(client, acme(overrides=None))
    assert client.post(f"{API}/customers/{organisation['id']}/erase").status_code == 422
    contact_id = organisation["contacts"][0]["id"]
    contact_export = client.get(
        f"{API}/customers/{organisation['id']}/contacts/{contact_id}/personal-data"
    ).json()
    assert contact_export["contact"]["email"] == "dana.lee@acme.example"
    assert all(
        c["field"].startswith(f"contacts[{contact_id}]")
        for e in contact_export["history"]
        for c in e["changes"]
    )
    done = client.post(f"{API}/customers/{organisation['id']}/contacts/{contact_id}/erase")
    assert done.json()["contacts"][0]["last_name"] == "(erased)"


def test_merges_and_unmerges_go_through_the_approval_policy(
    client: TestClient, client_as: Make, team: dict[str, TestClient], strict: Callable[[], None]
) -> None:
    survivor = create(client, minimal("Globex GmbH", "ap@globex.example"))
    absorbed = [create(client, minimal(f"Globex {i}", f"ap{i}@globex.example")) for i in range(4)]
    steward2 = client_as("steward2", roles=["data_steward"])
    strict()
    body = {"absorbed_ids": [a["id"] for a in absorbed]}
    pending = team["steward"].post(f"{API}/customers/{survivor['id']}/merge", json=body)
    assert pending.status_code == 202, pending.text
    request = pending.json()
    assert request["operation"] == "merge"
    assert [s["role"] for s in request["steps"]] == ["data_steward", "ar_manager"]
    assert team["admin"].get(f"{API}/customers/{absorbed[0]['id']}").status_code == 200
    _approve(steward2, request["id"])
    assert _approve(team["ar"], request["id"])["status"] == "applied"
    for record in absorbed:
        assert team["admin"].get(f"{API}/customers/{record['id']}").status_code == 410
    merge_id = (
        team["admin"]
        .get(f"{API}/customers/{survivor['id']}/history")
        .json()["items"][-1]["change_request_id"]
    )
    assert merge_id == request["id"]
    gone = team["admin"].get(f"{API}/customers/{absorbed[0]['id']}").json()
    undo = team["steward"].post(f"{API}/merges/{gone['merge_ids'][0]}/unmerge")
    assert undo.status_code == 202
    _approve(steward2, undo.json()["id"])
    assert _approve(team["ar"], undo.json()["id"])["status"] == "applied"
    assert team["admin"].get(f"{API}/customers/{absorbed[0]['id']}").status_code == 200
