""".ci/nats.sh (sourced by .ci/run): with nothing at CUSTMASTER_TEST_NATS_URL it starts a
nats-server with JetStream, exports its URL, and stops it when the shell exits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nats_server import answers, free_port, nats_binary

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "nats.sh"
PROBE = """
import asyncio, os, nats
async def main():
    nc = await nats.connect(os.environ["CUSTMASTER_TEST_NATS_URL"], connect_timeout=5)
    info = await nc.jetstream().account_info()
    print("jetstream", info.streams)
    await nc.close()
asyncio.run(main())
"""


@pytest.mark.skipif(nats_binary() is None or shutil.which("bash") is None, reason="no nats-server")
def test_ci_starts_a_nats_server_when_none_answers_and_stops_it() -> None:
    unreachable = f"nats://127.0.0.1:{free_port()}"
    script = (
        f"set -euo pipefail; source {SCRIPT}; ensure_test_nats; echo URL=$CUSTMASTER_TEST_NATS_URL; "
        f"{sys.executable} -c '{PROBE}'"
    )
    env = {**os.environ, "CUSTMASTER_TEST_NATS_URL": unreachable}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    url = next(line[4:] for line in done.stdout.splitlines() if line.startswith("URL="))
    assert url != unreachable and "jetstream 0" in done.stdout
    assert not answers(url, 0.5)  # stopped when the shell exited


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_ci_uses_the_nats_server_that_answers(nats_url: str) -> None:
    script = (
        f"set -euo pipefail; source {SCRIPT}; ensure_test_nats; echo URL=$CUSTMASTER_TEST_NATS_URL"
    )
    env = {**os.environ, "CUSTMASTER_TEST_NATS_URL": nats_url}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert f"URL={nats_url}" in done.stdout and "started" not in done.stdout
