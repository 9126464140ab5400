"""The application factory of ``custmaster serve``."""

from __future__ import annotations

import gc
import re
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
    frozen_before = gc.get_freeze_count()  # tests/conftest.py freezes what collection made
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
        if frozen_before:  # as it was (the rest of the run keeps its speed)
            gc.collect()
            gc.freeze()


def test_the_api_documentation_needs_no_cdn(bare_client: TestClient) -> None:
    for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = bare_client.get(page)
        assert html.status_code == 200, page
        assert "cdn." not in html.text and "googleapis" not in html.text
        source = re.search(r'src="([^"]+)"', html.text)
        assert source is not None and source.group(1).endswith(script)
        asset = bare_client.get(source.group(1))
        assert asset.status_code == 200 and len(asset.content) > 100_000
    css = re.search(r'href="([^"]+\.css)"', bare_client.get("/docs").text)
    assert css is not None and bare_client.get(css.group(1)).status_code == 200
