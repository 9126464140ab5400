"""Import jobs are read and decided under the one access rule
(``governance.access.may_see_job``), through HTTP on SQLite and PostgreSQL: a job is
visible and actionable only to users whose scope covers every legal entity it touches
(its entity, the owning entities and overrides its rows name, the existing customers it
updates); others neither list nor read it, its report rows or its drafts, nor approve,
reject or resume it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.imports.store import JobStatus

API = "/api/v1/imports"
ROWS = (
    "source_id,kind,name,email,billing_city,billing_country\n"
    "R-1,organization,Rhein Logistik GmbH,ap@rhein.example,Köln,DE\n"
    "R-2,organization,Rhein Papier GmbH,,Bonn,DE\n"
)


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


def test_a_job_is_read_only_within_its_legal_entity(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    submitted = client.post(
        API,
        files=[("file", ("rhein.csv", ROWS.encode(), "text/csv"))],
        data={
            "template": "custmaster",
            "entity": "DE01",
            "validate_only": "true",
            "keep_incomplete_as_drafts": "true",
        },
    )
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()["id"]
    paths = [f"{API}/{job}", f"{API}/{job}/rows", f"{API}/{job}/rows.csv", f"{API}/{job}/drafts"]
    gb01 = client_as("gb-steward", roles=["data_steward"], entities=["GB01"])
    de01 = client_as("de-steward", roles=["data_steward"], entities=["DE01"])
    for path in paths:
        assert gb01.get(path).status_code == 404, path
        assert de01.get(path).status_code == 200, path
        assert client.get(path).status_code == 200, path
    assert job not in {j["id"] for j in gb01.get(API).json()["items"]}
    assert job in {j["id"] for j in de01.get(API).json()["items"]}
    # a GB01 user's job for GB01: theirs, not DE01's
    own = gb01.post(
        API,
        files=[("file", ("own.csv", ROWS.encode(), "text/csv"))],
        data={"template": "custmaster", "entity": "GB01", "validate_only": "true"},
    )
    assert own.status_code == 202, own.text
    assert gb01.get(f"{API}/{own.json()['id']}").status_code == 200
    assert de01.get(f"{API}/{own.json()['id']}").status_code == 404


#: a job for GB01 (the job's entity) whose second row writes a DE01 customer
MIXED = (
    "source_id,kind,name,email,owning_entity,billing_city,billing_country\n"
    "M-1,organization,Thames Paper Ltd,ap@thamespaper.example,,London,GB\n"
    "M-2,organization,Rhein Druck GmbH,ap@rheindruck.example,DE01,Köln,DE\n"
)


def _submit(client: TestClient, rows: str, **data: str) -> str:
    submitted = client.post(
        API,
        files=[("file", ("mixed.csv", rows.encode(), "text/csv"))],
        data={"template": "custmaster", **data},
    )
    assert submitted.status_code == 202, submitted.text
    job = client.get(f"{API}/{submitted.json()['id']}").json()
    assert job["status"] == "awaiting_review", job
    return str(job["id"])


def _interrupt(container: Container, job_id: str) -> None:
    """Leave the job as a crash while validating would (resumable)."""
    with container.uow() as uow:
        job = uow.imports.get_job(UUID(job_id), for_update=True)
        assert job is not None
        job.status, job.failed_stage = JobStatus.FAILED, "validating"
        job.error = "interrupted: the test's crash"
        uow.imports.save_job(job)


def test_a_job_that_writes_de01_data_is_out_of_a_gb01_users_reach(
    client: TestClient, client_as: Callable[..., TestClient], container: Container
) -> None:
    """The job names GB01 as its entity, but a row writes a DE01 customer: a GB01 reviewer
    neither sees, approves, rejects nor resumes it; a DE01 reviewer neither (the job writes
    GB01 data too); a reviewer scoped to both does."""
    job = _submit(client, MIXED, entity="GB01")
    assert client.get(f"{API}/{job}").json()["summary"]["entities"] == ["DE01", "GB01"]
    gb01 = client_as("gb-manager", roles=["ar_manager"], entities=["GB01"])
    de01 = client_as("de-manager", roles=["ar_manager"], entities=["DE01"])
    both = client_as("eu-manager", roles=["ar_manager"], entities=["DE01", "GB01"])
    reads = [f"{API}/{job}", f"{API}/{job}/rows", f"{API}/{job}/rows.csv", f"{API}/{job}/drafts"]
    for reviewer in (gb01, de01):
        for path in reads:
            assert reviewer.get(path).status_code == 404, path
        assert job not in {j["id"] for j in reviewer.get(API).json()["items"]}
        assert reviewer.post(f"{API}/{job}/approve").status_code == 404
        assert reviewer.post(f"{API}/{job}/reject", json={"reason": "no"}).status_code == 404
    assert client.get(f"{API}/{job}").json()["status"] == "awaiting_review"  # untouched
    _interrupt(container, job)
    for reviewer in (gb01, de01):
        assert reviewer.post(f"{API}/{job}/resume").status_code == 404
    assert client.get(f"{API}/{job}").json()["status"] == "failed"  # still, untouched
    assert both.post(f"{API}/{job}/resume").status_code == 200
    assert both.get(f"{API}/{job}").json()["status"] == "awaiting_review"
    assert job in {j["id"] for j in both.get(API).json()["items"]}
    for path in reads:
        assert both.get(path).status_code == 200, path
    approved = both.post(f"{API}/{job}/approve")
    assert approved.status_code == 200, approved.text
    assert client.get(f"{API}/{job}").json()["summary"]["final"] == {"created": 2}


def test_a_gb01_reviewer_decides_a_gb01_job_and_not_one_that_updates_a_de01_customer(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    """A job is judged by what it writes: its rows name only GB01, but one of them updates
    an existing DE01 customer (the same e-mail): out of the GB01 reviewer's reach."""
    gb01 = client_as("gb-manager", roles=["ar_manager"], entities=["GB01"])
    plain = _submit(
        client,
        "source_id,kind,name,email\nG-1,organization,Thames Paper Ltd,ap@thamespaper.example\n",
        entity="GB01",
    )
    rejected = gb01.post(f"{API}/{plain}/reject", json={"reason": "not now"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    made = client.post(
        "/api/v1/customers",
        json={
            "kind": "organization",
            "name": "Rhein Druck GmbH",
            "email": "ap@rheindruck.example",
            "owning_entity": "DE01",
        },
    )
    assert made.status_code == 201, made.text
    update = _submit(
        client,
        "source_id,kind,name,email\nG-2,organization,Rhein Druck GmbH,ap@rheindruck.example\n",
        entity="GB01",
        on_duplicate="update",
    )
    assert client.get(f"{API}/{update}").json()["summary"]["entities"] == ["DE01", "GB01"]
    assert gb01.get(f"{API}/{update}").status_code == 404
    assert gb01.post(f"{API}/{update}/approve").status_code == 404
    assert client.get(f"{API}/{update}").json()["status"] == "awaiting_review"


def test_a_scoped_users_pages_hold_every_job_in_reach_behind_newer_ones_out_of_it(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    """Jobs out of a user's sight do not shorten their pages or hide older jobs: three
    GB01 jobs behind five newer DE01 ones, paged two at a time, are all listed."""

    def submit(entity: str) -> str:
        answer = client.post(
            API,
            files=[("file", (f"{entity}.csv", ROWS.encode(), "text/csv"))],
            data={"template": "custmaster", "entity": entity, "validate_only": "true"},
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    theirs = [submit("GB01") for _ in range(3)]
    hidden = [submit("DE01") for _ in range(5)]
    gb01 = client_as("gb-pager", roles=["data_steward"], entities=["GB01"])
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 3 jobs at 2 a page
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = gb01.get(API, params=params).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(theirs) <= set(seen)
    assert not set(hidden) & set(seen)
    assert len(seen) == len(set(seen))
