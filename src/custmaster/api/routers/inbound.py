"""POST /api/v1/inbound/{system}: a source system's record change, applied through the
approval policy (the same path as the NATS consumer, ``custmaster inbound consume``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import Field

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import Strict, problems
from custmaster.services.inbound.apply import receive_change
from custmaster.services.inbound.context import system_context

router = APIRouter(prefix="/api/v1/inbound", tags=["inbound"])
_System = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
_STATUS = {"applied": 200, "unchanged": 200, "echo": 200, "pending": 202, "rejected": 422}


class InboundIn(Strict):
    record: dict[str, str | int | float | bool | None] = Field(
        description="the record as the source system holds it (its import template's columns)",
        max_length=500,
    )
    entity: str | None = Field(
        default=None, max_length=64, description="the owning legal entity of a new record"
    )
    origin: str | None = Field(
        default=None, max_length=64, description='"custmaster": an echo of what it sent'
    )


@router.post(
    "/{system}",
    responses=problems(403, 404, 422),
    summary="A record a source system changed: mapped by its import template, resolved, "
    "matched when new and applied under the approval policy (202: waits for approval)",
)
def receive(
    system: _System,
    body: InboundIn,
    actor: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
) -> Response:
    context = system_context(
        system,
        template_dir=container.service_settings.import_template_dir,
        sync_dir=container.settings.sync_targets_dir,
    )
    result = receive_change(
        uow,
        actor,
        container.policy,
        container.service_settings,
        context.template,
        body.record,
        mappings=context.mappings,
        entity=body.entity,
        origin=body.origin,
    )
    answer = {
        "status": result.status,
        "customer_id": None if result.customer_id is None else str(result.customer_id),
        "change_request_id": None
        if result.change_request_id is None
        else str(result.change_request_id),
        "matched": result.matched,
        "errors": result.errors,
    }
    return json_response(_STATUS[result.status], answer)
