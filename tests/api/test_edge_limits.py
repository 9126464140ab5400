"""The documented limits (issue 12, item 9; docs/limits.md), through HTTP on SQLite and
PostgreSQL, the same on the routes and the fast path: a body over the request limit,
an upload over the upload limit and a /match body over its limit answer 413; more than
MAX_CHILDREN child records of a kind (counted on the customer a change makes, so a run
of PATCHes cannot grow past it either) or a metadata object over MAX_METADATA_BYTES
answer 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.api.edge import MAX_MATCH_BYTES
from custmaster.bootstrap import Container
from custmaster.domain.rules import MAX_CHILDREN, MAX_METADATA_BYTES
from tests.conftest import new_user
from tests.factories import create, minimal

API = "/api/v1"


def address(n: int) -> dict[str, Any]:
    return {"type": "shipping", "lines": [f"{n} Main St"], "country": "US"}


def too_large(answer: Any) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "/problems/payload-too-large"


def test_bodies_over_the_limits_are_413(caller: TestClient) -> None:
    customer = create(caller, minimal())
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    headers = {"Content-Type": "application/json"}
    too_large(caller.post(f"{API}/customers", content=big, headers=headers))
    too_large(caller.patch(f"{API}/customers/{customer['id']}", content=big, headers=headers))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    too_large(caller.post(f"{API}/customers", content=chunks(), headers=headers))
    match = {"name": "Acme", "notes": "x" * MAX_MATCH_BYTES}
    too_large(caller.post(f"{API}/match", json=match))
    assert caller.post(f"{API}/match", json={"name": "Acme"}).status_code == 200


def test_child_records_beyond_the_limit_are_422(caller: TestClient) -> None:
    body = minimal(addresses=[address(n) for n in range(MAX_CHILDREN + 1)])
    answer = caller.post(f"{API}/customers", json=body)
    assert answer.status_code == 422, answer.text
    assert {
        "field": "addresses",
        "code": "too_many",
        "message": f"at most {MAX_CHILDREN} records ({MAX_CHILDREN + 1} given)",
    } in answer.json()["errors"]
    customer = create(caller, minimal(addresses=[address(n) for n in range(MAX_CHILDREN - 1)]))
    url = f"{API}/customers/{customer['id']}"
    one_more = caller.patch(url, json={"addresses": [{"action": "add", **address(1000)}]})
    assert one_more.status_code == 200, one_more.text
    two_more = caller.patch(url, json={"addresses": [{"action": "add", **address(1001)}]})
    assert two_more.status_code == 422, two_more.text
    assert two_more.json()["errors"][0]["code"] == "too_many"
    assert len(caller.get(url).json()["addresses"]) == MAX_CHILDREN


def test_metadata_over_the_limit_is_422(caller: TestClient) -> None:
    fits = caller.post(
        f"{API}/customers", json=minimal(metadata={"x": "y" * (MAX_METADATA_BYTES - 20)})
    )
    assert fits.status_code == 201, fits.text
    over = {"x": "y" * MAX_METADATA_BYTES}
    answer = caller.post(f"{API}/customers", json=minimal("B", "b@b.example", metadata=over))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "metadata"
    assert answer.json()["errors"][0]["code"] == "too_large"
    patched = caller.patch(f"{API}/customers/{fits.json()['id']}", json={"metadata": over})
    assert patched.status_code == 422, patched.text


def test_the_limits_are_settings(
    container: Container, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path))
    small = container.settings.model_copy(
        update={"max_request_bytes": 4096, "max_upload_bytes": 8192}
    )
    monkeypatch.setattr(container, "settings", small)
    app = create_app(container)
    key = new_user(container, "limited", ["admin"])
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        too_large(client.post(f"{API}/customers", json=minimal(notes="x" * 5000)))
        assert client.post(f"{API}/customers", json=minimal(notes="x" * 500)).status_code in (
            201,
            422,
        )
        upload = [
            ("file", ("x.csv", b"source_id,name,email\n" + b"A,B,c@d.example\n" * 600, "text/csv"))
        ]
        too_large(client.post(f"{API}/imports", files=upload, data={"template": "custmaster"}))
        assert client.get(f"{API}/imports").json()["items"] == []
