"""/api/v1/match, /duplicates (review queue), /customers/{id}/merge, /merges,
/xrefs: matching and golden records."""

from __future__ import annotations

import math
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import (
    MAX_LIMIT,
    bad_cursor,
    decode_cursor,
    encode_cursor,
    etag,
    expected_version,
    idempotent,
    int_cursor,
    json_response,
)
from custmaster.api.outcomes import PENDING
from custmaster.api.problems import PROBLEM_JSON
from custmaster.api.schemas.common import problems
from custmaster.api.schemas.matching import (
    GONE,
    ClusterOut,
    ClusterPage,
    CustomerXrefsOut,
    DecisionIn,
    MatchRequest,
    MatchResponse,
    MergeIn,
    MergeOut,
    MergeRecordOut,
    ModelVersionOut,
    ModelVersionPage,
    TrainIn,
    UnmergeOut,
    XrefOut,
)
from custmaster.domain.approvals import ChangeRequest
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.dedup.errors import CustomerMerged
from custmaster.services.dedup.merge import MergeResult
from custmaster.services.dedup.models import (
    get_version,
    list_versions,
    summary,
    train_version,
)
from custmaster.services.dedup.online import match_answer
from custmaster.services.dedup.ports import ClusterRecord
from custmaster.services.dedup.review import (
    get_cluster,
    list_clusters,
    uncertainty,
)
from custmaster.services.dedup.xrefs import customer_xrefs, resolve_xref
from custmaster.services.governance.cluster_decision import submit_cluster_decision
from custmaster.services.governance.merges import get_merge, submit_merge, submit_unmerge
from custmaster.services.ports import StoredResponse, UnitOfWork
from custmaster.services.sources.clusters import pending_members

router = APIRouter(prefix="/api/v1", tags=["matching"])
#: the bounds of ``POST /match?limit=``
LIMIT_RANGE = (1, 50)
ClusterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the candidate cluster's id")]
IfMatch = Annotated[
    str | None, Header(description="the ETag of the survivor's version the merge is based on")
]


def _customer(customer: Any) -> dict[str, Any]:
    return {**snapshot(customer), "warnings": []}


@router.post(
    "/match",
    response_model=MatchResponse,
    responses=problems(),
    summary="The best existing customers for a candidate record, with per-field explanation",
)
def match(
    payload: MatchRequest,
    actor: PrincipalDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=LIMIT_RANGE[0], le=LIMIT_RANGE[1])] = 10,
    min_score: Annotated[float, Query(ge=0, le=1, description="lowest probability")] = 0.0,
) -> Response:
    candidate = payload.model_dump(mode="json", exclude_unset=True)
    return json_response(200, match_answer(container.uow(), actor, candidate, limit, min_score))


@router.post(
    "/match/models",
    status_code=201,
    response_model=ModelVersionOut,
    responses=problems(),
    summary="Train a match model from the indexed customers and the stewards' decisions; "
    "it becomes the current version",
)
def train_model(payload: TrainIn, container: ContainerDep, actor: PrincipalDep) -> Response:
    version = train_version(
        container.uow, actor, sample=payload.sample, use_labels=payload.use_labels
    )
    location = f"/api/v1/match/models/{version.version}"
    return json_response(201, summary(version), {"Location": location})


@router.get(
    "/match/models",
    response_model=ModelVersionPage,
    responses=problems(),
    summary="The stored match model versions, latest (current) first",
)
def models(
    actor: PrincipalDep,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    return json_response(200, {"items": [summary(v) for v in list_versions(uow, actor, limit)]})


@router.get(
    "/match/models/{version}",
    response_model=ModelVersionOut,
    responses=problems(404),
    summary="One match model version with its training report",
)
def model_version(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], actor: PrincipalDep, uow: UowDep
) -> Response:
    return json_response(200, summary(get_version(uow, actor, version)))


def _clusters(uow: UnitOfWork, actor: Principal, found: list[ClusterRecord]) -> list[Any]:
    """The clusters' bodies; members that are incomplete source records are named."""
    pending = pending_members(uow, actor, found)
    return [_cluster(c, pending) for c in found]


def _one(uow: UnitOfWork, actor: Principal, cluster: ClusterRecord) -> dict[str, Any]:
    body: dict[str, Any] = _clusters(uow, actor, [cluster])[0]
    return body


