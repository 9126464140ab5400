"""Request and response schemas of matching, the review queue, merges and xrefs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from custmaster.api.schemas.common import Problem, Strict, WarningOut
from custmaster.api.schemas.customers import CustomerOut, _MasterFields
from custmaster.domain.model import AddressType, CustomerKind


class MatchAddressIn(Strict):
    type: AddressType | None = None
    lines: list[str] | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    is_primary: bool = False


class MatchRequest(_MasterFields):
    """A candidate record in the create-request shape; nothing is required (a missing
    field counts as unknown). Child records other than addresses are accepted and
    ignored."""

    kind: CustomerKind | None = None
    name: str | None = None
    email: str | None = None
    country: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO 3166-1 alpha-2; the country when no address gives one",
    )
    addresses: list[MatchAddressIn] | None = None
    contacts: list[dict[str, Any]] | None = None
    pricing_tiers: list[dict[str, Any]] | None = None
    tax_profiles: list[dict[str, Any]] | None = None
    source_refs: list[dict[str, Any]] | None = None
    dimensions: dict[str, str] | None = None
    overrides: dict[str, Any] | None = None


class FieldExplanationOut(BaseModel):
    field: str = Field(
        description="comparison: name, given_name, family_name (persons with separate name"
        " fields), tax_id, contact, phone, address, country"
    )
    level: int = Field(description="comparison level; -1 when either side has no value")
    label: str
    weight: float = Field(description="log2 Bayes factor this field adds")
    candidate_value: str | None
    existing_value: str | None


class MatchOut(BaseModel):
    customer_id: UUID
    number: str
    name: str
    score: float = Field(description="match probability in [0, 1]")
    match_weight: float = Field(description="log2 odds of a match, prior included")
    decision: Literal["auto_merge", "review", "no_match"]
    explanation: list[FieldExplanationOut]


class ThresholdsOut(BaseModel):
    auto_merge: float
    review: float


class MatchResponse(BaseModel):
    items: list[MatchOut]
    thresholds: ThresholdsOut


class ClusterPairOut(BaseModel):
    a: UUID
    b: UUID
    score: float
    match_weight: float
    explanation: list[FieldExplanationOut]


class ClusterOut(BaseModel):
    id: int
    status: Literal["open", "merged", "not_duplicate", "superseded"]
    proposal: Literal["auto_merge", "review"]
    score: float = Field(description="the strongest pair's match probability")
    members: list[UUID]
    pending_members: list[UUID] = Field(
        description="members that are incomplete source records (no golden record yet); "
        "a merge joins them to the survivor"
    )
    pairs: list[ClusterPairOut]
    created_at: datetime
    run_id: UUID | None
    decided_at: datetime | None
    decided_by: str | None
    merge_id: UUID | None


class ClusterPage(BaseModel):
    items: list[ClusterOut]
    next_cursor: str | None


class DecisionIn(Strict):
    decision: Literal["merge", "not_duplicate"]
    survivor_id: UUID | None = Field(default=None, description="required to merge")
    choices: dict[str, dict[str, Any]] | None = Field(
        default=None, description='field -> {"from": customer id} or {"value": ...}'
    )


class MergeIn(Strict):
    absorbed_ids: list[UUID] = Field(min_length=1, description="records to absorb (any number)")
    choices: dict[str, dict[str, Any]] | None = Field(
        default=None, description='field -> {"from": customer id} or {"value": ...}'
    )


class MergeOut(BaseModel):
    merge_id: UUID
    customer: CustomerOut
    absorbed_ids: list[UUID]
    rules: dict[str, str] = Field(description="the rule that decided each field")
    sources: dict[str, str] = Field(description="the record each field's value came from")
    dropped: list[dict[str, Any]]
    warnings: list[WarningOut]


class UnmergeOut(BaseModel):
    merge_id: UUID
    customer: CustomerOut
    restored: list[CustomerOut]


class MergeRecordOut(BaseModel):
    id: UUID
    survivor_id: UUID
    absorbed_ids: list[UUID]
    merged_at: datetime
    merged_by: str
    unmerged_at: datetime | None
    unmerged_by: str | None
    rules: dict[str, Any]
    choices: dict[str, Any]
    survivor_before: dict[str, Any]
    survivor_after: dict[str, Any]
    absorbed: list[dict[str, Any]]


class XrefOut(BaseModel):
    customer_id: UUID
    number: str
    followed: list[UUID] = Field(description="merges followed, oldest first")


class CustomerXrefOut(BaseModel):
    source_system: str
    source_id: str
    via_merge: UUID | None


class CustomerXrefsOut(BaseModel):
    customer_id: UUID
    number: str
    xrefs: list[CustomerXrefOut]


class MergedProblem(Problem):
    survivor_id: UUID
    merge_ids: list[UUID]


GONE: dict[int | str, dict[str, object]] = {
    410: {
        "model": MergedProblem,
        "content": {"application/problem+json": {}},
        "description": "Merged into another customer: survivor_id and the Location header "
        "point at the golden record",
    }
}


class TrainIn(Strict):
    sample: int = Field(
        default=50_000, ge=2, le=1_000_000, description="records sampled for training"
    )
    use_labels: bool = Field(default=True, description="learn from the stewards' decisions")


class ModelVersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: str
    model: dict[str, Any] = Field(description="prior, thresholds and m/u of every level")
    report: dict[str, Any] = Field(
        description="how training obtained each value: EM sessions, prior, labels, warnings"
    )


class ModelVersionPage(BaseModel):
    items: list[ModelVersionOut]
