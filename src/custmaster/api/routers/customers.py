"""/api/v1/customers: create, read (master or effective view), list, update,
deactivate, reactivate, hard delete, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from custmaster.api.certificates import CertificateWindow, certificates_ending
from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import (
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    etag,
    expected_version,
    idempotent,
    json_response,
)
from custmaster.api.outcomes import PENDING, answer, customer_body, customer_response
from custmaster.api.schemas.common import Page, problems
from custmaster.api.schemas.customers import (
    CustomerCreate,
    CustomerOut,
    CustomerPatch,
    CustomerSummary,
    EffectiveCustomerOut,
    HistoryEntryOut,
)
from custmaster.api.schemas.matching import GONE
from custmaster.bootstrap import Container
from custmaster.domain.approvals import Operation
from custmaster.domain.effective import EffectiveView
from custmaster.domain.model import Customer, CustomerStatus, CustomerType, RelationshipStatus
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import CHILD_COLLECTIONS, jsonable, snapshot
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.customers.create import create_customer
from custmaster.services.customers.lifecycle import change_lifecycle
from custmaster.services.customers.read import (
    AsyncCustomerReads,
    customer_history,
    get_customer,
    get_effective_view,
    read_effective_view,
    search_customers,
)
from custmaster.services.customers.update import update_customer
from custmaster.services.ports import UnitOfWork

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
ENTITY_MAX_LENGTH = 64
IfMatch = Annotated[
    str | None, Header(description="the ETag of the version the change is based on")
]
IdempotencyKey = Annotated[
    str | None, Header(description="a retry with the same key and body gets the first answer")
]


@router.post(
    "",
    status_code=201,
    response_model=CustomerOut,
    responses={**problems(409), **PENDING},
    summary="Create a customer with its child records and overrides",
)
def create(
    payload: CustomerCreate,
    request: Request,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    data = payload.model_dump(mode="json", exclude_unset=True)
    settings = container.service_settings
    return idempotent(
        request,
        uow,
        actor,
        data,
        lambda: answer(create_customer(uow, actor, container.policy, data, settings), 201),
    )


@router.get(
    "",
    response_model=Page[CustomerSummary],
    responses=problems(),
    summary="List and search customers (master records, without child records)",
)
def list_customers(
    actor: PrincipalDep,
    uow: UowDep,
    q: Annotated[
        str | None, Query(max_length=255, description="name, number, email or tax id")
    ] = None,
    status: CustomerStatus | None = CustomerStatus.ACTIVE,
    include_inactive: Annotated[bool, Query(description="list every status")] = False,
    customer_type: CustomerType | None = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    customer_group: Annotated[str | None, Query(max_length=64)] = None,
    industry: Annotated[str | None, Query(max_length=64, description="industry code")] = None,
    account_tier: Annotated[str | None, Query(max_length=64)] = None,
    relationship_status: RelationshipStatus | None = None,
    entity: Annotated[
        str | None, Query(max_length=64, description="owned by or overridden for")
    ] = None,
    certificate_expiring_within: CertificateWindow = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    query = CustomerQuery(
        certificates_ending=certificates_ending(certificate_expiring_within),
        text=q or None,
        status=None if include_inactive else status,
        customer_type=customer_type.value if customer_type else None,
        country=country,
        customer_group=customer_group,
        industry=industry,
        account_tier=account_tier,
        relationship_status=relationship_status.value if relationship_status else None,
        entity=entity,
        after_number=decode_cursor(cursor),
        limit=limit,
    )
    found = search_customers(uow, actor, query)
    items = [
        {
            k: v
            for k, v in snapshot(c).items()
            if k not in (*CHILD_COLLECTIONS, "source_refs", "overrides")
        }
        for c in found
    ]
    next_cursor = encode_cursor(found[-1].number) if len(found) == limit else None
    return json_response(200, {"items": items, "next_cursor": next_cursor})


@router.get(
    "/{customer_id}",
    response_model=EffectiveCustomerOut | CustomerOut,
    responses={**problems(404), **GONE},
    summary="Read the master record, or with ?entity= the effective view for that entity",
)
async def read(
    customer_id: UUID,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
    entity: Annotated[
        str | None, Query(max_length=ENTITY_MAX_LENGTH, description="legal entity code")
    ] = None,
    as_of: Annotated[
        date | None, Query(description="effective view: inherit fields as of this date")
    ] = None,
) -> Response:
    if entity is None:
        return await run_in_threadpool(_read_master, customer_id, actor, uow)
    reads: AsyncCustomerReads | None = request.app.state.customer_reads
    if reads is None:  # SQLite: the synchronous read in a thread
        customer, view = await run_in_threadpool(
            get_effective_view, uow, actor, customer_id, entity, as_of
        )
    else:  # PostgreSQL: awaited on the event loop
        customer, view = await read_effective_view(reads, uow, actor, customer_id, entity, as_of)
    return view_response(customer, view)


def view_response(customer: Customer, view: EffectiveView) -> Response:
    """The answer of an effective view (the route and ``api.fast_path`` use this)."""
    warnings = [w.as_dict() for w in view.warnings]
    body = {
        **view.data,
        "warnings": warnings,
        "entity": view.entity,
        "overridden_fields": view.overridden_fields,
    }
    return json_response(200, body, {"ETag": etag(customer.version)})


def _read_master(customer_id: UUID, actor: Principal, uow: UnitOfWork) -> Response:
    customer = get_customer(uow, actor, customer_id)
    body = customer_body(customer)  # get_customer kept only the overrides actor may see
    return json_response(200, body, {"ETag": etag(customer.version)})


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    responses={**problems(404, 409, 412), **PENDING},
    summary="Partial update; child records, dimensions and overrides by action lists",
)
def patch(
    customer_id: UUID,
    payload: CustomerPatch,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
    if_match: IfMatch = None,
) -> Response:
    return patch_response(container, actor, uow, customer_id, payload, if_match)


def patch_response(
    container: Container,
    actor: Principal,
    uow: UnitOfWork,
    customer_id: UUID,
    payload: CustomerPatch,
    if_match: str | None,
) -> Response:
    """The answer of a PATCH (the route and ``api.fast_path`` use this)."""
    data = payload.model_dump(mode="json", exclude_unset=True)
    outcome = update_customer(
        uow,
        actor,
        container.policy,
        customer_id,
        data,
        container.service_settings,
        expected_version=expected_version(if_match),
    )
    return customer_response(answer(outcome, 200))


def _status_route(operation: Operation, path: str, summary: str) -> None:
    """POST /customers/{id}/<path>: a status change under the approval policy."""

    def change_status(
        customer_id: UUID,
        request: Request,
        container: ContainerDep,
        actor: PrincipalDep,
        uow: UowDep,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        version = expected_version(if_match)
        return idempotent(
            request,
            uow,
            actor,
            None,
            lambda: answer(
                change_lifecycle(
                    uow, actor, container.policy, operation, customer_id, expected_version=version
                ),
                200,
            ),
        )

    router.add_api_route(
        f"/{{customer_id}}/{path}",
        change_status,
        methods=["POST"],
        response_model=CustomerOut,
        responses={**problems(404, 409, 412), **PENDING},
        summary=summary,
        name=path,
        operation_id=f"{path}_customer",
    )


_status_route(
    Operation.DEACTIVATE,
    "deactivate",
    "Soft delete: hidden from default lists, everything kept, reversible",
)
_status_route(Operation.REACTIVATE, "reactivate", "Undo a deactivation")


@router.delete(
    "/{customer_id}",
    status_code=204,
    responses={**problems(404, 412), **PENDING},
    summary="Hard delete: removes the customer and its child records, keeps the audit",
)
def hard_delete(
    customer_id: UUID,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
    if_match: IfMatch = None,
) -> Response:
    outcome = change_lifecycle(
        uow,
        actor,
        container.policy,
        Operation.HARD_DELETE,
        customer_id,
        expected_version=expected_version(if_match),
    )
    return customer_response(answer(outcome, 204))


@router.get(
    "/{customer_id}/history",
    response_model=Page[HistoryEntryOut],
    responses=problems(404),
    summary="The audit entries of a customer (also after a hard delete)",
)
def history(
    customer_id: UUID,
    actor: PrincipalDep,
    uow: UowDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    after = decode_cursor(cursor)
    after_id = int(after) if after and after.isdigit() else None
    entries = customer_history(uow, actor, customer_id, after_id=after_id, limit=limit)
    items = [
        jsonable(
            {
                "id": e.id,
                "occurred_at": e.occurred_at,
                "actor_id": e.actor_id,
                "actor_name": e.actor_name,
                "operation": e.operation,
                "change_request_id": e.change_request_id,
                "changes": e.changes,
            }
        )
        for e in entries
    ]
    next_cursor = encode_cursor(str(entries[-1].id)) if len(entries) == limit else None
    return json_response(200, {"items": items, "next_cursor": next_cursor})
