"""Currency conversion of profile figures at configured rates (``profile.yaml``).

The rates are fixed reporting rates (units of ``REPORTING_CURRENCY`` per unit of a
currency), not market rates: the same stored activity always gives the same figures.
A currency without a rate converts at 1 (and :meth:`Rates.unknown` says which).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from custmaster.domain.profile import REPORTING_CURRENCY


@dataclass(frozen=True, slots=True)
class Rates:
    #: units of REPORTING_CURRENCY per unit of the currency
    to_reporting: Mapping[str, float] = field(default_factory=dict)

    def rate(self, currency: str) -> float:
        if currency == REPORTING_CURRENCY or not currency:
            return 1.0
        return self.to_reporting.get(currency, 1.0)

    def convert(self, amount: float, currency: str, target: str) -> float:
        if currency == target or not currency:
            return amount
        return amount * self.rate(currency) / self.rate(target)

    def unknown(self, currencies: set[str]) -> set[str]:
        return {c for c in currencies if c != REPORTING_CURRENCY and c not in self.to_reporting}
