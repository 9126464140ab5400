"""Schemathesis over the OpenAPI document (bounded): no 5xx, no response that breaks
the schema. Runs on SQLite with the reference data of DESIGN.md §4 in place."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from custmaster.api.app import create_app
from custmaster.bootstrap import build_container
from custmaster.config import Settings
from tests.conftest import DIRECT_POLICY, new_user
from tests.factories import acme, seed_reference


def _app() -> tuple[object, dict[str, str]]:
    path = Path(tempfile.mkdtemp()) / "fuzz.db"
    settings = Settings(
        database_url=f"sqlite:///{path}", approval_policy=DIRECT_POLICY, auth_cache_seconds=0
    )
    container = build_container(settings, migrate=True)
    key = new_user(container, "fuzzer", ["admin"])
    headers = {"Authorization": f"Bearer {key}"}
    app = create_app(container)
    with TestClient(app, headers=headers) as client:
        seed_reference(client)
        client.post("/api/v1/customers", json=acme())
    return app, headers


APP, HEADERS = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# No coverage phase (schemathesis's deterministic boundary and invalid cases, built for
# every operation at collection, in every xdist worker, and run before the examples): it
# doubled this module's time. Invalid and boundary input is sent to every operation on
# both databases by tests/security/test_fuzzing.py (negative mode) and
# tests/security/test_hostile_values.py; the checks below still run on the generated
# examples, which are valid and invalid ones (schemathesis's default modes).
schema.config.phases.update(phases=["examples", "fuzzing"])


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    # What the issue asks: no 5xx and no response that breaks the schema. (Business rules
    # reject requests the schema alone allows, and unknown query parameters are ignored,
    # so the positive/negative data-acceptance checks are not the contract here.)
    case.call_and_validate(headers=HEADERS, checks=CHECKS)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_every_operation_declares_problem_responses() -> None:
    document = create_app(
        build_container(Settings(database_url="sqlite://"), migrate=True)
    ).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                continue
            assert "422" in operation["responses"], (method, path)
            assert "500" in operation["responses"], (method, path)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
