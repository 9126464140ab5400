"""The relay's status and the AsyncAPI document of the change events."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from custmaster import __version__
from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
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
def status(actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    stream = container.settings.relay_stream
    return json_response(200, relay_status(uow, actor, stream).as_dict())


async def asyncapi(request: Request) -> Response:
    """The AsyncAPI 3 document of the change events (CloudEvents on NATS JetStream)."""
    prefix = request.app.state.container.settings.relay_subject_prefix
    return JSONResponse(asyncapi_document(__version__, prefix))


def install(app: FastAPI) -> None:
    """The status route, and ``/asyncapi.json`` served like ``/openapi.json``: public,
    outside the API's routes and their permission table."""
    app.include_router(router)
    app.add_route("/asyncapi.json", asyncapi, include_in_schema=False)
