"""The application factory of ``custmaster serve``."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custmaster.api.app import create_app_from_env


def test_a_serving_process_freezes_its_startup_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What exists once the app is made stays out of the collector's full passes (their
    pause grows with it); the app serves as before."""
    monkeypatch.setenv("CUSTMASTER_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    gc.unfreeze()
    try:
        app = create_app_from_env()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, the app, its routes and schemas
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
        app.state.container.engine.dispose()
    finally:
        gc.unfreeze()
