"""Property-based fuzzing of every operation of the OpenAPI document with schemathesis:
requests valid by the schema (positive mode, path parameters filled from real objects as
well as generated, but for deletes) and invalid ones (negative mode), then sequences of calls that feed one
answer into the next (the stateful phase), as an unscoped admin, on both databases:
never a 5xx.

``CUSTMASTER_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 6; CI may
run more), ``CUSTMASTER_FUZZ_STEPS`` the stateful phase's sequences (default 5, of up to
10 calls each).

(schemathesis's own pytest loader, ``schemathesis.pytest.from_fixture``, does not run
under pytest 9.2; each operation's Hypothesis strategy is driven here instead.)
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from custmaster.domain.permissions import Role
from tests.security.routes import Route, all_routes, offline_app, route_ids
from tests.security.world import World

EXAMPLES = int(os.environ.get("CUSTMASTER_FUZZ_EXAMPLES", "6"))
SEQUENCES = int(os.environ.get("CUSTMASTER_FUZZ_STEPS", "5"))
#: The OpenAPI document is the same on every database: loaded once, at collection.
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", offline_app())
OPERATIONS = tuple(r for r in all_routes() if r.operation)
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module")
def fuzz_headers(role_clients: dict[Role, TestClient], world: World) -> dict[str, str]:
    """The admin's credentials, over a planted world (so ids found in answers exist)."""
    return {"Authorization": role_clients[Role.ADMIN].headers["Authorization"]}


def _explain(case: Any, response: Any) -> str:
    return f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("route", OPERATIONS, ids=route_ids(OPERATIONS))
def test_no_request_answers_5xx(
    sec_app: FastAPI,
    admin: TestClient,
    world: World,
    fuzz_headers: dict[str, str],
    route: Route,
    mode: GenerationMode,
) -> None:
    operation = SCHEMA[route.operation_path][route.method]
    strategies = [operation.as_strategy(generation_mode=mode)]
    if mode is GenerationMode.POSITIVE and route.path_params and route.method != "DELETE":
        # real objects too (not for deletes: later operations need them)
        real = world.fill(route, admin)[0]
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=real))

    @SETTINGS
    @hypothesis.given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        response = case.call(app=sec_app, headers=fuzz_headers)
        assert response.status_code < 500, _explain(case, response)

    run()


def test_stateful_sequences_never_answer_5xx(
    sec_app: FastAPI, fuzz_headers: dict[str, str]
) -> None:
    machine = SCHEMA.as_state_machine()

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Any:
            return case.call(app=sec_app, headers=fuzz_headers, **kwargs)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            assert response.status_code < 500, _explain(case, response)

    Sequences.run(
        settings=hypothesis.settings(SETTINGS, max_examples=SEQUENCES, stateful_step_count=10)
    )
