"""The effective view of a customer for one legal entity: the master merged with that
entity's override, saying which fields came from the override."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from custmaster.domain.certificates import lapse_exemptions
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import OVERRIDABLE_FIELDS, Customer
from custmaster.domain.snapshot import override_snapshot, snapshot


@dataclass(frozen=True, slots=True)
class EffectiveView:
    entity: str
    data: dict[str, Any]
    overridden_fields: list[str]
    warnings: list[ChangeWarning] = field(default_factory=list)


def effective_view(customer: Customer, entity: str, as_of: date | None = None) -> EffectiveView:
    """Merge the master with ``entity``'s override.

    Scalar fields the override sets replace the master's; dimensions merge per type;
    override addresses replace the master's addresses of the same type. With ``as_of``,
    tax-exemption certificates that ended before it are left out, and so is a tax code
    only they granted, each with a warning.
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
    warnings: list[ChangeWarning] = []
    if as_of is not None:
        data, warnings = lapse_exemptions(data, as_of)
    return EffectiveView(entity, data, sorted(overridden), warnings)
