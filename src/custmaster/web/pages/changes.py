"""The inbox: change requests waiting for me (diff, lane, reasons, warnings, steps),
approve with a comment, reject with a reason, withdraw; what I submitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Form, Query, Request, Response

from custmaster.bootstrap import Container
from custmaster.domain.permissions import Permission
from custmaster.services.governance.access import visible_request
from custmaster.services.governance.decide import (
    approve,
    get_request,
    list_requests,
    reject,
    withdraw,
)
from custmaster.web.auth import actor
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _age(created: str | None) -> str:
    if not created:
        return ""
    hours = (datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


def diff_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Field, its value when the request was made, and the proposed value."""
    change = body.get("change", {})
    payload = change.get("payload", {}) or {}
    proposed = payload.get("proposed", {}) or {}
    base = change.get("base_values", {}) or {}
    conflicts = set(body.get("conflict_fields", []))
    return [
        {
            "field": path,
            "before": base.get(path),
            "after": proposed.get(path),
            "conflict": path in conflicts,
        }
        for path in change.get("fields", [])
    ]


def _summaries(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "age": _age(r.get("created_at")), "diff": diff_rows(r)} for r in requests]


@router.get("/inbox")
def inbox(request: Request) -> Response:
    container, me = _container(request), actor(request)
    waiting: list[dict[str, Any]] = []
    if me.has(Permission.CHANGEREQUEST_APPROVE):
        found = list_requests(
            container.uow(), me, statuses=["pending"], waiting_for_me=True, after=None, limit=100
        )
        waiting = [visible_request(me, r) for r in found]
    recent = list_requests(
        container.uow(), me, statuses=None, waiting_for_me=False, after=None, limit=500
    )
    mine = [visible_request(me, r) for r in recent if r.submitted_by == me.user_id]
    context = {
        "title": "Inbox",
        "waiting": _summaries(waiting),
        "mine": _summaries(list(reversed(mine))[:50]),
    }
    return render(request, "inbox.html", context)


@router.get("/change-requests/{request_id}")
def change_request_page(
    request: Request,
    request_id: UUID,
    flash: Annotated[str | None, Query(pattern="^(submitted|approved|rejected|withdrawn)$")] = None,
) -> Response:
    container, me = _container(request), actor(request)
    found = get_request(container.uow(), me, request_id)
    body = visible_request(me, found)
    context = {
        "title": "Change request",
        "cr": body,
        "diff": diff_rows(body),
        "flash": flash,
        "age": _age(body.get("created_at")),
        "may_decide": found.status.value == "pending" and found.can_decide(me),
        "may_withdraw": found.status.value == "pending" and found.submitted_by == me.user_id,
    }
    return render(request, "change_request.html", context)


@router.post("/change-requests/{request_id}/approve")
def approve_request(
    request: Request,
    request_id: UUID,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    container, me = _container(request), actor(request)
    approve(container.uow(), me, request_id, container.service_settings, comment=comment or None)
    return redirect(f"/console/change-requests/{request_id}?flash=approved")


@router.post("/change-requests/{request_id}/reject")
def reject_request(
    request: Request,
    request_id: UUID,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    container, me = _container(request), actor(request)
    reject(container.uow(), me, request_id, reason)
    return redirect(f"/console/change-requests/{request_id}?flash=rejected")


@router.post("/change-requests/{request_id}/withdraw")
def withdraw_request(request: Request, request_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    withdraw(container.uow(), me, request_id)
    return redirect(f"/console/change-requests/{request_id}?flash=withdrawn")
