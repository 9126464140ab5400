"""Named customer templates: default values for a create request.

A template's ``defaults`` use the field names of the create request (DESIGN.md §4), e.g.
``{"customer_type": "wholesale", "payment_terms": "NET30", "currency": "EUR",
"dimensions": {"department": "SALES"}}``. Creating a customer from a template merges the
request over the defaults, then validates the result like any create request.

Merge rules of :func:`apply_template`:

* a field present in the request wins, even when its value is null (an explicit null
  means "no value", not "use the default");
* when both sides are objects (dicts: ``dimensions``, ``metadata``, ``overrides`` and an
  entity's override inside it) they merge key by key with the same rules, recursively;
* lists (``addresses``, ``contacts``, ...) in the request replace the template's list
  as a whole; a template list is used only when the request has none;
* inputs are never changed; template values are deep-copied into the result.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from custmaster.domain.errors import FieldError, ValidationFailed

SERVER_OWNED_FIELDS: frozenset[str] = frozenset(
    {"id", "number", "version", "status", "created_at", "updated_at"}
)
"""Fields a template must not set (the server owns them)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")


def check_template(
    name: str, defaults: Any, allowed_fields: Set[str] | None = None
) -> list[FieldError]:
    """Errors of a template: name format, defaults an object without server-owned fields.

    ``allowed_fields`` (the create-request fields) also refuses unknown top-level keys.
    """
    errors: list[FieldError] = []
    if not isinstance(name, str) or not _NAME.match(name):
        errors.append(
            FieldError(
                "name",
                "invalid_format",
                "a template name is 1-100 characters: letters, digits, space, _ . -, "
                "starting with a letter or digit",
            )
        )
    if not isinstance(defaults, Mapping):
        errors.append(FieldError("defaults", "invalid_type", "defaults must be an object"))
        return errors
    for key in defaults:
        if key in SERVER_OWNED_FIELDS:
            errors.append(
                FieldError(f"defaults.{key}", "server_owned_field", f"{key} is set by the server")
            )
        elif allowed_fields is not None and key not in allowed_fields:
            errors.append(
                FieldError(f"defaults.{key}", "unknown_field", f"{key} is not a customer field")
            )
    return errors


@dataclass(frozen=True)
class CustomerTemplate:
    """A named set of default values; validated (and deep-copied) when created."""

    name: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        errors = check_template(self.name, self.defaults)
        if errors:
            raise ValidationFailed(errors)
        object.__setattr__(self, "defaults", copy.deepcopy(dict(self.defaults)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "defaults": copy.deepcopy(dict(self.defaults)),
        }


def apply_template(template: CustomerTemplate, request: Mapping[str, Any]) -> dict[str, Any]:
    """The create request completed with the template's defaults (rules: module doc).

    Example:
        >>> t = CustomerTemplate("eu", {"currency": "EUR", "metadata": {"seg": "B"}})
        >>> apply_template(t, {"name": "Acme", "metadata": {"crm": 1}})
        {'currency': 'EUR', 'metadata': {'seg': 'B', 'crm': 1}, 'name': 'Acme'}
    """
    return apply_template_explained(template, request)[0]


def apply_template_explained(
    template: CustomerTemplate, request: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """:func:`apply_template` plus the dotted paths whose value came from the template."""
    from_template: list[str] = []
    merged = _merge(template.defaults, request, "", from_template)
    return merged, from_template


def _merge(
    defaults: Mapping[str, Any], request: Mapping[str, Any], prefix: str, used: list[str]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, default in defaults.items():
        path = f"{prefix}{key}"
        if key not in request:
            merged[key] = copy.deepcopy(default)
            used.append(path)
        elif isinstance(default, Mapping) and isinstance(request[key], Mapping):
            merged[key] = _merge(default, request[key], f"{path}.", used)
    for key, value in request.items():
        if key not in merged:
            merged[key] = copy.deepcopy(value)
    return merged
