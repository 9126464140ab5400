"""Change request schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from custmaster.api.schemas.common import Strict, WarningOut


class StepOut(BaseModel):
    role: str
    state: str
    decided_by: str | None
    decided_at: str | None
    comment: str | None


class ProposedChangeOut(BaseModel):
    payload: dict[str, Any]
    fields: list[str]
    base_version: int | None
    base_values: dict[str, Any]


class ChangeRequestOut(BaseModel):
    id: str
    operation: str
    customer_id: str | None
    submitted_by: str
    lane: str
    status: str
    entities: list[str]
    reasons: list[str]
    steps: list[StepOut]
    change: ProposedChangeOut
    conflict_fields: list[str]
    created_at: str | None
    updated_at: str | None
    warnings: list[WarningOut] = []


class ApproveIn(Strict):
    comment: str | None = None


class RejectIn(Strict):
    reason: str
