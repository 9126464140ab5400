"""/health: liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text

from custmaster.api.deps import ContainerDep
from custmaster.api.http import json_response

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(container: ContainerDep) -> Response:
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return json_response(503, {"status": "unavailable", "database": "unreachable"})
    return json_response(200, {"status": "ok", "database": container.engine.dialect.name})
