"""Accounts receivable of one customer: open items, aging, overdue, DSO, days late,
exposure against the credit limit; computed from the activity state as of a day."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from custmaster.domain.activity import from_units
from custmaster.domain.activity_state import ActivityState

BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")
DSO_DAYS = 90


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "over_90"


@dataclass(frozen=True, slots=True)
class OpenItem:
    document_id: str
    kind: str
    document_date: date | None
    due_date: date | None
    amount: float  # the open amount, in ``currency``
    currency: str
    days_past_due: int


@dataclass
class Receivables:
    """Receivables of one legal entity (or, converted, of several) in ``currency``."""

    currency: str
    open_items: list[OpenItem] = field(default_factory=list)
    open_items_amount: float = 0.0
    aging: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0.0))
    overdue_amount: float = 0.0
    overdue_over_90: float = 0.0
    max_days_past_due: int = 0
    dso: float = 0.0
    avg_days_late: float = 0.0
    credit_limit: float = 0.0
    credit_exposure: float = 0.0

    @property
    def exposure_over_limit(self) -> bool:
        return self.credit_limit > 0 and self.credit_exposure > self.credit_limit

    def as_dict(self, *, items: bool = True) -> dict[str, object]:
        out: dict[str, object] = {
            "currency": self.currency,
            "open_items_amount": round(self.open_items_amount, 4),
            "aging": {k: round(v, 4) for k, v in self.aging.items()},
            "overdue_amount": round(self.overdue_amount, 4),
            "overdue_over_90": round(self.overdue_over_90, 4),
            "max_days_past_due": self.max_days_past_due,
            "dso": round(self.dso, 2),
            "avg_days_late": round(self.avg_days_late, 2),
            "credit_limit": round(self.credit_limit, 4),
            "credit_exposure": round(self.credit_exposure, 4),
            "exposure_over_limit": self.exposure_over_limit,
        }
        if items:
            out["open_items"] = [
                {
                    "document_id": i.document_id,
                    "kind": i.kind,
                    "document_date": i.document_date,
                    "due_date": i.due_date,
                    "amount": round(i.amount, 4),
                    "currency": i.currency,
                    "days_past_due": i.days_past_due,
                }
                for i in self.open_items
            ]
        return out


Convert = Callable[[float, str], float]


def receivables(
    state: ActivityState,
    entities: Iterable[str],
    as_of: date,
    currency: str,
    convert: Convert,
    credit_limit: float = 0.0,
) -> Receivables:
    """The receivables of ``entities`` (one, or several converted to ``currency``).

    An item is open while its amount less what was applied to it is not zero. DSO is the
    open amount over the invoiced amount of the last 90 days, times 90. Days late are
    those of the payments of the last 365 days, weighted by amount (early payments 0).
    """
    wanted = set(entities)
    applied: dict[tuple[str, str], int] = {}
    for (entity, _, document_id), payment in state.payments.items():
        if entity in wanted:
            applied[(entity, document_id)] = applied.get((entity, document_id), 0) + payment.amount
    out = Receivables(currency=currency, credit_limit=credit_limit)
    invoiced_90 = 0.0
    for (entity, document_id), doc in sorted(state.documents.items()):
        if entity not in wanted:
            continue
        open_units = doc.amount - applied.get((entity, document_id), 0)
        if (
            doc.kind != "credit_note.issued"
            and doc.document_date is not None
            and (as_of - timedelta(days=DSO_DAYS) < doc.document_date <= as_of)
        ):
            invoiced_90 += convert(from_units(doc.amount), doc.currency)
        if open_units == 0:
            continue
        amount = convert(from_units(open_units), doc.currency)
        days = (as_of - doc.due_date).days if doc.due_date else 0
        item = OpenItem(
            document_id,
            (doc.kind or "unknown").split(".")[0],
            doc.document_date,
            doc.due_date,
            from_units(open_units),
            doc.currency,
            days,
        )
        out.open_items.append(item)
        out.open_items_amount += amount
        out.aging[bucket_of(days)] += amount
        if days > 0 and open_units > 0:
            out.overdue_amount += amount
            out.max_days_past_due = max(out.max_days_past_due, days)
            if days > 90:
                out.overdue_over_90 += amount
    if invoiced_90 > 0 and out.open_items_amount > 0:
        out.dso = out.open_items_amount / invoiced_90 * DSO_DAYS
    late_weighted = 0.0
    paid = 0.0
    for (entity, _, document_id), payment in sorted(state.payments.items()):
        paid_doc = state.documents.get((entity, document_id))
        if entity not in wanted or payment.paid_on is None or payment.amount <= 0:
            continue
        if paid_doc is None or paid_doc.due_date is None or (as_of - payment.paid_on).days > 365:
            continue
        weight = convert(from_units(payment.amount), paid_doc.currency)
        late_weighted += max(0, (payment.paid_on - paid_doc.due_date).days) * weight
        paid += weight
    if paid > 0:
        out.avg_days_late = late_weighted / paid
    out.credit_exposure = out.open_items_amount
    return out
