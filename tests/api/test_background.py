"""A serving app seals, in the background, audit entries a failed pass left unsealed,
on both databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from anyio import to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from custmaster.bootstrap import Container
from custmaster.persistence.audit import SqlAuditLog
from custmaster.persistence.tables import audit_log
from custmaster.services.audit import verify_audit
from custmaster.services.ports import AuditEntry


def _unsealed(container: Container) -> int:
    """Append an entry the way a writer does, without the after-commit pass (as when
    that pass failed); returns its id."""
    entry = AuditEntry(
        datetime.now(UTC),
        "someone",
        "Someone",
        "update",
        "customer",
        "c-1",
        [{"field": "notes", "before": None, "after": "x"}],
    )
    with container.engine.begin() as connection:
        SqlAuditLog(connection).append(entry)
        found = connection.execute(select(audit_log.c.id, audit_log.c.chain_seq)).one()
    assert found.chain_seq is None
    return int(found.id)


def _chain_seq(container: Container, entry_id: int) -> int | None:
    with container.engine.connect() as connection:
        value = connection.execute(
            select(audit_log.c.chain_seq).where(audit_log.c.id == entry_id)
        ).scalar_one()
    return None if value is None else int(value)


def _serve_with_an_unsealed_entry(
    app: FastAPI, container: Container, monkeypatch: pytest.MonkeyPatch, interval: float
) -> int:
    """Serve with the background sealer every ``interval`` seconds until an entry left
    unsealed is sealed (at most 30 s; 0.3 s when the sealer is off); returns its id. The
    writers' deferred sealer is off: its last pass, as the app stops, would seal it too."""
    monkeypatch.setattr(container.settings, "audit_seal_interval_seconds", interval)
    monkeypatch.setattr(container.settings, "audit_seal_delay_seconds", 0)
    entry_id = _unsealed(container)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        deadline = time.monotonic() + (30 if interval else 0.3)
        while _chain_seq(container, entry_id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    return entry_id


def test_a_serving_app_seals_what_a_failed_pass_left(
    app: FastAPI, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_id = _serve_with_an_unsealed_entry(app, container, monkeypatch, 0.05)
    assert _chain_seq(container, entry_id) == 1
    assert verify_audit(container.uow(), container.system_principal()).ok


def test_no_background_sealing_when_turned_off(
    app: FastAPI, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_id = _serve_with_an_unsealed_entry(app, container, monkeypatch, 0)
    assert _chain_seq(container, entry_id) is None


async def _request_threads() -> float:
    return to_thread.current_default_thread_limiter().total_tokens


def test_a_serving_app_runs_at_most_worker_threads_blocking_requests(
    app: FastAPI, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "worker_threads", 3)
    with TestClient(app) as client:
        assert client.portal is not None
        assert client.portal.call(_request_threads) == 3
        assert client.get("/health").status_code == 200
