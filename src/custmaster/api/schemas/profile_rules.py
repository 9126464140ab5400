"""Request bodies of segment queries, saved segments and profile rules."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from custmaster.api.schemas.common import Strict
from custmaster.domain.expressions.syntax import MAX_LENGTH


class QueryIn(Strict):
    expression: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        examples=['tier == "strategic" && open_quality_complaints > 0'],
    )
    entity: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="evaluate on this legal entity's profile rows",
    )
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=512)


class SegmentIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    expression: str = Field(min_length=1, max_length=MAX_LENGTH)
    description: str | None = Field(default=None, max_length=2000)
    entity: str | None = Field(default=None, min_length=1, max_length=64)


class SegmentPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    expression: str | None = Field(default=None, min_length=1, max_length=MAX_LENGTH)
    description: str | None = Field(default=None, max_length=2000)
    entity: str | None = Field(default=None, min_length=1, max_length=64)


class RulesIn(Strict):
    definition: dict[str, Any] = Field(description="the rule set (docs/profile-rules.md)")
