"""What parsing a request collects besides the values: errors, warnings and the
reference-data codes to check (with the field path that names each)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.errors import ChangeWarning, ErrorCollector


class RefKind(StrEnum):
    """Reference-data tables a master field points to."""

    LEGAL_ENTITY = "legal_entity"
    PAYMENT_TERMS = "payment_terms"
    PAYMENT_METHOD = "payment_method"
    CUSTOMER_GROUP = "customer_group"
    TAX_CODE = "tax_code"
    INDUSTRY = "industry"
    DIMENSION_VALUE = "dimension_value"
    ACCOUNT_TIER = "account_tier"
    REVENUE_ACCOUNT = "revenue_account"
    NAME_AFFIX = "name_affix"


@dataclass(frozen=True, slots=True)
class RefCheck:
    kind: RefKind
    code: str
    path: str


@dataclass
class ParseContext:
    errors: ErrorCollector = field(default_factory=ErrorCollector)
    warnings: list[ChangeWarning] = field(default_factory=list)
    refs: list[RefCheck] = field(default_factory=list)
    new_id: Callable[[], UUID] = uuid4

    def ref(self, kind: RefKind, code: str | None, path: str) -> str | None:
        if code is not None:
            self.refs.append(RefCheck(kind, code, path))
        return code

    def check_keys(
        self,
        data: Mapping[str, Any],
        path: str,
        allowed: frozenset[str],
        read_only: frozenset[str] = frozenset(),
    ) -> None:
        """Reject unknown and server-owned keys: nothing is silently ignored."""
        for key in data:
            if key in allowed:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key in read_only:
                self.errors.add(where, "read_only", "is set by the server and cannot be given")
            else:
                self.errors.add(where, "unknown_field", "is not a field of this record")


def dimension_ref(dimension_type: str, value: str) -> str:
    """The code under which a dimension value is checked: ``type:value``."""
    return f"{dimension_type}:{value}"
