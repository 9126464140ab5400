"""The relay's settings (``CUSTMASTER_RELAY_*`` and ``CUSTMASTER_NATS_URL``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RelayConfig:
    nats_url: str = "nats://127.0.0.1:4222"
    #: the JetStream stream, also the relay's name in the database (its cursors)
    stream: str = "CUSTMASTER"
    #: subjects are ``<prefix>.<aggregate>.<event>``, from the CloudEvent type
    subject_prefix: str = "custmaster"
    #: events read and published (pipelined) per round
    batch_size: int = 500
    #: how long a partition's lease lasts without renewal (a killed relay's partition is
    #: taken over after at most this long)
    lease_seconds: float = 15.0
    #: how many partitions (each with one active relay) split the events by subject
    partitions: int = 1
    #: which partitions this process may hold (None: every one)
    owned: tuple[int, ...] | None = None
    #: how often an idle relay looks for new events
    poll_seconds: float = 0.05
    #: how long to wait for the broker's acknowledgements of one round
    ack_timeout_seconds: float = 5.0
    #: the stream made when missing: replicas, deduplication window, retention
    replicas: int = 1
    duplicate_window_seconds: float = 120.0
    max_age_seconds: float = 7 * 86400.0

    def __post_init__(self) -> None:
        if self.duplicate_window_seconds <= self.lease_seconds + self.ack_timeout_seconds:
            raise ValueError(
                "the stream's duplicate window must be longer than the relay's lease plus its "
                "acknowledgement timeout (a relay taking over republishes the tail with the "
                "same ids; the broker drops them only within the window)"
            )
        if self.ack_timeout_seconds >= self.lease_seconds:
            raise ValueError("the acknowledgement timeout must be shorter than the lease")
        if self.partitions < 1:
            raise ValueError("at least one partition")
        if self.owned is not None and not all(0 <= p < self.partitions for p in self.owned):
            raise ValueError(f"owned partitions must be within 0..{self.partitions - 1}")

    @property
    def my_partitions(self) -> tuple[int, ...]:
        return self.owned if self.owned is not None else tuple(range(self.partitions))
