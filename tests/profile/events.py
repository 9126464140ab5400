"""Activity event envelopes for the profile tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any


def envelope(
    kind: str,
    customer: str | dict[str, str],
    entity: str = "US01",
    event_id: str | None = None,
    time: datetime | None = None,
    **data: Any,
) -> dict[str, Any]:
    who = {"customer_id": customer} if isinstance(customer, str) else customer
    stamp = time or datetime.now(UTC)
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "/erp/test",
        "type": f"custmaster.activity.{kind}",
        "time": stamp.isoformat(),
        "data": {**who, "legal_entity": entity, **data},
    }


def order(
    customer: str | dict[str, str],
    day: date,
    amount: float,
    *,
    entity: str = "US01",
    group: str = "pumps",
    product: str = "P-1",
    currency: str = "USD",
    order_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return envelope(
        "order.placed",
        customer,
        entity,
        order_id=order_id or str(uuid.uuid4()),
        order_date=day.isoformat(),
        currency=currency,
        lines=[{"product": product, "product_group": group, "quantity": 2, "amount": amount}],
        **extra,
    )


def invoice(
    customer: str,
    day: date,
    due: date,
    amount: float,
    document_id: str,
    *,
    entity: str = "US01",
    currency: str = "USD",
) -> dict[str, Any]:
    return envelope(
        "invoice.issued",
        customer,
        entity,
        document_id=document_id,
        document_date=day.isoformat(),
        due_date=due.isoformat(),
        amount=amount,
        currency=currency,
    )


def payment(
    customer: str,
    day: date,
    document_id: str,
    amount: float,
    *,
    entity: str = "US01",
    payment_id: str | None = None,
) -> dict[str, Any]:
    return envelope(
        "payment.received",
        customer,
        entity,
        payment_id=payment_id or str(uuid.uuid4()),
        payment_date=day.isoformat(),
        currency="USD",
        applications=[{"document_id": document_id, "amount": amount}],
    )


def complaint(
    customer: str,
    day: date,
    case_id: str,
    step: str = "opened",
    *,
    entity: str = "US01",
    time: datetime | None = None,
    severity: str = "high",
) -> dict[str, Any]:
    return envelope(
        f"complaint.{step}",
        customer,
        entity,
        time=time,
        case_id=case_id,
        date=day.isoformat(),
        severity=severity,
        subject="scratched housings",
    )
