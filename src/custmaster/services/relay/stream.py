"""The JetStream stream the relay feeds: made when missing, its subjects extended when an
event of a new aggregate comes along."""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from custmaster.services.relay.config import RelayConfig


def subjects_of(config: RelayConfig, aggregates: Iterable[str]) -> list[str]:
    """One wildcard per aggregate (``custmaster.customer.>``): never ``custmaster.>``, so
    other streams may take other subjects under the prefix (``custmaster.inbound.>``)."""
    return sorted({f"{config.subject_prefix}.{aggregate}.>" for aggregate in aggregates})


def stream_config(config: RelayConfig, subjects: list[str]) -> StreamConfig:
    """File storage, limits retention, the deduplication window (longer than a lease)."""
    return StreamConfig(
        name=config.stream,
        description="custmaster change events (CloudEvents 1.0), relayed from the outbox",
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=config.replicas,
        duplicate_window=config.duplicate_window_seconds,
        max_age=config.max_age_seconds,
    )


async def ensure_stream(
    js: JetStreamContext, config: RelayConfig, aggregates: Iterable[str]
) -> set[str]:
    """Create the stream, or add the subjects of ``aggregates`` it lacks; its subjects."""
    wanted = subjects_of(config, aggregates)
    try:
        info = await js.stream_info(config.stream)
    except NotFoundError:
        made = await js.add_stream(stream_config(config, wanted))
        return set(made.config.subjects or [])
    have = list(info.config.subjects or [])
    missing = [s for s in wanted if s not in have]
    if missing:
        info.config.subjects = have + missing
        info = await js.update_stream(info.config)
    return set(info.config.subjects or [])
