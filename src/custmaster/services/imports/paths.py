"""Target paths of template fields (``addresses[billing].city``) and nested assignment.

Grammar (validated against the create request of DESIGN.md §4)::

    name | credit_limit | ...                 a master field
    metadata.<key> | dimensions.<type>        a key of a free object
    addresses[billing|shipping].<field>       an address, selected by its type
    contacts[<n>].<field>                     the n-th contact (0-based)
    pricing_tiers[<n>].<field>, tax_profiles[<n>].<field>
    overrides[<ENTITY>].<overridable field>   a legal-entity override
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from custmaster.domain.model import MASTER_FIELDS as SETTABLE_FIELDS

#: the master fields a path may name: those a request may set, metadata aside
MASTER_FIELDS = frozenset(SETTABLE_FIELDS) - {"metadata"}
FREE_OBJECTS = frozenset({"metadata", "dimensions"})
ADDRESS_FIELDS = frozenset({"lines", "city", "region", "postal_code", "country", "is_primary"})
ADDRESS_TYPES = frozenset({"billing", "shipping"})
CONTACT_FIELDS = frozenset(
    {"first_name", "last_name", "job_title", "role", "email", "phone", "is_primary", "sellable"}
)
TIER_FIELDS = frozenset(
    {
        "item",
        "unit_price",
        "currency",
        "min_quantity",
        "max_quantity",
        "effective_from",
        "effective_to",
    }
)
TAX_PROFILE_FIELDS = frozenset({"tax_code", "certificate_number", "effective_from", "effective_to"})
INDEXED_LISTS = {
    "contacts": CONTACT_FIELDS,
    "pricing_tiers": TIER_FIELDS,
    "tax_profiles": TAX_PROFILE_FIELDS,
}
#: Fields a legal entity may override (DESIGN.md §3).
OVERRIDABLE_FIELDS = frozenset(
    {
        "credit_limit",
        "payment_terms",
        "payment_method",
        "currency",
        "tax_code",
        "revenue_account",
        "customer_group",
        "dimensions",
        "addresses",
    }
)

_SEGMENT = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[([^\[\]]+)\])?$")


class PathError(ValueError):
    """A target path does not name a field of the create request."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a dict ``key``, an override ``entity`` (also a dict key), an
    address selected by ``type``, or a list ``index``."""

    kind: str  # "key" | "entity" | "type" | "index"
    value: str | int


TargetPath = tuple[Step, ...]


def _segments(path: str) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    for raw in path.split("."):
        match = _SEGMENT.match(raw)
        if match is None:
            raise PathError(f"bad path segment {raw!r} in {path!r}")
        parts.append((match.group(1), match.group(2)))
    return parts


def _child_steps(
    name: str, selector: str | None, rest: list[tuple[str, str | None]], path: str
) -> list[Step]:
    if name == "addresses":
        if selector not in ADDRESS_TYPES:
            raise PathError(f"{path!r}: addresses need [billing] or [shipping]")
        return [Step("key", name), Step("type", selector), *_leaf(rest, ADDRESS_FIELDS, path)]
    if name in INDEXED_LISTS:
        if selector is None or not selector.isdigit():
            raise PathError(f"{path!r}: {name} need a numeric index, e.g. {name}[0]")
        fields = INDEXED_LISTS[name]
        return [Step("key", name), Step("index", int(selector)), *_leaf(rest, fields, path)]
    if selector is not None:
        raise PathError(f"{path!r}: {name} takes no [selector]")
    if name in FREE_OBJECTS:
        if len(rest) != 1 or rest[0][1] is not None:
            raise PathError(f"{path!r}: use {name}.<key>")
        return [Step("key", name), Step("key", rest[0][0])]
    raise PathError(f"{path!r}: unknown field {name!r}")


def _leaf(rest: list[tuple[str, str | None]], allowed: frozenset[str], path: str) -> list[Step]:
    if len(rest) != 1 or rest[0][1] is not None or rest[0][0] not in allowed:
        raise PathError(f"{path!r}: expected one of {sorted(allowed)} after the selector")
    return [Step("key", rest[0][0])]


def parse_target(path: str, *, root: str = "customer") -> TargetPath:
    """Parse and validate a target path; ``root="contact"`` for fields of a related contact.

    Example:
        >>> [s.value for s in parse_target("addresses[billing].city")]
        ['addresses', 'billing', 'city']
    """
    parts = _segments(path)
    if root == "contact":
        if len(parts) != 1 or parts[0][1] is not None or parts[0][0] not in CONTACT_FIELDS:
            raise PathError(f"{path!r}: expected one of {sorted(CONTACT_FIELDS)}")
        return (Step("key", parts[0][0]),)
    (name, selector), rest = parts[0], parts[1:]
    if name == "overrides":
        if selector is None or not rest:
            raise PathError(f"{path!r}: use overrides[ENTITY].<field>")
        inner = parse_target(".".join(_render(p) for p in rest))
        if inner[0].value not in OVERRIDABLE_FIELDS:
            raise PathError(f"{path!r}: {inner[0].value!r} cannot be overridden per entity")
        return (Step("key", "overrides"), Step("entity", selector), *inner)
    if not rest and selector is None and name in MASTER_FIELDS:
        return (Step("key", name),)
    return tuple(_child_steps(name, selector, rest, path))


def _render(part: tuple[str, str | None]) -> str:
    return part[0] if part[1] is None else f"{part[0]}[{part[1]}]"


def render_path(path: TargetPath) -> str:
    """The text form of a parsed path (for messages)."""
    out = ""
    for step in path:
        if step.kind == "key":
            out += f".{step.value}" if out else str(step.value)
        else:
            out += f"[{step.value}]"
    return out


def _container(parent: Any, step: Step, next_step: Step | None, create: bool) -> Any:
    """The child of ``parent`` addressed by ``step`` (created if ``create``)."""
    if step.kind in ("key", "entity"):
        assert isinstance(parent, dict)
        if step.value not in parent:
            if not create:
                return None
            is_list = next_step is not None and next_step.kind in ("type", "index")
            parent[step.value] = [] if is_list else {}
        return parent[step.value]
    assert isinstance(parent, list)
    if step.kind == "type":
        for item in parent:
            if item.get("type") == step.value:
                return item
        if not create:
            return None
        parent.append({"type": step.value})
        return parent[-1]
    index = int(step.value)
    if index >= len(parent):
        if not create:
            return None
        parent.extend({} for _ in range(index + 1 - len(parent)))
    return parent[index]


def set_path(target: dict[str, Any], path: TargetPath, value: Any) -> None:
    """Assign ``value`` at ``path`` inside ``target``, creating the containers on the way."""
    node: Any = target
    for position, step in enumerate(path[:-1]):
        node = _container(node, step, path[position + 1], create=True)
    node[path[-1].value] = value


def get_path(target: dict[str, Any], path: TargetPath) -> Any:
    """The value at ``path``, or ``None``."""
    node: Any = target
    for position, step in enumerate(path):
        following = path[position + 1] if position + 1 < len(path) else None
        node = _container(node, step, following, create=False)
        if node is None:
            return None
    return node


def parent_exists(target: dict[str, Any], path: TargetPath) -> bool:
    """True when the child record (address, contact ...) a path points into already exists;
    always true for a master field. Defaults only fill children the source created."""
    for cut, step in enumerate(path):
        if step.kind in ("type", "index"):
            return get_path(target, path[: cut + 1]) is not None
    return True
