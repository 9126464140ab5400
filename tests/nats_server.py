"""A ``nats-server -js`` of a test's own on a free loopback port, with its own store
directory; stopped (and restartable, same port and store) by the test. Also used by
bench/relay.py. Not a test module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

TEST_NATS_URL = os.environ.get("CUSTMASTER_TEST_NATS_URL", "nats://127.0.0.1:4222")


def nats_binary() -> str | None:
    return shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str, timeout: float = 1.0) -> bool:
    """Something accepts TCP connections at the nats:// URL's host and port."""
    hostport = url.split("://", 1)[-1].rsplit("@", 1)[-1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout):
            return True
    except OSError:
        return False


class NatsServer:
    """``with NatsServer(store) as server:`` ... ``server.url``, ``stop()``, ``start()``."""

    def __init__(self, store: Path, port: int | None = None) -> None:
        binary = nats_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed")
        self.binary = binary
        self.store = store
        self.port = port or free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._process = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not answers(self.url, 0.2):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"nats-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
