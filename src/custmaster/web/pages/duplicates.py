"""Duplicates: the review queue, a cluster side by side (differing attributes
highlighted, the matcher's explanation), the surviving value per attribute, the merge
preview, merge or not a duplicate; a merge's page with unmerge."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from custmaster.bootstrap import Container
from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal
from custmaster.domain.snapshot import snapshot
from custmaster.services.customers.read import get_customer
from custmaster.services.dedup.errors import CustomerMerged
from custmaster.services.dedup.preview import preview_merge
from custmaster.services.dedup.review import get_cluster, list_clusters
from custmaster.services.governance.cluster_decision import submit_cluster_decision
from custmaster.services.governance.merges import get_merge, submit_unmerge
from custmaster.web.auth import actor
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router

ClusterId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: the attributes compared side by side (a steward may choose each one's value)
COMPARED = (
    "name",
    "legal_name",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "currency",
    "notes",
)


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


@router.get("/duplicates")
def queue(
    request: Request,
    status: Annotated[str, Query(pattern="^(open|merged|not_duplicate|superseded|all)$")] = "open",
) -> Response:
    container, me = _container(request), actor(request)
    found = list_clusters(
        container.uow(), me, status=None if status == "all" else status, after_id=None, limit=100
    )
    return render(
        request, "duplicates.html", {"title": "Duplicates", "clusters": found, "status": status}
    )


def _members(container: Container, me: Principal, ids: list[str]) -> list[dict[str, Any]]:
    members = []
    for member in ids:
        try:
            members.append(snapshot(get_customer(container.uow(), me, UUID(member))))
        except CustomerMerged:
            continue  # merged away since the cluster was found
        except NotFound:
            continue
    return members


def _rows(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name in COMPARED:
        values = [m.get(name) for m in members]
        shown = {str(v) for v in values if v not in (None, "")}
        rows.append({"name": name, "cells": values, "differs": len(shown) > 1})
    return rows


def _choices(form: FormData, members: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """field -> {"from": the id of the member whose value the steward chose}."""
    ids = {str(m["id"]) for m in members}
    found: dict[str, dict[str, Any]] = {}
    for name in COMPARED:
        chosen = form.get(f"choose_{name}")
        if isinstance(chosen, str) and chosen in ids:
            found[name] = {"from": chosen}
    return found


def _cluster_page(
    request: Request,
    cluster_id: int,
    form: FormData | None,
    status: int = 200,
    preview: dict[str, Any] | None = None,
    errors: list[str] | None = None,
) -> Response:
    container, me = _container(request), actor(request)
    cluster = get_cluster(container.uow(), me, cluster_id)
    members = _members(container, me, cluster.members)
    survivor = form.get("survivor_id") if form else None
    context = {
        "title": f"Duplicate cluster {cluster_id}",
        "cluster": cluster,
        "members": members,
        "rows": _rows(members),
        "survivor": survivor or (members[0]["id"] if members else ""),
        "chosen": {k: v["from"] for k, v in _choices(form, members).items()} if form else {},
        "preview": preview,
        "errors": errors or [],
        "numbers": {str(m["id"]): m["number"] for m in members},
        "may_decide": me.has(Permission.MERGE_PROPOSE) and cluster.status == "open",
    }
    return render(request, "cluster.html", context, status)


@router.get("/duplicates/{cluster_id}")
def cluster_page(request: Request, cluster_id: ClusterId) -> Response:
    return _cluster_page(request, cluster_id, None)


def _survivor(form: FormData) -> UUID:
    value = form.get("survivor_id")
    try:
        return UUID(str(value))
    except ValueError:
        raise ValidationFailed(
            [FieldError("survivor_id", "required", "choose the record that survives")]
        ) from None


@router.post("/duplicates/{cluster_id}/preview")
async def preview(request: Request, cluster_id: ClusterId) -> Response:
    form = await request.form()
    return await run_in_threadpool(_preview, request, cluster_id, form)


def _preview(request: Request, cluster_id: int, form: FormData) -> Response:
    container, me = _container(request), actor(request)
    cluster = get_cluster(container.uow(), me, cluster_id)
    members = _members(container, me, cluster.members)
    survivor = _survivor(form)
    absorbed = [UUID(str(m["id"])) for m in members if str(m["id"]) != str(survivor)]
    try:
        plan = preview_merge(container.uow(), me, survivor, absorbed, _choices(form, members))
    except ValidationFailed as exc:
        return _cluster_page(request, cluster_id, form, 422, errors=[exc.detail])
    golden = plan["customer"]
    shown = [
        {"name": n, "value": golden.get(n), "rule": plan["rules"].get(n, "")} for n in COMPARED
    ]
    return _cluster_page(request, cluster_id, form, preview={"fields": shown})


@router.post("/duplicates/{cluster_id}/decision")
async def decision(request: Request, cluster_id: ClusterId) -> Response:
    form = await request.form()
    return await run_in_threadpool(_decide, request, cluster_id, form)


def _decide(request: Request, cluster_id: int, form: FormData) -> Response:
    container, me = _container(request), actor(request)
    choice = form.get("decision")
    if choice == "not_duplicate":
        submit_cluster_decision(
            container.uow(),
            me,
            container.policy,
            cluster_id,
            "not_duplicate",
        )
        return redirect(f"/console/duplicates/{cluster_id}")
    if choice != "merge":
        raise ValidationFailed([FieldError("decision", "invalid_choice", "merge or not_duplicate")])
    cluster = get_cluster(container.uow(), me, cluster_id)
    members = _members(container, me, cluster.members)
    try:
        outcome = submit_cluster_decision(
            container.uow(),
            me,
            container.policy,
            cluster_id,
            "merge",
            survivor_id=_survivor(form),
            choices=_choices(form, members),
        )
    except ValidationFailed as exc:
        return _cluster_page(request, cluster_id, form, 422, errors=[exc.detail])
    if outcome.request is not None:
        return redirect(f"/console/change-requests/{outcome.request.id}?flash=submitted")
    if outcome.merge is not None:
        return redirect(f"/console/merges/{outcome.merge.merge_id}")
    return redirect(f"/console/duplicates/{cluster_id}")


@router.get("/merges/{merge_id}")
def merge_page(
    request: Request,
    merge_id: UUID,
    flash: Annotated[str | None, Query(pattern="^(unmerged)$")] = None,
) -> Response:
    container, me = _container(request), actor(request)
    merge = get_merge(container.uow(), me, merge_id)
    after = merge.survivor_after or {}
    before = merge.survivor_before or {}
    rows = [
        {
            "name": n,
            "before": before.get(n),
            "after": after.get(n),
            "absorbed": [a.get(n) for a in merge.absorbed],
        }
        for n in COMPARED
    ]
    may_unmerge = merge.unmerged_at is None and me.has(Permission.MERGE_PROPOSE)
    context = {
        "title": "Merge",
        "merge": merge,
        "rows": rows,
        "flash": flash,
        "may_unmerge": may_unmerge,
    }
    return render(request, "merge.html", context)


@router.post("/merges/{merge_id}/unmerge")
def unmerge(request: Request, merge_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    outcome = submit_unmerge(container.uow(), me, container.policy, merge_id)
    if outcome.request is not None:
        return redirect(f"/console/change-requests/{outcome.request.id}?flash=submitted")
    return redirect(f"/console/merges/{merge_id}?flash=unmerged")
