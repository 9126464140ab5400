"""The credit-and-order-hold rule: release or hold an order, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custmaster.domain.receivables import Receivables


@dataclass(frozen=True, slots=True)
class CreditRule:
    """Hold an order when (each check can be switched off with None / False):

    - the exposure plus the order exceeds the effective credit limit (``check_limit``);
    - the customer has no credit limit in the entity and ``hold_without_limit``;
    - an open item is more than ``max_days_past_due`` days past due;
    - the DSO exceeds ``max_dso`` days;
    - more than ``max_overdue_over_90`` is over 90 days past due.
    """

    check_limit: bool = True
    hold_without_limit: bool = False
    max_days_past_due: int | None = 60
    max_dso: float | None = 90.0
    max_overdue_over_90: float | None = 0.0


@dataclass(frozen=True, slots=True)
class CreditDecision:
    decision: str  # "release" | "hold"
    reasons: list[dict[str, Any]]

    @property
    def released(self) -> bool:
        return self.decision == "release"


def check_credit(rule: CreditRule, ar: Receivables, order_amount: float) -> CreditDecision:
    """The decision on an order of ``order_amount`` (in ``ar.currency``)."""
    reasons: list[dict[str, Any]] = []

    def hold(code: str, message: str, value: Any, threshold: Any) -> None:
        reasons.append({"code": code, "message": message, "value": value, "threshold": threshold})

    exposure = ar.credit_exposure + order_amount
    if rule.check_limit:
        if ar.credit_limit <= 0:
            if rule.hold_without_limit:
                hold("no_credit_limit", "the customer has no credit limit in this entity", 0, 0)
        elif exposure > ar.credit_limit:
            hold(
                "over_limit",
                "exposure plus this order exceeds the credit limit",
                round(exposure, 4),
                round(ar.credit_limit, 4),
            )
    if rule.max_days_past_due is not None and ar.max_days_past_due > rule.max_days_past_due:
        hold(
            "days_past_due",
            "an open item is too many days past due",
            ar.max_days_past_due,
            rule.max_days_past_due,
        )
    if rule.max_dso is not None and ar.dso > rule.max_dso:
        hold("dso", "days sales outstanding above the limit", round(ar.dso, 2), rule.max_dso)
    if rule.max_overdue_over_90 is not None and ar.overdue_over_90 > rule.max_overdue_over_90:
        hold(
            "overdue_over_90",
            "amount more than 90 days past due",
            round(ar.overdue_over_90, 4),
            rule.max_overdue_over_90,
        )
    return CreditDecision("hold" if reasons else "release", reasons)
