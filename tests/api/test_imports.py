"""Bulk import through the HTTP API, on SQLite and PostgreSQL: each template imports its
sample, validate-only writes nothing, re-import is idempotent, review and row report."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.api.routers import imports as imports_router
from tests.factories import outbox_events
from tests.services.imports.conftest import EXTRA_REFERENCE, SAMPLES

API = "/api/v1/imports"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="import samples not available")


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    for path, records in EXTRA_REFERENCE.items():
        for record in records:
            assert client.post(f"/api/v1/{path}", json=record).status_code == 201
    return client_as("manager", roles=["ar_manager"])


def submit(
    client: TestClient, template: str, *files: Path | tuple[str, bytes], **options: Any
) -> dict[str, Any]:
    uploads = [
        ("file", (f.name, f.read_bytes(), "text/csv"))
        if isinstance(f, Path)
        else ("file", (f[0], f[1], "text/csv"))
        for f in files
    ]
    data = {
        "template": template,
        **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()},
    }
    response = client.post(API, files=uploads, data=data)
    assert response.status_code == 202, response.text
    # the validation ran as a background task before the test client returned
    job: dict[str, Any] = client.get(f"{API}/{response.json()['id']}").json()
    return job


def rows(client: TestClient, job_id: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        paging = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/{job_id}/rows", params={**params, **paging})
        assert page.status_code == 200, page.text
        found += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


def count_customers(client: TestClient) -> int:
    return len(client.get("/api/v1/customers", params={"limit": 500}).json()["items"])


SAMPLE_CASES = [
    ("legacy_erp", ["legacy_erp_kunden.csv"], {"entity": "DE01"}, {"created": 23}),
    ("d365", ["d365_customers_v3.csv"], {}, {"created": 30}),
    # on_invalid_field=drop (the default): 3 rows with an invalid value are drafts without it
    (
        "hubspot",
        ["hubspot_companies.csv"],
        {"keep_incomplete_as_drafts": True, "entity": "US01"},
        {"draft": 27},
    ),
    (
        "hubspot",
        ["hubspot_companies.csv"],
        {"keep_incomplete_as_drafts": True, "entity": "US01", "on_invalid_field": "reject"},
        {"draft": 24, "failed": 3},
    ),
    (
        "salesforce",
        ["salesforce_accounts.csv", "salesforce_contacts.csv"],
        {"entity": "US01"},
        {"created": 35, "failed": 6},
    ),
]


@pytest.mark.parametrize(("template", "files", "options", "expected"), SAMPLE_CASES)
def test_each_template_imports_its_sample_after_review(
    client: TestClient,
    manager: TestClient,
    template: str,
    files: list[str],
    options: dict[str, Any],
    expected: dict[str, int],
) -> None:
    job = submit(client, template, *(SAMPLES / f for f in files), **options)
    assert job["status"] == "awaiting_review", job
    planned = {k: v for k, v in job["summary"]["planned"].items() if k != "with_warnings"}
    assert planned == expected
    assert count_customers(client) == 0  # nothing is written before the approval
    own = client.post(f"{API}/{job['id']}/approve")  # the submitter (tester)
    assert own.status_code == 403, own.text
    approved = manager.post(f"{API}/{job['id']}/approve")
    assert approved.status_code == 200, approved.text
    done = client.get(f"{API}/{job['id']}").json()
    assert done["status"] == "done" and done["decided_by"] == "manager"
    assert done["summary"]["final"] == expected
    assert count_customers(client) == expected.get("created", 0)
    report = rows(client, job["id"])
    assert sum(r["applied"] for r in report) == expected.get("created", 0) + expected.get(
        "draft", 0
    )
    assert all(r["errors"] for r in report if r["outcome"] == "failed")
    drafts = client.get(f"{API}/{job['id']}/drafts", params={"limit": 500}).json()["items"]
    assert len(drafts) == expected.get("draft", 0)
    assert all(d["missing"] == ["email"] and "email" not in d["command"] for d in drafts)
    created = next((r for r in report if r["outcome"] == "created"), None)
    if created:
        history = client.get(f"/api/v1/customers/{created['customer_id']}/history").json()
        assert [e["operation"] for e in history["items"]] == ["create"]


def test_validate_only_writes_nothing(client: TestClient) -> None:
    job = submit(
        client, "legacy_erp", SAMPLES / "legacy_erp_kunden.csv", entity="DE01", validate_only=True
    )
    assert job["status"] == "done"
    assert job["summary"]["planned"]["created"] == 23
    assert count_customers(client) == 0
    events = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    assert not [e for e in events if e["type"].startswith("custmaster.customer.")]
    report = rows(client, job["id"])
    assert len(report) == 23 and not any(r["applied"] for r in report)


def test_reimporting_the_same_file_with_skip_creates_nothing(
    client: TestClient, manager: TestClient
) -> None:
    first = submit(client, "legacy_erp", SAMPLES / "legacy_erp_kunden.csv", entity="DE01")
    manager.post(f"{API}/{first['id']}/approve")
    again = submit(client, "legacy_erp", SAMPLES / "legacy_erp_kunden.csv", entity="DE01")
    assert {k: v for k, v in again["summary"]["planned"].items()} == {
        "skipped": 23,
        "with_warnings": 23,
    }
    manager.post(f"{API}/{again['id']}/approve")
    assert client.get(f"{API}/{again['id']}").json()["summary"]["final"] == {"skipped": 23}
    assert count_customers(client) == 23
    skipped = rows(client, again["id"])[0]
    assert "duplicate" in {w["code"] for w in skipped["warnings"]}


OWN_LAYOUT = (
    "source_id,name,email,tax_id,credit_limit,payment_terms,billing_country,phone,billing_street\n"
    "A1,Globex Ltd,AP@globex.example,,2000000,NET30,US,+1 415 555 0100,1 Main St\n"
    "A2,Initech,ap@initech.example,,10,NET30,US,,1 Main St\n"
    "A3,Globex Limited,ap@GLOBEX.example,,5,NET30,US,,1 Main St\n"
    "A4,Broken,not-an-email,,-5,NET99,US,,1 Main St\n"
    "=A5,Hooli,ap@hooli.example,,1,NET30,US,,1 Main St\n"
)


def test_duplicates_in_the_file_errors_and_warnings_are_reported_per_row(
    client: TestClient,
) -> None:
    job = submit(
        client,
        "custmaster",
        ("own.csv", OWN_LAYOUT.encode()),
        batch_size=2,
        entity="US01",
        on_invalid_field="reject",
    )
    report = {r["source_id"]: r for r in rows(client, job["id"])}
    assert report["A1"]["outcome"] == "created"
    assert {w["code"] for w in report["A1"]["warnings"]} == {"large_credit_limit"}
    assert report["A3"]["outcome"] == "skipped"  # same e-mail (case-insensitive) as A1
    assert "duplicate_in_file" in {w["code"] for w in report["A3"]["warnings"]}
    assert {e["field"]: e["code"] for e in report["A4"]["errors"]} == {
        "email": "invalid_email",
        "credit_limit": "negative",
        "payment_terms": "unknown_reference",
    }
    text = client.get(f"{API}/{job['id']}/rows.csv").text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["outcome"] for r in parsed] == ["created", "created", "skipped", "failed", "created"]
    assert parsed[4]["source_id"] == "'=A5"  # formula injection neutralised


def test_stop_on_first_error_fails_the_job_and_writes_nothing(client: TestClient) -> None:
    job = submit(
        client,
        "custmaster",
        ("own.csv", OWN_LAYOUT.encode()),
        stop_on_first_error=True,
        on_duplicate="error",
        entity="US01",
    )
    assert job["status"] == "failed" and "stop on first error" in job["error"]
    assert [r["outcome"] for r in rows(client, job["id"])] == ["created", "created", "failed"]
    assert count_customers(client) == 0


def test_update_on_duplicate_changes_the_matched_customer(
    client: TestClient, manager: TestClient
) -> None:
    first = submit(client, "custmaster", ("own.csv", OWN_LAYOUT.encode()), entity="US01")
    manager.post(f"{API}/{first['id']}/approve")
    changed = OWN_LAYOUT.replace(
        "Initech,ap@initech.example,,10,", "Initech,ap@initech.example,,99,"
    )
    job = submit(
        client, "custmaster", ("own.csv", changed.encode()), on_duplicate="update", entity="US01"
    )
    report = {r["source_id"]: r for r in rows(client, job["id"])}
    assert report["A2"]["outcome"] == "updated"
    assert report["A1"]["outcome"] == "skipped"  # nothing changed
    manager.post(f"{API}/{job['id']}/approve")
    customer = client.get(f"/api/v1/customers/{report['A2']['customer_id']}").json()
    assert customer["credit_limit"] == "99" and customer["version"] == 2
    history = client.get(f"/api/v1/customers/{customer['id']}/history").json()["items"]
    assert [e["operation"] for e in history] == ["create", "update"]
    assert count_customers(client) == 3


def test_rejecting_and_bad_requests(client: TestClient, manager: TestClient) -> None:
    job = submit(client, "custmaster", ("own.csv", OWN_LAYOUT.encode()))
    rejected = manager.post(f"{API}/{job['id']}/reject", json={"reason": "wrong file"})
    assert rejected.json()["status"] == "rejected"
    assert manager.post(f"{API}/{job['id']}/approve").status_code == 409
    unknown = client.post(
        API, files=[("file", ("x.csv", b"a\n1\n", "text/csv"))], data={"template": "nope"}
    )
    assert unknown.status_code == 422
    too_big = client.post(
        API,
        files=[("file", ("x.csv", b"a\n1\n", "text/csv"))],
        data={"template": "custmaster", "batch_size": "1001"},
    )
    assert too_big.status_code == 422
    assert client.get(f"{API}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_imported_customers_are_match_targets_at_once(
    client: TestClient, manager: TestClient
) -> None:
    """The online matcher's index is kept current by the import's batches too."""
    job = submit(client, "legacy_erp", SAMPLES / "legacy_erp_kunden.csv", entity="DE01")
    assert manager.post(f"{API}/{job['id']}/approve").status_code == 200
    candidate = {"name": "Evergreen Hydraulics", "tax_id": "NL556279955B01"}
    found = client.post("/api/v1/match", json=candidate)
    assert found.status_code == 200, found.text
    assert found.json()["items"][0]["name"] == "Evergreen Hydraulics N.V."


def test_a_running_job_leaves_the_request_threads_to_requests(
    app: Any, container: Any, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job runs for minutes in a thread of its own: with one request thread per worker
    (CUSTMASTER_WORKER_THREADS=1), a request is still answered while a job runs."""
    monkeypatch.setattr(container.settings, "worker_threads", 1)
    started, release = threading.Event(), threading.Event()

    def held_job(container: Any, job_id: Any) -> None:
        started.set()
        release.wait(30)

    monkeypatch.setattr(imports_router, "_run_job", held_job)
    answers: list[int] = []
    with TestClient(app) as served:
        served.headers.update(client.headers)
        csv_file = ("file", ("c.csv", b"name,email\nAcme,ap@acme.example\n", "text/csv"))
        poster = threading.Thread(
            target=lambda: answers.append(
                served.post(API, files=[csv_file], data={"template": "custmaster"}).status_code
            )
        )
        poster.start()
        try:
            assert started.wait(30), "the job did not start"
            reader = threading.Thread(
                target=lambda: answers.append(served.get("/api/v1/legal-entities").status_code)
            )
            reader.start()
            reader.join(10)
            assert not reader.is_alive(), "the request waited for the job's thread"
        finally:
            release.set()
            poster.join(30)
    assert sorted(answers) == [200, 202]
