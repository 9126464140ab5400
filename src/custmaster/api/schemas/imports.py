"""Schemas of /api/v1/imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from custmaster.api.schemas.common import Strict


class ImportOptionsOut(BaseModel):
    on_duplicate: str
    batch_size: int
    stop_on_first_error: bool
    validate_only: bool
    entity: str | None
    keep_incomplete_as_drafts: bool
    on_invalid_field: str = "drop"


class ImportProgressOut(BaseModel):
    total_rows: int | None
    validated_records: int
    record_count: int | None
    batches: int
    committed_batches: int


class ImportJobOut(BaseModel):
    id: UUID
    status: str
    template: str
    files: list[str]
    options: ImportOptionsOut
    submitted_by: str
    decided_by: str | None
    decided_at: datetime | None
    progress: ImportProgressOut
    summary: dict[str, Any]
    error: str | None
    resumable: bool
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportRowOut(BaseModel):
    record: int
    rows: list[int]
    source_id: str | None
    outcome: str
    applied: bool
    customer_id: UUID | None
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


class ImportDraftOut(BaseModel):
    id: UUID
    record: int
    source_system: str | None
    source_id: str | None
    name: str | None
    missing: list[str]
    command: dict[str, Any]
    warnings: list[dict[str, Any]]
    created_at: datetime


class RejectIn(Strict):
    reason: str | None = None
