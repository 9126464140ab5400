"""The console served by uvicorn on a loopback port over a SQLite test database, with the
world of ``tests.web.world`` planted; and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.services.approval_policy_loader import load_policy
from tests.conftest import DIRECT_POLICY
from tests.web.world import ConsoleWorld, browser_policy, plant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
#: where the browser tests save their screenshots: a scratch folder, so a test run leaves
#: the work tree clean; ``CUSTMASTER_SCREENSHOTS=docs`` refreshes the README's pictures
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("CUSTMASTER_SCREENSHOTS") == "docs"
    else Path(tempfile.gettempdir()) / "custmaster-console-screenshots"
)


@dataclass
class Served:
    url: str
    container: Container
    world: ConsoleWorld


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on a free loopback port; the world planted under the tests' direct policy,
    then the console's policy (updates need approval, merges apply at once)."""
    directory = tmp_path_factory.mktemp("console")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTMASTER_IMPORT_DIR", str(directory / "imports"))
        settings = Settings(
            database_url=f"sqlite:///{directory / 'console.db'}",
            local_principal_id="system",
            approval_policy=DIRECT_POLICY,
            auth_cache_seconds=0,
            certificate_check_interval_seconds=0,
        )
        container = build_container(settings, migrate=True)
        app = create_app(container)
        with TestClient(app) as client:
            world = plant(client, container)
        container.policy = load_policy(browser_policy(directory))
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the console's server did not start"
        yield Served(f"http://127.0.0.1:{port}", container, world)
        server.should_exit = True
        thread.join(timeout=10)
        container.engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
    if not AXE.exists():
        pytest.skip("browser tests need axe-core: npm ci --prefix tests/web")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
