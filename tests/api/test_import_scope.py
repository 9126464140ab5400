"""Import jobs are read under the one access rule (``governance.access.may_see_job``),
through HTTP on SQLite and PostgreSQL: a user scoped to another legal entity neither
lists nor reads a job, its report rows or its drafts; its submitter and users scoped to
the job's entity do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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
