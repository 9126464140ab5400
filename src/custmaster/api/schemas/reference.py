"""Reference data schemas (DESIGN.md §4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from custmaster.api.schemas.common import Strict


class CodeNameIn(Strict):
    code: str = Field(description="1-64 letters, digits, '_', '.', '-'")
    name: str


class CodeNameOut(BaseModel):
    code: str
    name: str
    created_at: datetime


class LegalEntityIn(CodeNameIn):
    country: str = Field(description="ISO 3166-1 alpha-2")
    currency: str = Field(description="ISO 4217")


class LegalEntityOut(CodeNameOut):
    country: str
    currency: str


class PaymentTermsIn(CodeNameIn):
    net_days: int


class PaymentTermsOut(CodeNameOut):
    net_days: int


class DimensionValueIn(Strict):
    code: str
    name: str


class DimensionValueOut(BaseModel):
    code: str
    name: str


class DimensionTypeIn(CodeNameIn):
    values: list[DimensionValueIn] = []


class DimensionTypeOut(CodeNameOut):
    values: list[DimensionValueOut]
