"""The effective view of a customer for one legal entity: the master merged with that
entity's override, saying which fields came from the override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custmaster.domain.model import OVERRIDABLE_FIELDS, Customer
from custmaster.domain.snapshot import override_snapshot, snapshot


@dataclass(frozen=True, slots=True)
class EffectiveView:
    entity: str
    data: dict[str, Any]
    overridden_fields: list[str]


def effective_view(customer: Customer, entity: str) -> EffectiveView:
    """Merge the master with ``entity``'s override.

    Scalar fields the override sets replace the master's; dimensions merge per type;
    override addresses replace the master's addresses of the same type.
    """
    data = snapshot(customer)
    override = customer.overrides.get(entity)
    overridden: list[str] = []
    if override is not None:
        values = override_snapshot(override)
        for name in OVERRIDABLE_FIELDS:
            if values[name] is not None:
                data[name] = values[name]
                overridden.append(name)
        if override.dimensions:
            data["dimensions"] = {**data["dimensions"], **override.dimensions}
            overridden.append("dimensions")
        if override.addresses:
            replaced = {a.type.value for a in override.addresses}
            data["addresses"] = [
                a for a in data["addresses"] if a["type"] not in replaced
            ] + values["addresses"]
            overridden.append("addresses")
    return EffectiveView(entity=entity, data=data, overridden_fields=sorted(overridden))
