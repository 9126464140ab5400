"""Text no database column can hold alike is refused at the edge (issue 12, items 3 and
5), through HTTP on SQLite and PostgreSQL: a lone surrogate or a NUL in a JSON body, the
path or the query string answers 422 naming the field, on the routes and the fast path
alike; nothing is left behind, and /events, the change requests, audit sealing and
``custmaster audit verify`` keep working. An import file's cells of that kind fail their
row, reported per row."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.persistence.audit import AuditSealer
from custmaster.services.approval_policy_loader import load_policy
from tests.conftest import fast_path_answers
from tests.factories import create, minimal

API = "/api/v1"
POISON = "Poison \ud800 Ltd"


def send(client: TestClient, method: str, url: str, body: Any, **headers: str) -> Response:
    """``body`` as JSON with ``\\uXXXX`` escapes (a lone surrogate cannot be UTF-8)."""
    return client.request(
        method,
        url,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **headers},
    )


def refused(response: Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["code"] == "invalid_text" and error["field"] == field, error


@pytest.fixture
def governed_team(
    client: TestClient,
    client_as: Callable[..., TestClient],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> TestClient:
    """The shipped policy (creates wait for approval), with approvers who could approve."""
    for name, role in (
        ("ar", "ar_manager"),
        ("ar2", "ar_manager"),
        ("ctrl", "controller"),
        ("ctrl2", "controller"),
    ):
        client_as(name, roles=[role])
    monkeypatch.setattr(container, "policy", load_policy(None))
    return client


def test_a_poisoned_create_is_refused_and_leaves_everything_working(
    governed_team: TestClient, container: Container
) -> None:
    client = governed_team
    refused(send(client, "POST", f"{API}/customers", minimal(POISON)), "name")
    nested = minimal(
        addresses=[{"type": "billing", "lines": ["a"], "country": "US", "city": "x\udc00"}]
    )
    refused(send(client, "POST", f"{API}/customers", nested), "addresses[0].city")
    keyed = minimal(metadata={"k\ud800": 1})
    refused(send(client, "POST", f"{API}/customers", keyed), "metadata")
    refused(client.get(f"{API}/customers?q=%ED%A0%80"), "q")  # a surrogate, UTF-8-encoded
    # an emoji (a valid surrogate pair in JSON) is fine
    fine = send(client, "POST", f"{API}/customers", minimal("Smile \U0001f600 GmbH"))
    assert fine.status_code == 202, fine.text
    requests = client.get(f"{API}/change-requests")
    assert requests.status_code == 200
    assert [r["id"] for r in requests.json()["items"]] == [fine.json()["id"]]
    # On PostgreSQL the feed serves only transactions older than every running one on the
    # server (another test process's may hold it back for a moment): poll, bounded.
    deadline = time.monotonic() + 30
    while True:
        events = client.get(f"{API}/events", params={"limit": 500})
        assert events.status_code == 200
        submitted = [
            e for e in events.json()["items"] if e["type"] == "custmaster.change_request.submitted"
        ]
        if submitted or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["subject"] for e in submitted] == [fine.json()["id"]]
    assert "Poison" not in events.text
    AuditSealer(container.engine).request()  # a sealing pass over whatever is there
    url = container.engine.url.render_as_string(hide_password=False)
    verified = CliRunner().invoke(cli, ["audit", "verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output


def test_the_fast_path_refuses_it_the_same_way(client: TestClient) -> None:
    customer = create(client, minimal())
    before = dict(fast_path_answers(client))
    url = f"{API}/customers/{customer['id']}"
    refused(send(client, "PATCH", url, {"name": POISON}), "name")
    refused(send(client, "PATCH", url, {"notes": "a\x00b"}), "notes")
    refused(send(client, "POST", f"{API}/match", {"name": POISON}), "name")
    refused(client.get(f"{url}?entity=DE%0001"), "entity")
    assert fast_path_answers(client) == before  # the guard answered before the fast path
    after = client.get(url).json()
    assert after["name"] == customer["name"] and after["version"] == customer["version"]


NUL_QUERIES = [
    ("/customers?q=a%00b", "q"),
    ("/customers?entity=DE%0001", "entity"),
    ("/customers?cursor=AA%00A", "cursor"),
    ("/events?after=%00", "after"),
    ("/change-requests?status=p%00", "status"),
    ("/customers?q=%FF", "q"),  # not UTF-8
]


@pytest.mark.parametrize(("target", "field"), NUL_QUERIES)
def test_nul_and_non_utf8_in_the_query_is_a_422(
    client: TestClient, target: str, field: str
) -> None:
    refused(client.get(f"{API}{target}"), field)


def test_nul_in_a_path_or_a_body_is_a_422(client: TestClient) -> None:
    refused(client.get(f"{API}/customers/abc%00def"), "path")
    refused(client.get(f"{API}/legal-entities/US%0001"), "path")
    refused(send(client, "POST", f"{API}/customers", minimal("Nul\x00 Ltd")), "name")
    refused(
        send(
            client,
            "POST",
            f"{API}/legal-entities",
            {"code": "X\x001", "name": "x", "country": "US", "currency": "USD"},
        ),
        "code",
    )
    assert client.get(f"{API}/customers").json()["items"] == []


def test_an_import_files_unstorable_cells_fail_their_row_only(
    client: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))
    csv = (
        b"source_id,name,email\n"
        b"A1,Good Ltd,ap@good.example\n"
        b"A2,Nul\x00 Ltd,ap@nul.example\n"
        b"A3,Other Ltd,ap@other.example\n"
    )
    answer = client.post(
        f"{API}/imports",
        data={"template": "custmaster", "entity": "US01"},
        files=[("file", ("x.csv", csv, "text/csv"))],
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    job = client.get(f"{API}/imports/{job_id}").json()
    assert job["status"] == "awaiting_review", job
    rows = client.get(f"{API}/imports/{job_id}/rows", params={"outcome": "failed"}).json()
    [row] = rows["items"]
    assert row["source_id"] == "A2"
    assert ("name", "invalid_text") in [(e["field"], e["code"]) for e in row["errors"]]
    assert "\\u0000" not in json.dumps(rows)


def test_an_idempotency_key_is_printable_ascii(client: TestClient) -> None:
    for key in ("caf\xe9".encode("latin-1"), b"a\tb"):
        answer = client.post(f"{API}/customers", json=minimal(), headers={"Idempotency-Key": key})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
    assert client.get(f"{API}/customers").json()["items"] == []


@pytest.mark.parametrize(
    "path", ["/customers", "/change-requests", "/imports", "/payment-terms", "/duplicates"]
)
def test_a_cursor_decoding_to_nul_bytes_is_a_422(client: TestClient, path: str) -> None:
    answer = client.get(f"{API}{path}", params={"cursor": "AAAA"})  # three NUL bytes
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "invalid_cursor"


def test_a_nul_in_an_import_form_field_or_file_name_is_refused_or_cleaned(
    client: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))
    upload = [("file", ("x.csv", b"source_id,name,email\nA1,A,a@a.example\n", "text/csv"))]
    answer = client.post(
        f"{API}/imports", files=upload, data={"template": "custmaster", "entity": "DE\x0001"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0] == {
        "field": "entity",
        "code": "invalid_text",
        "message": "contains a NUL character",
    }
    named = [("file", ("../a\x00b\x7f.csv", upload[0][1][1], "text/csv"))]
    answer = client.post(f"{API}/imports", files=named, data={"template": "custmaster"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["files"] == ["a%00b_.csv"]  # the client escaped the NUL
