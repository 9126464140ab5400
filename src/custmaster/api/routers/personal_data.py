"""Personal data: export everything held about a customer or a contact (JSON); erase a
person's data by anonymisation, through the approval policy (hard delete is the other
way, DELETE /customers/{id})."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.outcomes import PENDING, answer, customer_response
from custmaster.api.schemas.common import problems
from custmaster.api.schemas.customers import CustomerOut
from custmaster.services.governance.personal_data import (
    erase_customer,
    export_contact,
    export_customer,
)

router = APIRouter(prefix="/api/v1/customers", tags=["personal data"])


@router.get(
    "/{customer_id}/personal-data",
    response_model=dict[str, Any],
    responses=problems(404),
    summary="Everything held about a customer (JSON)",
)
def export_one(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, export_customer(uow, actor, customer_id))


@router.get(
    "/{customer_id}/contacts/{contact_id}/personal-data",
    response_model=dict[str, Any],
    responses=problems(404),
    summary="Everything held about a contact (JSON)",
)
def export_contact_data(
    customer_id: UUID, contact_id: UUID, actor: PrincipalDep, uow: UowDep
) -> Response:
    return json_response(200, export_contact(uow, actor, customer_id, contact_id))


@router.post(
    "/{customer_id}/erase",
    response_model=CustomerOut,
    responses={**problems(404, 409), **PENDING},
    summary="Anonymise a person's personal data; financial history stays",
)
def erase(customer_id: UUID, container: ContainerDep, actor: PrincipalDep, uow: UowDep) -> Response:
    outcome = erase_customer(uow, actor, container.policy, customer_id, container.service_settings)
    return customer_response(answer(outcome, 200))


@router.post(
    "/{customer_id}/contacts/{contact_id}/erase",
    response_model=CustomerOut,
    responses={**problems(404, 409), **PENDING},
    summary="Anonymise one contact's personal data",
)
def erase_contact(
    customer_id: UUID, contact_id: UUID, container: ContainerDep, actor: PrincipalDep, uow: UowDep
) -> Response:
    outcome = erase_customer(
        uow, actor, container.policy, customer_id, container.service_settings, contact_id=contact_id
    )
    return customer_response(answer(outcome, 200))
