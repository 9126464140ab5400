"""Smaller edge fixes (issue 12, item 14), through HTTP on SQLite and PostgreSQL: source
ids holding '/' resolve; a second unmerge of one merge is a 409 under any policy; the
uploaded files of a job that failed for good leave the upload directory; a 500 says
``Connection: close``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.api.routers import events as events_router
from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.factories import create, minimal

API = "/api/v1"


def test_an_xref_id_holding_slashes_resolves(client: TestClient) -> None:
    made = create(
        client,
        minimal(
            source_refs=[
                {"source_system": "d365", "source_id": "demf/DE-0001"},
                {"source_system": "sap", "source_id": "4711"},
            ]
        ),
    )
    for path in ("d365/demf/DE-0001", "d365/demf%2FDE-0001", "sap/4711"):
        answer = client.get(f"{API}/xrefs/{path}")
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["customer_id"] == made["id"]
    assert client.get(f"{API}/xrefs/d365/demf/DE-0002").status_code == 404
    assert client.get(f"{API}/customers/{made['id']}/xrefs").status_code == 200


def test_a_second_unmerge_is_a_409_under_the_shipped_policy(
    client: TestClient,
    client_as: Callable[..., TestClient],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = create(client, minimal("Acme A", "a@acme.example"))
    b = create(client, minimal("Acme B", "b@acme.example"))
    merged = client.post(f"{API}/customers/{a['id']}/merge", json={"absorbed_ids": [b["id"]]})
    assert merged.status_code == 200, merged.text
    merge_id = merged.json()["merge_id"]
    assert client.post(f"{API}/merges/{merge_id}/unmerge").status_code == 200
    for name, role in (
        ("ar", "ar_manager"),
        ("ar2", "ar_manager"),
        ("ctrl", "controller"),
        ("ctrl2", "controller"),
    ):
        client_as(name, roles=[role])
    monkeypatch.setattr(container, "policy", load_policy(None))
    again = client.post(f"{API}/merges/{merge_id}/unmerge")
    assert again.status_code == 409, again.text
    assert client.get(f"{API}/change-requests").json()["items"] == []


@pytest.mark.parametrize(
    ("csv", "options"),
    [
        ("source_id,name,email\nA1,A,not-an-email\n", {"stop_on_first_error": "true"}),
        ("no_key_column\nx\n", {}),
    ],
)
def test_the_files_of_a_job_failed_for_good_are_removed(
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    csv: str,
    options: dict[str, str],
) -> None:
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(uploads))
    answer = client.post(
        f"{API}/imports",
        data={"template": "custmaster", **options},
        files=[("file", ("x.csv", csv.encode(), "text/csv"))],
    )
    assert answer.status_code == 202, answer.text
    job = client.get(f"{API}/imports/{answer.json()['id']}").json()
    assert job["status"] == "failed", job
    assert not (uploads / job["id"]).exists()


def test_a_500_closes_the_connection(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(events_router, "read_feed", broken)
    answer = client.get(f"{API}/events")
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "boom" not in answer.text


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    """Routes, the fast paths' answers and the guard's own refusals alike: no sniffing,
    no referrer; the API's answers (customer data) are never stored by a cache."""
    customer = create(client, minimal())
    answers = [
        client.get(f"{API}/customers"),
        client.get(f"{API}/customers/{customer['id']}"),
        client.get(f"{API}/customers?q=a%00b"),  # refused by the guard (422)
        client.get("/health"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert [a.headers.get("cache-control") for a in answers[:3]] == ["no-store"] * 3
    assert "no-store" not in answers[3].headers.get("cache-control", "")
