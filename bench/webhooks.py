"""Webhook delivery throughput: `custmaster webhooks deliver` passes (fan-out from the
outbox, claim, sign, POST, record) against a local receiver, beside a same-run baseline
of a bare httpx client POSTing the same bodies with the same concurrency.

    PYTHONPATH=src python bench/webhooks.py [--events 2000] [--concurrency 8]
    [--database-url postgresql://.../custmaster_bench_x]   (default: a temporary SQLite)

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.events import CloudEvent
from custmaster.services.auth import add_user
from custmaster.services.recording import utcnow
from custmaster.services.webhooks.deliver import DeliveryConfig, deliver_due
from custmaster.services.webhooks.fanout import body_of
from custmaster.services.webhooks.manage import SubscriptionSpec, create_subscription


class _Handler(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with _Handler.lock:
            _Handler.received += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()


def _events(count: int) -> list[CloudEvent]:
    now = utcnow()
    return [
        CloudEvent(
            uuid4(),
            "custmaster.customer.updated",
            str(uuid4()),
            now,
            {
                "customer": {
                    "id": str(uuid4()),
                    "name": f"Bench {i}",
                    "owning_entity": "US01",
                    "overrides": {},
                }
            },
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    container = build_container(Settings(database_url=url), migrate=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        add_user(container.uow(), container.system_principal(), "bench", roles=["viewer"])
        with container.uow().read_only() as uow:
            owner = uow.users.get("bench")
        assert owner is not None
        create_subscription(
            container.uow(), owner.principal, SubscriptionSpec(target), allow_private=True
        )
        events = _events(args.events)
        with container.uow() as uow:
            uow.outbox.add_many(events)
        config = DeliveryConfig(allow_private=True, concurrency=args.concurrency, batch=500)
        started = time.perf_counter()
        with httpx.Client(follow_redirects=False, timeout=10) as client:
            while _Handler.received < args.events:
                report = deliver_due(container.uow, config, now=utcnow, client=client)
                if not report.attempted and not report.queued:
                    time.sleep(0.05)
        hub = time.perf_counter() - started
        bodies = [body_of(e.envelope()).encode() for e in events]
        _Handler.received = 0
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(args.concurrency) as pool:
            list(
                pool.map(
                    lambda b: client.post(
                        target, content=b, headers={"content-type": "application/json"}
                    ),
                    bodies,
                )
            )
        bare = time.perf_counter() - started
    finally:
        server.shutdown()
        container.engine.dispose()
    print(
        f"database: {container.engine.dialect.name}, {args.events} events, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"custmaster webhooks (queue, sign, POST, log): {args.events / hub:8.0f} deliveries/s "
        f"({hub:.2f} s)"
    )
    print(
        f"baseline bare httpx POSTs:                    {args.events / bare:8.0f} requests/s "
        f"({bare:.2f} s)"
    )


if __name__ == "__main__":
    main()
