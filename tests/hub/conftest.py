"""Fixtures of the integration hub's tests: a real local HTTP receiver, a fake clock
and the operator setting that lets webhooks call loopback targets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custmaster.bootstrap import Container
from custmaster.persistence.outbox import SqlOutbox
from custmaster.services.ports import FeedPosition
from custmaster.services.recording import utcnow
from tests.receiver import Receiver, running_receiver


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def to(self, when: datetime) -> None:
        self.now = max(self.now, when)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub_settings(container: Container, tmp_path: Path) -> Iterator[Path]:
    """Loopback webhook targets allowed; sync targets read from the returned folder."""
    before = container.settings
    container.settings = before.model_copy(
        update={"webhooks_allow_private_targets": True, "sync_targets_dir": tmp_path}
    )
    yield tmp_path
    container.settings = before


def wait_for_outbox(container: Container, timeout: float = 90.0) -> None:
    """Until every committed event is readable from the outbox. On PostgreSQL the
    outbox serves only transactions older than every running one (database-wide: a
    parallel test process's open transaction, or any other database's on the same
    server, holds it back for a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        with container.engine.connect() as connection:
            outbox = SqlOutbox(connection)
            total = outbox.count()
            visible, position = 0, FeedPosition()
            while page := outbox.read(position, 1000):
                visible += len(page)
                position = page[-1].position
        if visible >= total or time.monotonic() > deadline:
            return
        time.sleep(0.05)
