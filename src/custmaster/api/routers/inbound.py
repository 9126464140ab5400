"""POST /api/v1/inbound/{system}: a source system's record change, applied through the
approval policy (the same path as the NATS consumer, ``custmaster inbound consume``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import problems
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.services.inbound.apply import receive_change
from custmaster.services.inbound.consumer import split_body
from custmaster.services.inbound.context import system_context

router = APIRouter(prefix="/api/v1/inbound", tags=["inbound"])
_System = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
_STATUS = {"applied": 200, "unchanged": 200, "echo": 200, "pending": 202, "rejected": 422}


@router.post(
    "/{system}",
    responses=problems(403, 404, 422),
    summary="A record a source system changed: mapped by its import template, resolved, "
    "matched when new and applied under the approval policy (202: waits for approval)",
)
def receive(
    system: _System,
    actor: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    body: Annotated[
        dict[str, Any],
        Body(description='a record, or {"record": {...}, "entity": ..., "origin": ...}'),
    ],
) -> Response:
    try:
        record, entity, origin = split_body(body)
    except ValueError as exc:
        raise ValidationFailed([FieldError("body", "invalid", str(exc))]) from None
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
        record,
        mappings=context.mappings,
        entity=entity if isinstance(entity, str) else None,
        origin=origin if isinstance(origin, str) else None,
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
