"""/api/v1/customers/{id}/sources: the source records of a golden record and which
source won each field; /api/v1/clusters/export: the review queue's clusters with their
members' source ids."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import problems
from custmaster.domain.snapshot import jsonable
from custmaster.services.imports.formula import neutralise_cell
from custmaster.services.sources.clusters import CSV_COLUMNS, csv_rows, export_clusters
from custmaster.services.sources.read import customer_sources

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


class SourceRecordOut(BaseModel):
    id: UUID
    source_system: str
    source_id: str | None
    origin: str
    received: dict[str, Any]
    normalised: dict[str, Any] | None
    missing: list[str]
    warnings: list[dict[str, Any]]
    lineage: dict[str, Any]


class FieldWinnerOut(BaseModel):
    field: str
    value: Any
    source_record_id: UUID | None
    source_system: str | None
    source_id: str | None
    rule: str
    why: str


class CustomerSourcesOut(BaseModel):
    customer_id: UUID
    records: list[SourceRecordOut]
    fields: list[FieldWinnerOut]


@router.get(
    "/{customer_id}/sources",
    response_model=CustomerSourcesOut,
    responses=problems(403, 404),
    summary="The source records of a golden record and, per field, which source won and why",
)
def sources(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    found = customer_sources(uow, actor, customer_id)
    body = {
        "customer_id": found.customer.id,
        "records": [
            {
                "id": r.id,
                "source_system": r.source_system,
                "source_id": r.source_id,
                "origin": r.origin,
                "received": r.received,
                "normalised": r.normalised,
                "missing": r.missing,
                "warnings": r.warnings,
                "lineage": {
                    "job_id": r.job_id,
                    "file": r.file,
                    "rows": r.rows,
                    "received_at": r.received_at,
                },
            }
            for r in found.records
        ],
        "fields": [
            {
                "field": f.field,
                "value": f.value,
                "source_record_id": f.source_record_id,
                "source_system": f.source_system,
                "source_id": f.source_id,
                "rule": f.rule,
                "why": f.why,
            }
            for f in found.fields
        ],
    }
    return json_response(200, jsonable(body))


clusters_router = APIRouter(prefix="/api/v1/clusters", tags=["matching"])


@clusters_router.get(
    "/export",
    responses={
        200: {
            "content": {"application/x-ndjson": {}, "text/csv": {}},
            "description": "one JSON cluster per line, or one CSV line per member",
        },
        **problems(),
    },
    summary="Export the review queue's clusters with their members' source ids",
)
def export(
    container: ContainerDep,
    actor: PrincipalDep,
    format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",
    status: Annotated[str, Query(pattern="^(open|merged|not_duplicate|superseded|all)$")] = "open",
) -> Response:
    found = export_clusters(container.uow, actor, status=None if status == "all" else status)
    first = next(found, None)  # the permission check runs before the answer starts
    clusters = [] if first is None else itertools.chain([first], found)
    if format == "jsonl":
        lines = (json.dumps(c, ensure_ascii=False) + "\n" for c in clusters)
        return StreamingResponse(lines, media_type="application/x-ndjson")

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for cluster in clusters:
            for line in csv_rows(cluster):
                writer.writerow({k: neutralise_cell(str(v)) for k, v in line.items()})
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return StreamingResponse(rows(), media_type="text/csv")
