"""CloudEvents 1.0 envelopes (structured JSON mode) for the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

SOURCE = "/custmaster"


@dataclass(frozen=True, slots=True)
class CloudEvent:
    id: UUID
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    source: str = SOURCE

    def envelope(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data,
        }


def customer_event(
    operation: str, customer_id: UUID, time: datetime, data: dict[str, Any]
) -> CloudEvent:
    """``custmaster.customer.<operation>`` about one customer; a fresh unique id."""
    return CloudEvent(
        id=uuid4(),
        type=f"custmaster.customer.{operation}",
        subject=str(customer_id),
        time=time,
        data=data,
    )


def reference_event(
    kind: str, operation: str, code: str, time: datetime, data: dict[str, Any]
) -> CloudEvent:
    """``custmaster.<kind>.<operation>`` about one reference-data record."""
    return CloudEvent(
        id=uuid4(), type=f"custmaster.{kind}.{operation}", subject=code, time=time, data=data
    )
