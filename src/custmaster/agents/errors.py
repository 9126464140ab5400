"""Refusals an agent can act on: what went wrong, in which argument, and what would be
accepted.

Every refusal is ``{"error": {"status", "code", "title", "detail", "errors", "hint"}}``;
``errors`` lists ``{field, code, message}`` like the REST API's problem details, with the
field named as a path in the tool's arguments (``customer.addresses[0].country``) and,
where the values are a closed set, ``allowed`` (enumerations, or the reference-data codes
that exist, e.g. the legal entities for ``customer.owning_entity``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from custmaster.api.problems import field_path
from custmaster.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    StaleVersion,
    Unauthenticated,
    ValidationFailed,
)
from custmaster.domain.model import (
    AddressType,
    CustomerKind,
    CustomerStatus,
    CustomerType,
    RelationshipStatus,
)
from custmaster.services.dedup.errors import CustomerMerged

#: (looked up kind, dimension type or None) -> the codes that exist
AllowedLookup = Callable[[str, str | None], list[str] | None]

#: field name -> the enumeration of its values
ENUM_FIELDS: Mapping[str, type[StrEnum]] = {
    "kind": CustomerKind,
    "customer_type": CustomerType,
    "relationship_status": RelationshipStatus,
    "status": CustomerStatus,
    "type": AddressType,
}
#: field name -> the reference data kind whose codes it takes
REFERENCE_FIELDS: Mapping[str, str] = {
    "owning_entity": "legal_entities",
    "entity": "legal_entities",
    "entities": "legal_entities",
    "payment_terms": "payment_terms",
    "payment_method": "payment_methods",
    "customer_group": "customer_groups",
    "tax_code": "tax_codes",
    "industry": "industries",
}
_CHOICE_CODES = frozenset(
    {"unknown_reference", "invalid_choice", "enum", "literal_error", "invalid_value"}
)
_HINTS = {
    "invalid_input": "correct the named arguments and call again",
    "not_found": "search for the record first (search_customers) and use the id it returns",
    "customer_merged": "the record was merged: use survivor_id instead",
    "conflict": "the change cannot apply in the record's current state; read it again",
    "stale_version": "read the record again and retry with its current version",
    "idempotency_key_reused": "this key was used for another call: send a new key",
    "forbidden": "the user this agent acts for may not do this; ask a person who may",
    "unauthenticated": "the agent's credentials are missing or no longer valid",
}


def _classify(exc: DomainError) -> tuple[int, str]:
    if isinstance(exc, CustomerMerged):
        return 410, "customer_merged"
    for cls, status, code in (
        (ValidationFailed, 422, "invalid_input"),
        (IdempotencyKeyReused, 422, "idempotency_key_reused"),
        (NotFound, 404, "not_found"),
        (StaleVersion, 412, "stale_version"),
        (Conflict, 409, "conflict"),
        (Forbidden, 403, "forbidden"),
        (Unauthenticated, 401, "unauthenticated"),
    ):
        if isinstance(exc, cls):
            return status, code
    return 400, "refused"


def _segments(path: str) -> list[str]:
    return [s for s in re.sub(r"\[[^\]]*\]", "", path).split(".") if s]


def allowed_values(error: FieldError, lookup: AllowedLookup) -> list[str] | None:
    """The values the field accepts, when they are a closed set worth listing."""
    if error.code not in _CHOICE_CODES:
        return None
    parts = _segments(error.field)
    if not parts:
        return None
    name = parts[-1]
    if name in ENUM_FIELDS and error.code != "unknown_reference":
        return [member.value for member in ENUM_FIELDS[name]]
    if name in REFERENCE_FIELDS:
        return lookup(REFERENCE_FIELDS[name], None)
    if "overrides" in parts and parts[-2:-1] == ["overrides"]:
        return lookup("legal_entities", None)  # an override for an unknown entity
    if "dimensions" in parts and parts[-2:-1] == ["dimensions"]:
        return lookup("dimension_types", name)
    return None


def refusal(
    exc: DomainError, lookup: AllowedLookup, *, argument: str | None = None
) -> dict[str, Any]:
    """The refusal body of a domain error; ``argument``: the tool argument whose content
    the service validated (its name prefixes the field paths)."""
    status, code = _classify(exc)
    errors: list[dict[str, Any]] = []
    if isinstance(exc, ValidationFailed):
        for error in exc.errors:
            item: dict[str, Any] = error.as_dict()
            if argument:
                item["field"] = f"{argument}.{error.field}" if error.field else argument
            allowed = allowed_values(error, lookup)
            if allowed is not None:
                item["allowed"] = allowed
            errors.append(item)
    body: dict[str, Any] = {
        "status": status,
        "code": code,
        "title": exc.title,
        "detail": exc.detail,
        "errors": errors,
        "hint": _HINTS.get(code, "the service refused this call"),
    }
    if isinstance(exc, CustomerMerged):
        body["survivor_id"] = str(exc.survivor_id)
    if isinstance(exc, StaleVersion):
        body["current_version"] = exc.actual
    return {"error": body}


def _expected(context: Mapping[str, Any] | None) -> list[str] | None:
    expected = (context or {}).get("expected")
    if not isinstance(expected, str):
        return None
    found = re.findall(r"'([^']*)'", expected)
    return found or None


def invalid_arguments(exc: ValidationError) -> dict[str, Any]:
    """The refusal body of arguments that do not fit the tool's input schema."""
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", "invalid"))
        item: dict[str, Any] = {
            "field": field_path(loc) if loc else "arguments",
            "code": "unknown_field" if kind == "extra_forbidden" else kind,
            "message": (
                "is not a field of this record"
                if kind == "extra_forbidden"
                else str(error.get("msg", "invalid"))
            ),
        }
        allowed = _expected(error.get("ctx"))
        if allowed is not None:
            item["allowed"] = allowed
        errors.append(item)
    body = {
        "status": 422,
        "code": "invalid_input",
        "title": "Invalid arguments",
        "detail": "the arguments do not fit the tool's input schema",
        "errors": errors,
        "hint": _HINTS["invalid_input"],
    }
    return {"error": body}


def unknown_tool(name: str, known: list[str]) -> dict[str, Any]:
    """The refusal of a call to a tool this server does not have (approving, for one)."""
    body = {
        "status": 404,
        "code": "unknown_tool",
        "title": "Unknown tool",
        "detail": f"Unknown tool: {name}",
        "errors": [
            {
                "field": "name",
                "code": "unknown_tool",
                "message": f"no tool '{name}' on this server",
                "allowed": known,
            }
        ],
        "hint": "call one of the listed tools; change requests are decided by people, "
        "never through a tool",
    }
    return {"error": body}
