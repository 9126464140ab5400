"""/api/v1/exports: customers as CSV, XLSX, JSON Lines or Parquet, streamed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from custmaster.api.certificates import CertificateWindow, certificates_ending
from custmaster.api.deps import ContainerDep, PrincipalDep
from custmaster.api.schemas.common import problems
from custmaster.domain.model import CustomerStatus, CustomerType, RelationshipStatus
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.exports import MEDIA_TYPES, ExportFormat, export_customers

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
_CONTENT: dict[str, dict[str, object]] = {MEDIA_TYPES[f].split(";")[0]: {} for f in ExportFormat}


@router.get(
    "/customers",
    responses={**problems(), 200: {"content": _CONTENT, "description": "the export file"}},
    summary="Export customers (master or an entity's effective view), streamed",
)
def export(
    container: ContainerDep,
    actor: PrincipalDep,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,
    entity: Annotated[
        str | None, Query(max_length=64, description="the entity's effective view")
    ] = None,
    status: CustomerStatus | None = CustomerStatus.ACTIVE,
    include_inactive: Annotated[bool, Query(description="every status")] = False,
    customer_type: CustomerType | None = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    customer_group: Annotated[str | None, Query(max_length=64)] = None,
    industry: Annotated[str | None, Query(max_length=64, description="industry code")] = None,
    account_tier: Annotated[str | None, Query(max_length=64)] = None,
    relationship_status: RelationshipStatus | None = None,
    owned_by: Annotated[
        str | None, Query(max_length=64, description="owned by or overridden for this entity")
    ] = None,
    certificate_expiring_within: CertificateWindow = None,
) -> Response:
    query = CustomerQuery(
        certificates_ending=certificates_ending(certificate_expiring_within),
        status=None if include_inactive else status,
        customer_type=customer_type.value if customer_type else None,
        country=country,
        customer_group=customer_group,
        industry=industry,
        account_tier=account_tier,
        relationship_status=relationship_status.value if relationship_status else None,
        entity=owned_by,
    )
    chunks = export_customers(container.uow, actor, format, query, entity=entity)
    name = f"customers{'-' + entity if entity else ''}.{format.value}"
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
