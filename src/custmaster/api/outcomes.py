"""Rendering use-case outcomes: the customer (with ETag) or the change request (202)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from custmaster.api.http import etag, json_response
from custmaster.api.schemas.change_requests import ChangeRequestOut
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import Customer
from custmaster.domain.snapshot import snapshot
from custmaster.services.customers.outcome import CustomerResult, Outcome
from custmaster.services.ports import StoredResponse

#: the extra response of every operation that may wait for approval
PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": ChangeRequestOut, "description": "Waiting for approval: the change request"}
}


def customer_body(
    customer: Customer,
    warnings: list[ChangeWarning] | None = None,
    *,
    made: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The customer's snapshot with its warnings (``made``: the snapshot, when the use
    case made it already; copied, never changed)."""
    data = snapshot(customer) if made is None else dict(made)
    data["warnings"] = [w.as_dict() for w in warnings or []]
    return data


def stored(result: CustomerResult, status: int) -> StoredResponse:
    headers = {"ETag": etag(result.customer.version)}
    if status == 201:
        headers["Location"] = f"/api/v1/customers/{result.customer.id}"
    body = customer_body(result.customer, result.warnings, made=result.snapshot)
    return StoredResponse(status, body, headers)


def answer(outcome: Outcome, status: int) -> StoredResponse:
    """The applied change (``status``), or 202 with the change request it opened."""
    if outcome.request is not None:
        body = {**outcome.request.as_dict(), "warnings": [w.as_dict() for w in outcome.warnings]}
        location = f"/api/v1/change-requests/{outcome.request.id}"
        return StoredResponse(202, body, {"Location": location})
    if outcome.result is None:
        return StoredResponse(204, None, {})
    return stored(outcome.result, status)


def customer_response(stored_answer: StoredResponse) -> Response:
    if stored_answer.status_code == 204:
        return Response(status_code=204)
    return json_response(stored_answer.status_code, stored_answer.body, stored_answer.headers)
