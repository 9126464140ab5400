"""/api/v1/customers/{id}/profile, /kpis, /receivables, /sales and /credit-check: the
living profile, per legal entity in the caller's scope."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from custmaster.api.deps import ContainerDep, PrincipalDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import problems
from custmaster.domain.snapshot import json_default, jsonable
from custmaster.services.profile import reads

router = APIRouter(prefix="/api/v1/customers", tags=["profile"])

EntityQuery = Annotated[
    str | None, Query(max_length=64, description="one legal entity (default: all in scope)")
]


@router.get(
    "/{customer_id}/profile",
    responses=problems(403, 404),
    summary="The 360 view: receivables, 24-month sales, KPIs, cases, renewals",
)
def profile(
    customer_id: UUID, container: ContainerDep, actor: PrincipalDep, entity: EntityQuery = None
) -> Response:
    body = reads.customer_profile(
        container.uow(), actor, customer_id, container.profile, entity=entity
    )
    return profile_response(body)


def profile_response(body: dict[str, Any]) -> Response:
    """The 360 view's answer (the route's and the fast path's): written in one pass by the
    JSON encoder, as ``JSONResponse`` writes ``jsonable(body)`` (the view's keys are
    strings), without building the converted copy first."""
    content = json.dumps(
        body, default=json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return Response(content.encode("utf-8"), media_type="application/json")


@router.get(
    "/{customer_id}/kpis",
    responses=problems(403, 404),
    summary="The customer's KPI set evaluated (a parent: its subtree's aggregate)",
)
def kpis(
    customer_id: UUID, container: ContainerDep, actor: PrincipalDep, entity: EntityQuery = None
) -> Response:
    body = reads.customer_kpis(
        container.uow(), actor, customer_id, container.profile, entity=entity
    )
    return json_response(200, jsonable(body))


@router.get(
    "/{customer_id}/receivables",
    responses=problems(403, 404),
    summary="Open items, aging, overdue, DSO, days late, exposure per entity",
)
def receivables(
    customer_id: UUID, container: ContainerDep, actor: PrincipalDep, entity: EntityQuery = None
) -> Response:
    body = reads.customer_receivables(
        container.uow(), actor, customer_id, container.profile, entity=entity
    )
    return json_response(200, jsonable(body))


@router.get(
    "/{customer_id}/sales",
    responses=problems(403, 404),
    summary="24 months of sales by entity and product group, RFM, YoY, roll-up",
)
def sales(
    customer_id: UUID, container: ContainerDep, actor: PrincipalDep, entity: EntityQuery = None
) -> Response:
    body = reads.customer_sales(
        container.uow(), actor, customer_id, container.profile, entity=entity
    )
    return json_response(200, jsonable(body))


class CreditCheckIn(BaseModel):
    model_config = {"extra": "forbid"}

    legal_entity: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(ge=0, lt=Decimal("1e13"), description="in the entity's currency")


@router.post(
    "/{customer_id}/credit-check",
    responses=problems(403, 404, 422),
    summary="Release or hold an order, with the reasons of the credit rule",
)
def credit_check(
    customer_id: UUID, body: CreditCheckIn, container: ContainerDep, actor: PrincipalDep
) -> Response:
    result = reads.credit_check(
        container.uow(),
        actor,
        customer_id,
        container.profile,
        entity=body.legal_entity,
        amount=float(body.amount),
    )
    return json_response(200, jsonable(result))
