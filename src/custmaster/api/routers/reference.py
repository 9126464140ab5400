"""Reference data: /legal-entities, /payment-terms, /payment-methods, /customer-groups,
/tax-codes, /industries, /dimension-types (with values), /account-tiers,
/revenue-accounts. Create, list, read, change, delete (reference.manage: admin, data
steward, controller)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, create_model

from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.http import (
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    idempotent,
    json_response,
)
from custmaster.api.schemas.common import Page, Strict, problems
from custmaster.api.schemas.reference import (
    CodeNameIn,
    CodeNameOut,
    DimensionTypeIn,
    DimensionTypeOut,
    LegalEntityIn,
    LegalEntityOut,
    PaymentTermsIn,
    PaymentTermsOut,
)
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import StoredResponse
from custmaster.services.reference import (
    create_reference,
    delete_reference,
    get_reference,
    list_reference,
    update_reference,
)

router = APIRouter(prefix="/api/v1", tags=["reference data"])

#: path -> (kind, request schema, response schema, label)
RESOURCES: dict[str, tuple[str, type[BaseModel], type[BaseModel], str]] = {
    "legal-entities": ("legal_entities", LegalEntityIn, LegalEntityOut, "legal entity"),
    "payment-terms": ("payment_terms", PaymentTermsIn, PaymentTermsOut, "payment terms"),
    "payment-methods": ("payment_methods", CodeNameIn, CodeNameOut, "payment method"),
    "customer-groups": ("customer_groups", CodeNameIn, CodeNameOut, "customer group"),
    "tax-codes": ("tax_codes", CodeNameIn, CodeNameOut, "tax code"),
    "industries": ("industries", CodeNameIn, CodeNameOut, "industry"),
    "dimension-types": ("dimension_types", DimensionTypeIn, DimensionTypeOut, "dimension type"),
    "account-tiers": ("account_tiers", CodeNameIn, CodeNameOut, "account tier"),
    "revenue-accounts": ("revenue_accounts", CodeNameIn, CodeNameOut, "revenue account"),
}


def _register(
    path: str, kind: str, schema_in: type[BaseModel], schema_out: type[BaseModel], label: str
) -> None:
    def create(payload: Any, request: Request, actor: PrincipalDep, uow: UowDep) -> Response:
        data = payload.model_dump(mode="json", exclude_unset=True)

        def produce() -> StoredResponse:
            record = create_reference(uow, actor, kind, data)
            return StoredResponse(
                201, jsonable(record), {"Location": f"/api/v1/{path}/{record['code']}"}
            )

        return idempotent(request, uow, actor, data, produce)

    create.__annotations__["payload"] = schema_in

    def list_all(
        actor: PrincipalDep,
        uow: UowDep,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> Response:
        records = list_reference(uow, actor, kind, after=decode_cursor(cursor), limit=limit)
        next_cursor = encode_cursor(records[-1]["code"]) if len(records) == limit else None
        return json_response(200, {"items": jsonable(records), "next_cursor": next_cursor})

    def read(code: str, actor: PrincipalDep, uow: UowDep) -> Response:
        return json_response(200, jsonable(get_reference(uow, actor, kind, code)))

    def change(code: str, payload: Any, actor: PrincipalDep, uow: UowDep) -> Response:
        data = payload.model_dump(mode="json", exclude_unset=True)
        return json_response(200, jsonable(update_reference(uow, actor, kind, code, data)))

    change.__annotations__["payload"] = _partial(schema_in)

    def remove(code: str, actor: PrincipalDep, uow: UowDep) -> Response:
        delete_reference(uow, actor, kind, code)
        return Response(status_code=204)

    router.add_api_route(
        f"/{path}",
        create,
        methods=["POST"],
        status_code=201,
        response_model=schema_out,
        responses=problems(409),
        summary=f"Create a {label}",
        operation_id=f"create_{kind}",
    )
    router.add_api_route(
        f"/{path}",
        list_all,
        methods=["GET"],
        response_model=Page[schema_out],  # type: ignore[valid-type]
        responses=problems(),
        summary=f"List {label} records",
        operation_id=f"list_{kind}",
    )
    router.add_api_route(
        f"/{path}/{{code}}",
        read,
        methods=["GET"],
        response_model=schema_out,
        responses=problems(404),
        summary=f"Read a {label}",
        operation_id=f"read_{kind}",
    )
    router.add_api_route(
        f"/{path}/{{code}}",
        change,
        methods=["PATCH"],
        response_model=schema_out,
        responses=problems(404),
        summary=f"Change a {label} (the code stays)",
        operation_id=f"update_{kind}",
    )
    router.add_api_route(
        f"/{path}/{{code}}",
        remove,
        methods=["DELETE"],
        status_code=204,
        responses=problems(404, 409),
        summary=f"Delete a {label} no customer uses",
        operation_id=f"delete_{kind}",
    )


def _partial(schema: type[BaseModel]) -> type[BaseModel]:
    """The update form of a create schema: every field but the code, all optional."""
    fields: dict[str, Any] = {
        name: (Optional[info.annotation], None)  # noqa: UP045 - a runtime type expression
        for name, info in schema.model_fields.items()
        if name != "code"
    }
    return create_model(f"{schema.__name__.removesuffix('In')}Update", __base__=Strict, **fields)


for _path, (_kind, _in, _out, _label) in RESOURCES.items():
    _register(_path, _kind, _in, _out, _label)
