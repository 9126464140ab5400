"""Reference data of the account structure: /name-affixes, /sales-organisations (full
CRUD), payment schedules of payment terms, and /customer-templates (CRUD and creating a
customer from a template)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import BaseModel

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import decode_cursor, idempotent
from custmaster.api.outcomes import PENDING, answer
from custmaster.api.routers.structure_common import (
    Cursor,
    Limit,
    created,
    no_content,
    ok,
    page,
)
from custmaster.api.schemas.common import Page, problems
from custmaster.api.schemas.structure import (
    CustomerFromTemplateOut,
    NameAffixIn,
    NameAffixOut,
    NameAffixPatch,
    SalesOrganisationIn,
    SalesOrganisationOut,
    SalesOrganisationPatch,
    ScheduleIn,
    ScheduleOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from custmaster.services.ports import StoredResponse
from custmaster.services.structure import reference_extras as x
from custmaster.services.structure import templates as t

router = APIRouter(prefix="/api/v1", tags=["reference data"])
Key = Annotated[str, Path(max_length=100)]

#: path -> (kind, create schema, patch schema, response schema)
RESOURCES: dict[str, tuple[str, type[BaseModel], type[BaseModel], type[BaseModel]]] = {
    "name-affixes": ("name_affixes", NameAffixIn, NameAffixPatch, NameAffixOut),
    "sales-organisations": (
        "sales_organisations",
        SalesOrganisationIn,
        SalesOrganisationPatch,
        SalesOrganisationOut,
    ),
}


def _register(
    path: str,
    kind: str,
    schema_in: type[BaseModel],
    schema_patch: type[BaseModel],
    schema_out: type[BaseModel],
) -> None:
    label = x.KINDS[kind].label

    def create(payload: Any, request: Request, actor: PrincipalDep, uow: UowDep) -> Response:
        data = payload.model_dump(mode="json", exclude_unset=True)
        return created(
            request,
            uow,
            actor,
            data,
            lambda: x.create_record(uow, actor, kind, data),
            lambda record: f"/api/v1/{path}/{record['code']}",
        )

    create.__annotations__["payload"] = schema_in

    def list_all(
        actor: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 100
    ) -> Response:
        return page(
            x.list_records(uow, actor, kind, after=decode_cursor(cursor), limit=limit),
            "code",
            limit,
        )

    def read(code: Key, actor: PrincipalDep, uow: UowDep) -> Response:
        return ok(x.get_record(uow, actor, kind, code))

    def update(code: Key, payload: Any, actor: PrincipalDep, uow: UowDep) -> Response:
        data = payload.model_dump(mode="json", exclude_unset=True)
        return ok(x.update_record(uow, actor, kind, code, data))

    update.__annotations__["payload"] = schema_patch

    def delete(code: Key, actor: PrincipalDep, uow: UowDep) -> Response:
        x.delete_record(uow, actor, kind, code)
        return no_content()

    routes: list[tuple[str, Callable[..., Response], str, int, Any, Any, str, str]] = [
        ("", create, "POST", 201, schema_out, problems(409), f"Create a {label}", "create"),
        (
            "",
            list_all,
            "GET",
            200,
            Page[schema_out],  # type: ignore[valid-type]
            problems(),
            f"List {label} records",
            "list",
        ),
        ("/{code}", read, "GET", 200, schema_out, problems(404), f"Read a {label}", "read"),
        ("/{code}", update, "PATCH", 200, schema_out, problems(404), f"Update a {label}", "update"),
        ("/{code}", delete, "DELETE", 204, None, problems(404, 409), f"Delete a {label}", "delete"),
    ]
    for suffix, endpoint, method, status, model, responses, summary, verb in routes:
        router.add_api_route(
            f"/{path}{suffix}",
            endpoint,
            methods=[method],
            status_code=status,
            response_model=model,
            responses=responses,
            summary=summary,
            operation_id=f"{verb}_{kind}",
        )


for _path, (_kind, _in, _patch, _out) in RESOURCES.items():
    _register(_path, _kind, _in, _patch, _out)


# --- payment schedules -----------------------------------------------------------------


@router.get(
    "/payment-terms/{code}/schedule",
    response_model=ScheduleOut,
    responses=problems(404),
    summary="The payment schedule (lines) and payment days of payment terms",
)
def read_schedule(code: Key, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(x.get_schedule(uow, actor, code))


@router.put(
    "/payment-terms/{code}/schedule",
    response_model=ScheduleOut,
    responses=problems(404),
    summary="Replace the payment schedule: percentages adding up to 100, due days rising",
)
def put_schedule(code: Key, payload: ScheduleIn, actor: PrincipalDep, uow: UowDep) -> Response:
    data = payload.model_dump(mode="json")
    return ok(x.put_schedule(uow, actor, code, data["lines"], data["payment_days"]))


@router.delete(
    "/payment-terms/{code}/schedule",
    status_code=204,
    responses=problems(404),
    summary="Clear the payment schedule",
)
def delete_schedule(code: Key, actor: PrincipalDep, uow: UowDep) -> Response:
    x.put_schedule(uow, actor, code, [], [])
    return no_content()


# --- customer templates ----------------------------------------------------------------


@router.post(
    "/customer-templates",
    status_code=201,
    response_model=TemplateOut,
    responses=problems(409),
    summary="Create a named customer template (default values)",
)
def create_template(
    payload: TemplateIn, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    return created(
        request,
        uow,
        actor,
        payload.model_dump(mode="json"),
        lambda: t.create_template(uow, actor, **payload.model_dump()),
        lambda template: f"/api/v1/customer-templates/{template['name']}",
    )


@router.get(
    "/customer-templates",
    response_model=Page[TemplateOut],
    responses=problems(),
    summary="List customer templates",
)
def list_templates(
    actor: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 100
) -> Response:
    found = t.list_templates(uow, actor, after=decode_cursor(cursor), limit=limit)
    return page(found, "name", limit)


@router.get(
    "/customer-templates/{name}",
    response_model=TemplateOut,
    responses=problems(404),
    summary="Read a customer template",
)
def read_template(name: Key, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(t.get_template(uow, actor, name))


@router.patch(
    "/customer-templates/{name}",
    response_model=TemplateOut,
    responses=problems(404),
    summary="Replace a template's defaults or description",
)
def update_template(
    name: Key, payload: TemplatePatch, actor: PrincipalDep, uow: UowDep
) -> Response:
    return ok(t.update_template(uow, actor, name, payload.model_dump(exclude_unset=True)))


@router.delete(
    "/customer-templates/{name}",
    status_code=204,
    responses=problems(404),
    summary="Delete a customer template",
)
def delete_template(name: Key, actor: PrincipalDep, uow: UowDep) -> Response:
    t.delete_template(uow, actor, name)
    return no_content()


@router.post(
    "/customer-templates/{name}/customers",
    status_code=201,
    response_model=CustomerFromTemplateOut,
    responses={**problems(404, 409), **PENDING},
    summary="Create a customer from the template (the request wins over the defaults), "
    "under the approval policy like any new customer",
)
def create_from_template(
    name: Key,
    request: Request,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
    payload: Annotated[dict[str, Any], Body(description="a customer create request")],
) -> Response:
    def produce() -> StoredResponse:
        done = t.create_from_template(
            uow, actor, name, payload, container.policy, container.service_settings
        )
        stored_answer = answer(done.outcome, 201)
        body = {**stored_answer.body, "from_template": done.from_template}
        return replace(stored_answer, body=body)

    return idempotent(request, uow, actor, {"template": name, **payload}, produce)
