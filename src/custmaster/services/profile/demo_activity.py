"""24 months of believable activity for the demo customers: seasonal orders, growing,
declining and dormant accounts, invoices with on-time and late payers, open and closed
complaints and service cases, visits and contracts up for renewal. Deterministic for a
seed; loaded through the same aggregates as intake (``load_events``)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from custmaster.domain import activity as a
from custmaster.domain.activity_state import fold_by_customer
from custmaster.domain.sales import add_months
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.intake import event_row, line_rows, merge_into_profiles

#: product group -> (products, unit price range)
CATALOGUE: dict[str, tuple[tuple[str, ...], tuple[float, float]]] = {
    "pumps": (("PMP-100", "PMP-250", "PMP-400"), (800.0, 4200.0)),
    "valves": (("VLV-10", "VLV-25", "VLV-50", "VLV-80"), (60.0, 480.0)),
    "seals": (("SEL-S", "SEL-M", "SEL-L"), (4.0, 35.0)),
    "motors": (("MOT-3K", "MOT-7K"), (950.0, 3100.0)),
    "service": (("SRV-INSPECT", "SRV-REPAIR"), (150.0, 900.0)),
}
PATTERNS = (
    ("steady", 0.55),
    ("growing", 0.15),
    ("declining", 0.15),
    ("dormant", 0.10),
    ("new", 0.05),
)


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    id: UUID
    entity: str
    currency: str
    #: one of the demo's strategic automotive accounts: most decline, most have a
    #: complaint open (the README tour's question finds them)
    story: bool = False


def _stamp(day: date, n: int) -> str:
    moment = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(seconds=n)
    return moment.isoformat()


class _Writer:
    def __init__(self, customer: DemoCustomer) -> None:
        self.c = customer
        self.out: list[dict[str, Any]] = []

    def add(self, kind: str, day: date, **data: Any) -> None:
        n = len(self.out)
        self.out.append(
            {
                "specversion": "1.0",
                "id": f"demo-{self.c.id}-{n}",
                "source": "/demo/erp",
                "type": f"{a.TYPE_PREFIX}{kind}",
                "time": _stamp(day, n),
                "data": {"customer_id": str(self.c.id), "legal_entity": self.c.entity, **data},
            }
        )


def _pattern(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for name, share in PATTERNS:
        acc += share
        if roll < acc:
            return name
    return "steady"


def customer_activity(
    customer: DemoCustomer, today: date, rng: random.Random
) -> list[dict[str, Any]]:
    """The envelopes of one customer's last 24 months."""
    w = _Writer(customer)
    pattern = _pattern(rng)
    if customer.story and rng.random() < 0.7:
        pattern = "declining"
    # orders per month (a strategic account orders several times a month)
    rate = rng.uniform(2.5, 4.0) if customer.story else rng.uniform(0.2, 1.5)
    groups = rng.sample(sorted(CATALOGUE), rng.randint(1, 3))
    late_payer = rng.random() < 0.15
    first = add_months(today.replace(day=1), -23)
    for m in range(24):
        month = add_months(first, m)
        trend = {
            "growing": 0.5 + m / 20,
            "declining": 1.6 - m / 18,
            "dormant": 1.0 if m < 19 else 0.0,
            "new": 0.0 if m < 16 else 1.2,
        }.get(pattern, 1.0)
        season = 1 + 0.3 * math.sin(2 * math.pi * (month.month - 8) / 12)  # peak in autumn
        expected = max(0.0, rate * trend * season)
        orders = sum(1 for _ in range(6) if rng.random() < expected / 6)
        for _ in range(orders):
            day = month + timedelta(days=rng.randrange(28))
            if day > today:
                continue
            group = rng.choice(groups)
            products, (low, high) = CATALOGUE[group]
            quantity = rng.randint(1, 12)
            amount = round(quantity * rng.uniform(low, high), 2)
            order_id = f"SO-{len(w.out)}"
            w.add(
                "order.placed",
                day,
                order_id=order_id,
                order_date=day.isoformat(),
                currency=customer.currency,
                lines=[
                    {
                        "product": rng.choice(products),
                        "product_group": group,
                        "quantity": quantity,
                        "amount": amount,
                    }
                ],
            )
            if (today - day).days > 150:
                continue  # older invoices are settled: their history is the orders
            invoice = f"INV-{len(w.out)}"
            due = day + timedelta(days=30)
            w.add(
                "invoice.issued",
                day,
                document_id=invoice,
                document_date=day.isoformat(),
                due_date=due.isoformat(),
                amount=amount,
                currency=customer.currency,
            )
            paid = due + timedelta(days=rng.randint(20, 75) if late_payer else rng.randint(-8, 3))
            if paid <= today and not (late_payer and rng.random() < 0.3):
                w.add(
                    "payment.received",
                    paid,
                    payment_id=f"PAY-{len(w.out)}",
                    payment_date=paid.isoformat(),
                    currency=customer.currency,
                    applications=[{"document_id": invoice, "amount": amount}],
                )
            if rng.random() < 0.02:
                w.add(
                    "return.received",
                    day + timedelta(days=5),
                    return_id=f"RET-{len(w.out)}",
                    order_id=order_id,
                    product=products[0],
                    product_group=group,
                    quantity=1,
                    amount=round(amount / quantity, 2),
                    currency=customer.currency,
                    return_date=min(today, day + timedelta(days=5)).isoformat(),
                )
    roll = rng.random()
    if roll < (0.7 if customer.story else 0.12):  # a quality complaint still open
        opened = today - timedelta(days=rng.randint(3, 45))
        w.add(
            "complaint.opened",
            opened,
            case_id=f"QC-{len(w.out)}",
            date=opened.isoformat(),
            severity=rng.choice(("medium", "high", "critical")),
            subject=rng.choice(
                ("corroded seals on delivery", "pump housing cracked", "wrong valve size delivered")
            ),
        )
    elif roll < 0.25:  # one that was closed
        opened = today - timedelta(days=rng.randint(60, 300))
        case_id = f"QC-{len(w.out)}"
        w.add(
            "complaint.opened",
            opened,
            case_id=case_id,
            date=opened.isoformat(),
            severity="low",
            subject="late delivery",
        )
        w.add(
            "complaint.closed",
            opened + timedelta(days=12),
            case_id=case_id,
            date=(opened + timedelta(days=12)).isoformat(),
        )
    if rng.random() < 0.2:
        opened = today - timedelta(days=rng.randint(1, 30))
        w.add(
            "service_case.opened",
            opened,
            case_id=f"SC-{len(w.out)}",
            date=opened.isoformat(),
            severity="medium",
            subject="annual inspection due",
        )
    for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):
        day = today - timedelta(days=rng.randint(0, 89))
        w.add(rng.choice(("visit.logged", "call.logged")), day, date=day.isoformat())
    if rng.random() < 0.3:
        start = today - timedelta(days=rng.randint(200, 700))
        renewal = today + timedelta(days=rng.randint(-20, 200))
        w.add(
            "contract.recorded",
            start,
            contract_id=f"CT-{customer.id.hex[:6]}",
            start_date=start.isoformat(),
            renewal_date=renewal.isoformat(),
            end_date=(renewal + timedelta(days=30)).isoformat(),
            committed_volume=rng.randint(10, 500) * 1000,
            sla=rng.choice(("gold", "silver")),
        )
    return w.out