def _cluster(cluster: ClusterRecord, pending: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(
        {
            "id": cluster.id,
            "status": cluster.status,
            "proposal": cluster.proposal,
            "score": cluster.score,
            "members": cluster.members,
            "pending_members": [m for m in cluster.members if m in pending],
            "pairs": cluster.pairs,
            "created_at": cluster.created_at,
            "run_id": cluster.run_id,
            "decided_at": cluster.decided_at,
            "decided_by": cluster.decided_by,
            "merge_id": cluster.merge_id,
        }
    )
    return data


@router.get(
    "/duplicates",
    response_model=ClusterPage,
    responses=problems(),
    summary="The review queue: candidate clusters with scores and explanations",
)
def duplicates(
    actor: PrincipalDep,
    uow: UowDep,
    status: Annotated[
        str | None, Query(pattern="^(open|merged|not_duplicate|superseded|all)$")
    ] = "open",
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    order: Annotated[
        str,
        Query(
            pattern="^(id|uncertain)$",
            description="id (oldest first) or uncertain: the clusters whose score is "
            "closest to 0.5 first, where a steward's decision teaches the model the most",
        ),
    ] = "id",
) -> Response:
    after = decode_cursor(cursor)
    uncertain = order == "uncertain"
    after_id: int | None = None
    after_uncertainty: float | None = None
    if after and uncertain:
        after_uncertainty, after_id = _uncertain_cursor(after)
    elif after:
        after_id = int_cursor(after)
    found = list_clusters(
        uow,
        actor,
        status=None if status == "all" else status,
        after_id=after_id,
        limit=limit,
        uncertain_first=uncertain,
        after_uncertainty=after_uncertainty,
    )
    next_cursor = None
    if len(found) == limit:
        last = found[-1]
        key = f"u{uncertainty(last)!r}:{last.id}" if uncertain else str(last.id)
        next_cursor = encode_cursor(key)
    return json_response(200, {"items": _clusters(uow, actor, found), "next_cursor": next_cursor})


def _uncertain_cursor(raw: str) -> tuple[float, int]:
    """``u<distance>:<id>`` of ``order=uncertain``, else 422."""
    head, _, tail = raw.partition(":")
    try:
        distance = float(head[1:]) if head.startswith("u") else math.nan
    except ValueError:
        distance = math.nan
    if not 0.0 <= distance <= 0.5:
        raise bad_cursor("cursor")
    return distance, int_cursor(tail)


@router.get(
    "/duplicates/{cluster_id}",
    response_model=ClusterOut,
    responses=problems(404),
    summary="One candidate cluster",
)
def duplicate(cluster_id: ClusterId, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, _one(uow, actor, get_cluster(uow, actor, cluster_id)))


def _merge_body(result: MergeResult) -> dict[str, Any]:
    return {
        "merge_id": str(result.merge_id),
        "customer": _customer(result.customer),
        "absorbed_ids": [str(i) for i in result.absorbed_ids],
        "rules": result.rules,
        "sources": result.sources,
        "dropped": result.dropped,
        "warnings": [w.as_dict() for w in result.warnings],
    }


@router.post(
    "/duplicates/{cluster_id}/decision",
    response_model=ClusterOut,
    responses={**problems(404, 409), **PENDING},
    summary="Merge the cluster (into survivor_id) or mark it not a duplicate (remembered)",
)
def decision(
    cluster_id: ClusterId,
    payload: DecisionIn,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    outcome = submit_cluster_decision(
        uow,
        actor,
        container.policy,
        cluster_id,
        payload.decision,
        survivor_id=payload.survivor_id,
        choices=payload.choices,
    )
    if outcome.request is not None:  # the merge waits for approval (202)
        return _pending(outcome.request)
    assert outcome.cluster is not None
    body = _one(uow, actor, outcome.cluster)
    if outcome.merge is not None:
        body["merge"] = _merge_body(outcome.merge)
    return json_response(200, body)


def _pending(request: ChangeRequest) -> Response:
    location = f"/api/v1/change-requests/{request.id}"
    return json_response(202, request.as_dict(), {"Location": location})


@router.post(
    "/customers/{customer_id}/merge",
    response_model=MergeOut,
    responses={**problems(404, 409, 412), **GONE, **PENDING},
    summary="Merge records into this one (survivorship rules per field; any number)",
)
def merge(
    customer_id: UUID,
    payload: MergeIn,
    request: Request,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
    if_match: IfMatch = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    version = expected_version(if_match)
    body = payload.model_dump(mode="json", exclude_unset=True)

    def produce() -> StoredResponse:
        outcome = submit_merge(
            uow,
            actor,
            container.policy,
            customer_id,
            payload.absorbed_ids,
            payload.choices or {},
            expected_version=version,
        )
        if outcome.request is not None:
            location = f"/api/v1/change-requests/{outcome.request.id}"
            return StoredResponse(202, outcome.request.as_dict(), {"Location": location})
        assert outcome.merge is not None
        result = outcome.merge
        return StoredResponse(200, _merge_body(result), {"ETag": etag(result.customer.version)})

    return idempotent(request, uow, actor, body, produce)


@router.get(
    "/merges/{merge_id}",
    response_model=MergeRecordOut,
    responses=problems(404),
    summary="A merge: who, when, the rules used and the snapshots unmerge restores",
)
def merge_record(merge_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    found = get_merge(uow, actor, merge_id)
    data = jsonable(
        {
            "id": found.id,
            "survivor_id": found.survivor_id,
            "absorbed_ids": found.absorbed_ids,
            "merged_at": found.merged_at,
            "merged_by": found.merged_by,
            "unmerged_at": found.unmerged_at,
            "unmerged_by": found.unmerged_by,
            "rules": found.rules,
            "choices": found.choices,
            "survivor_before": found.survivor_before,
            "survivor_after": found.survivor_after,
            "absorbed": found.absorbed,
        }
    )
    return json_response(200, data)


@router.post(
    "/merges/{merge_id}/unmerge",
    response_model=UnmergeOut,
    responses={**problems(404, 409), **PENDING},
    summary="Undo a merge: restore the absorbed records, keep later changes to the survivor",
)
def unmerge_merge(
    merge_id: UUID, container: ContainerDep, actor: PrincipalDep, uow: UowDep
) -> Response:
    outcome = submit_unmerge(uow, actor, container.policy, merge_id)
    if outcome.request is not None:
        return _pending(outcome.request)
    result = outcome.unmerge
    assert result is not None
    body = {
        "merge_id": str(result.merge_id),
        "customer": _customer(result.customer),
        "restored": [_customer(c) for c in result.restored],
    }
    return json_response(200, body, {"ETag": etag(result.customer.version)})


@router.get(
    "/xrefs/{source_system}/{source_id:path}",
    response_model=XrefOut,
    responses=problems(404),
    summary="Resolve a source system's id to the current golden record, following merges",
    description="The id may hold `/` (a D365 id such as `demf/DE-0001`), as it is or "
    "percent-encoded (`demf%2FDE-0001`).",
)
def xref(source_system: str, source_id: str, actor: PrincipalDep, uow: UowDep) -> Response:
    found = resolve_xref(uow, actor, source_system, source_id)
    body = {
        "customer_id": str(found.customer_id),
        "number": found.number,
        "followed": [str(m) for m in found.followed],
    }
    return json_response(200, body)


@router.get(
    "/customers/{customer_id}/xrefs",
    response_model=CustomerXrefsOut,
    responses={**problems(404), **GONE},
    summary="The (source system, source id) pairs that point at this customer",
)
def xrefs(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    found = customer_xrefs(uow, actor, customer_id)
    items = [
        {
            "source_system": r.source_system,
            "source_id": r.source_id,
            "via_merge": str(found.via_merge[r]) if r in found.via_merge else None,
        }
        for r in found.customer.source_refs
    ]
    body = {"customer_id": str(found.customer.id), "number": found.customer.number, "xrefs": items}
    return json_response(200, body)


async def customer_merged(request: Request, exc: Exception) -> JSONResponse:
    """410 Gone with a pointer to the golden record (no automatic redirect: a write sent
    to an absorbed id must not silently land on another record)."""
    assert isinstance(exc, CustomerMerged)
    location = f"/api/v1/customers/{exc.survivor_id}"
    body = {
        "type": "/problems/customer-merged",
        "title": exc.title,
        "status": 410,
        "detail": exc.detail,
        "instance": request.url.path,
        "survivor_id": str(exc.survivor_id),
        "merge_ids": [str(m) for m in exc.merge_ids],
    }
    return JSONResponse(
        body, status_code=410, media_type=PROBLEM_JSON, headers={"Location": location}
    )


def install(app: FastAPI) -> None:
    """Routes and the 410 answer of absorbed customer ids."""
    app.include_router(router)
    app.add_exception_handler(CustomerMerged, customer_merged)
