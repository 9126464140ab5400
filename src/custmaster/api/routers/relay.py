"""The relay's status and the AsyncAPI document of the change events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from custmaster import __version__
from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import problems
from custmaster.services.relay.asyncapi import asyncapi_document
from custmaster.services.relay.status import relay_status

router = APIRouter(tags=["events"])


@router.get(
    "/api/v1/relay/status",
    responses=problems(),
    summary="The outbox relay to NATS JetStream: per partition its holder, cursor, last "
    "publication, events per second and the events still waiting (operators)",
)
def status(actor: PrincipalDep, uow: UowDep, request: Request) -> Response:
    stream = request.app.state.container.settings.relay_stream
    return json_response(200, relay_status(uow, actor, stream).as_dict())


@router.get(
    "/asyncapi.json",
    summary="The AsyncAPI 3 document of the change events (CloudEvents on NATS JetStream)",
)
def asyncapi(request: Request) -> dict[str, Any]:
    prefix = request.app.state.container.settings.relay_subject_prefix
    return asyncapi_document(__version__, prefix)
