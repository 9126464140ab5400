"""Field paths of a customer change, as approval rules see them.

A change names what it touches with a field path: ``credit_limit``,
``overrides.DE01.credit_limit``, ``addresses[0].city``, ``contacts``,
``dimensions.department``, ``metadata.crm_segment``. Rules name fields without entity
codes or list indexes; :func:`rule_path` reduces a change's path to that form
(``overrides.DE01.credit_limit`` -> ``credit_limit``, ``addresses[0].city`` ->
``addresses.city``) and :func:`path_matches` tests it against a rule's pattern: a
pattern matches the path itself and everything below it (``contacts`` matches
``contacts.email``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from custmaster.domain.children import (
    ADDRESS_FIELDS,
    CONTACT_FIELDS,
    TAX_PROFILE_FIELDS,
    TIER_FIELDS,
)
from custmaster.domain.model import MASTER_FIELDS

#: Known customer fields: a scalar maps to an empty set, a child collection to the set
#: of its fields, a free-form object (metadata, dimensions) to ``None`` (any sub-key).
#: Derived from the model, so the policy knows exactly the fields a change can touch.
DEFAULT_KNOWN_FIELDS: Mapping[str, frozenset[str] | None] = {
    **{name: frozenset() for name in (*MASTER_FIELDS, "status") if name != "metadata"},
    "metadata": None,
    "dimensions": None,
    "addresses": ADDRESS_FIELDS,
    "contacts": CONTACT_FIELDS,
    "pricing_tiers": TIER_FIELDS,
    "tax_profiles": TAX_PROFILE_FIELDS,
    "source_refs": frozenset({"source_system", "source_id"}),
}

_INDEX = re.compile(r"\[[^\]]*\]")
_OVERRIDE = re.compile(r"^overrides\.[^.]+(?:\.|$)")


def rule_path(path: str) -> str:
    """Reduce a change's field path to the form approval rules use.

    >>> rule_path("overrides.DE01.credit_limit")
    'credit_limit'
    >>> rule_path("addresses[2].city")
    'addresses.city'
    """
    reduced = _INDEX.sub("", path)
    if reduced.startswith("overrides."):
        reduced = _OVERRIDE.sub("", reduced) or "overrides"
    return reduced


def path_matches(pattern: str, path: str) -> bool:
    """Whether a rule pattern covers a change's path (itself or anything below it)."""
    reduced = rule_path(path)
    return reduced == pattern or reduced.startswith(pattern + ".")


def unknown_field_reason(pattern: str, known: Mapping[str, frozenset[str] | None]) -> str | None:
    """Why ``pattern`` names no known field, or ``None`` when it is a known field."""
    head, _, rest = pattern.partition(".")
    if head not in known:
        return f"unknown field {head!r}"
    children = known[head]
    if not rest or children is None:
        return None
    if not children:
        return f"field {head!r} has no sub-fields"
    if rest not in children:
        return f"unknown field {rest!r} of {head!r}"
    return None
