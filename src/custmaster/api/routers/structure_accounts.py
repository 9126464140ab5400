"""Per-account settings (operating hours with exceptions, visit settings) and contact
participations in quotes and orders (the sellable flag)."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import etag
from custmaster.api.outcomes import PENDING, answer, customer_response
from custmaster.api.routers.structure_common import no_content, ok
from custmaster.api.schemas.common import problems
from custmaster.api.schemas.structure import (
    OperatingHoursIn,
    OperatingHoursOut,
    ParticipationIn,
    ParticipationOut,
    VisitSettingsIn,
    VisitSettingsOut,
)
from custmaster.domain.snapshot import jsonable
from custmaster.services.structure import accounts as a

router = APIRouter(prefix="/api/v1/customers/{customer_id}", tags=["account settings"])

#: path -> (kind, request schema, response schema, label)
SETTINGS: dict[str, tuple[str, type[BaseModel], type[BaseModel], str]] = {
    "operating-hours": (
        "operating_hours",
        OperatingHoursIn,
        OperatingHoursOut,
        "operating hours (weekly opening times with exceptions)",
    ),
    "visit-settings": (
        "visit_settings",
        VisitSettingsIn,
        VisitSettingsOut,
        "visit settings (frequency, preferred days)",
    ),
}


def _register(
    path: str, kind: str, schema_in: type[BaseModel], schema_out: type[BaseModel], label: str
) -> None:
    def read(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
        return ok({**a.get_setting(uow, actor, kind, customer_id), "warnings": []})

    def put(customer_id: UUID, payload: BaseModel, actor: PrincipalDep, uow: UowDep) -> Response:
        data = payload.model_dump(mode="json", exclude_unset=True)
        result = a.put_setting(uow, actor, kind, customer_id, data)
        return ok({**result.value, "warnings": [w.as_dict() for w in result.warnings]})

    put.__annotations__["payload"] = schema_in

    def delete(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
        a.delete_setting(uow, actor, kind, customer_id)
        return no_content()

    for endpoint, method, status, model, responses, verb in (
        (read, "GET", 200, schema_out, problems(404), "Read the"),
        (put, "PUT", 200, schema_out, problems(404), "Replace the"),
        (delete, "DELETE", 204, None, problems(404), "Remove the"),
    ):
        router.add_api_route(
            f"/{path}",
            endpoint,
            methods=[method],
            status_code=status,
            response_model=model,
            responses=responses,
            summary=f"{verb} customer's {label}",
            operation_id=f"{method.lower()}_{kind}",
        )


for _path, (_kind, _in, _out, _label) in SETTINGS.items():
    _register(_path, _kind, _in, _out, _label)


@router.post(
    "/contacts/{contact_id}/participations",
    response_model=ParticipationOut,
    responses={**problems(404, 409), **PENDING},
    summary="The contact took part in a quote or an order: it becomes sellable for good",
)
def participation(
    customer_id: UUID,
    contact_id: UUID,
    payload: ParticipationIn,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    done = a.record_participation(
        uow,
        actor,
        customer_id,
        contact_id,
        payload.kind,
        container.policy,
        container.service_settings,
    )
    if done.outcome is not None and done.outcome.request is not None:
        return customer_response(answer(done.outcome, 200))  # 202: waiting for approval
    body = {"contact": jsonable(asdict(done.contact)), "changed": done.outcome is not None}
    return ok(body, headers={"ETag": etag(done.version)})
