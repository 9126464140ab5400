"""Deep JSON answers one documented 4xx everywhere (issue 12, item 8), through HTTP on
SQLite and PostgreSQL: a body nesting arrays or objects deeper than MAX_JSON_DEPTH (32)
is a 422 ``too_deep``, on the routes and on the fast path (``api.fast_path``), before any parser recurses into it; 32 levels are fine."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custmaster.api.edge import MAX_JSON_DEPTH, too_deep
from tests.factories import create, minimal

API = "/api/v1"
DEEP = b'{"name": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


def nested(depth: int) -> dict[str, object]:
    """``{"a": {"a": ... 1}}``: an object ``depth`` levels deep."""
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    assert isinstance(value, dict)
    return value


def test_deep_json_is_the_same_422_on_routes_and_short_paths(caller: TestClient) -> None:
    customer = create(caller, minimal())
    targets = [
        ("POST", f"{API}/customers"),
        ("PATCH", f"{API}/customers/{customer['id']}"),
        ("POST", f"{API}/match"),
        ("POST", f"{API}/payment-terms"),
        ("POST", f"{API}/change-requests/{customer['id']}/approve"),
    ]
    for method, url in targets:
        answer = caller.request(
            method, url, content=DEEP, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, (url, answer.text)
        [error] = answer.json()["errors"]
        assert error == {
            "field": "body",
            "code": "too_deep",
            "message": f"JSON may nest arrays and objects at most {MAX_JSON_DEPTH} levels deep",
        }


def test_the_limit_is_exact_and_strings_do_not_count(client: TestClient) -> None:
    # the body itself is one level: metadata may nest 31 more
    fine = client.post(f"{API}/customers", json=minimal(metadata=nested(MAX_JSON_DEPTH - 1)))
    assert fine.status_code == 201, fine.text
    deep = client.post(
        f"{API}/customers", json=minimal("B", "b@b.example", metadata=nested(MAX_JSON_DEPTH))
    )
    assert deep.status_code == 422 and deep.json()["errors"][0]["code"] == "too_deep"
    brackets = client.post(f"{API}/customers", json=minimal("[" * 100 + "{" * 100, "c@c.example"))
    assert brackets.status_code == 201, brackets.text
    assert not too_deep(b'["\\"[[[[", [[1]]]', 3) and too_deep(b"[[[[]]]]", 3)
