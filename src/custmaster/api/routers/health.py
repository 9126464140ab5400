"""/health: liveness, database reachability and the schema revision.

200 when the database answers and its schema is at the revision this code needs; else
503 with a problem body that says what is wrong and, for a schema behind, the command
that fixes it (``custmaster db upgrade``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from custmaster.api.deps import ContainerDep
from custmaster.api.http import json_response
from custmaster.api.problems import PROBLEM_JSON
from custmaster.bootstrap import describe_unavailable, schema_state

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None = None


class Unhealthy(BaseModel):
    """A problem detail (RFC 9457) with ``database`` and ``schema_revision`` as extension
    members."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    database: str
    schema_revision: str | None = None


def _unavailable(database: str, detail: str, revision: str | None = None) -> Response:
    body = {
        "type": "/problems/service-unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": detail,
        "instance": "/health",
        "database": database,
        "schema_revision": revision,
    }
    return JSONResponse(
        body, status_code=503, media_type=PROBLEM_JSON, headers={"Retry-After": "5"}
    )


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Unhealthy, "content": {PROBLEM_JSON: {}}}},
)
def health(container: ContainerDep) -> Response:
    dialect = container.engine.dialect.name
    try:
        state = schema_state(container.engine)
    except Exception as error:  # unreachable, refused, ... : one line in the log
        reason = describe_unavailable(error)
        log.warning("health: the database cannot be used: %s", reason)
        # the reason (host, port, user) goes to the log, not to an anonymous client
        return _unavailable("unreachable", "the database cannot be used now; the log says why")
    if not state.ok:
        return _unavailable(dialect, state.problem(), state.current)
    return json_response(
        200, {"status": "ok", "database": dialect, "schema_revision": state.current}
    )