def generate_activity(
    customers: Sequence[DemoCustomer], today: date, seed: int = 42
) -> Iterator[tuple[UUID, list[dict[str, Any]]]]:
    rng = random.Random(seed)
    for customer in customers:
        yield customer.id, customer_activity(customer, today, rng)


def load_events(
    new_uow: Callable[[], UnitOfWork],
    by_customer: Iterator[tuple[UUID, list[dict[str, Any]]]],
    config: ProfileConfig,
    *,
    chunk: int = 250,
) -> int:
    """Apply known customers' envelopes, ``chunk`` customers per transaction (events
    recorded already are skipped); how many events were applied."""
    applied = 0
    pending: list[tuple[UUID, a.ActivityEvent]] = []

    def flush() -> None:
        nonlocal applied
        uow = new_uow()
        now = datetime.now(UTC)
        with uow:
            recorded = uow.activity.known_events(e.id for _, e in pending)
            fresh = [(c, e) for c, e in pending if e.id not in recorded]
            uow.activity.add_events(
                [event_row(e, c, now) for c, e in fresh],
                [r for c, e in fresh for r in line_rows(e, c)],
            )
            merge_into_profiles(uow, fold_by_customer(fresh), config, now)
        applied += len(fresh)
        pending.clear()

    for count, (customer_id, envelopes) in enumerate(by_customer, 1):
        pending.extend((customer_id, a.parse_envelope(e)) for e in envelopes)
        if count % chunk == 0:
            flush()
    if pending:
        flush()
    return applied
