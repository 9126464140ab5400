"""How far the relay is: per partition its holder, cursor, last publication and rate,
and the outbox events still waiting (``custmaster relay status``,
``GET /api/v1/relay/status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custmaster.domain.permissions import Permission, Principal
from custmaster.services.governance.access import require_permission
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.relay.ports import PartitionState

#: counting the waiting events stops here (the figure is then "more than")
BACKLOG_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    state: PartitionState
    active: bool  # its holder's lease runs
    #: outbox events after the partition's cursor (every partition's: an upper bound when
    #: there are several) and how long the oldest has waited
    waiting: int
    waiting_capped: bool
    lag_seconds: float

    def as_dict(self) -> dict[str, Any]:
        s = self.state

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "partition": s.partition,
            "holder": s.holder,
            "active": self.active,
            "lease_until": iso(s.lease_until),
            "cursor": s.cursor.encode(),
            "published_total": s.published_total,
            "last_event_id": str(s.last_event_id) if s.last_event_id else None,
            "last_published_at": iso(s.last_published_at),
            "events_per_second": round(s.rate, 1) if self.active else 0.0,
            "waiting": self.waiting,
            "waiting_capped": self.waiting_capped,
            "lag_seconds": round(self.lag_seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class RelayStatus:
    stream: str
    partitions: list[PartitionStatus]

    @property
    def waiting(self) -> int:
        return max((p.waiting for p in self.partitions), default=0)

    @property
    def lag_seconds(self) -> float:
        return max((p.lag_seconds for p in self.partitions), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "waiting": self.waiting,
            "lag_seconds": round(self.lag_seconds, 3),
            "published_total": sum(p.state.published_total for p in self.partitions),
            "events_per_second": sum(p.as_dict()["events_per_second"] for p in self.partitions),
            "partitions": [p.as_dict() for p in self.partitions],
        }


def relay_status(uow: UnitOfWork, actor: Principal, stream: str) -> RelayStatus:
    """The relay of ``stream`` (its partitions as the database records them; none before
    a relay first ran). Needs ``user.manage`` (operators)."""
    require_permission(actor, Permission.USER_MANAGE)
    now = utcnow()
    partitions: list[PartitionStatus] = []
    with uow.read_only():
        for state in uow.relay.states(stream):
            backlog = uow.relay.backlog(state.cursor, BACKLOG_CAP)
            lag = (now - backlog.oldest).total_seconds() if backlog.oldest else 0.0
            active = state.lease_until is not None and state.lease_until > now
            partitions.append(
                PartitionStatus(state, active, backlog.count, backlog.capped, max(lag, 0.0))
            )
    return RelayStatus(stream, partitions)
