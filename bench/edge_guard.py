"""What the edge guard (``api/edge.py``, issue 12) costs per request, in process.

Drives the guard's ASGI callable over a no-op application and prints microseconds per
request beside the same-run baseline: the same no-op application called directly. The
requests are those of the fast path (``GET /customers/{id}?entity=DE01``, a small
``PATCH``, a ``/match`` body) and a large create (500 addresses, about 60 KB).

Usage (from the project root): ``.venv/bin/python bench/edge_guard.py [--rounds N]``.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from custmaster.api.edge import EdgeGuard

ID = "0b6f4a36-5a1e-4c56-9d5b-2f0a3c1e9d11"


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    if scope["method"] != "GET":
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _request(method: str, path: str, query: bytes = b"", body: bytes = b"") -> tuple[Any, bytes]:
    headers = [(b"content-type", b"application/json"), (b"authorization", b"Bearer cm_x_y")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers,
        "root_path": "",
    }
    return scope, body


async def _run(app: Any, scope: Any, body: bytes, rounds: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        return None

    start = time.perf_counter()
    for _ in range(rounds):
        await app(scope, receive, send)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    address = {
        "type": "shipping",
        "lines": ["100 Market St", "Suite 300"],
        "city": "Oakland",
        "postal_code": "94607",
        "country": "US",
    }
    cases = {
        "GET effective view": _request("GET", f"/api/v1/customers/{ID}", b"entity=DE01"),
        "PATCH notes": _request(
            "PATCH",
            f"/api/v1/customers/{ID}",
            body=json.dumps({"notes": "called, wants a quote"}).encode(),
        ),
        "POST /match": _request(
            "POST",
            "/api/v1/match",
            body=json.dumps(
                {"name": "Acme Corporation", "email": "ap@acme.example", "addresses": [address]}
            ).encode(),
        ),
        "POST create, 500 addresses": _request(
            "POST",
            "/api/v1/customers",
            body=json.dumps(
                {
                    "kind": "organization",
                    "name": "Acme",
                    "email": "ap@acme.example",
                    "addresses": [address] * 500,
                }
            ).encode(),
        ),
    }
    guard = EdgeGuard(_noop)
    print(f"{'request':<30} {'bytes':>8} {'no-op app':>11} {'guard+app':>11} {'guard':>9}")
    for label, (scope, body) in cases.items():
        n = rounds if len(body) < 10_000 else max(rounds // 50, 50)
        asyncio.run(_run(guard, scope, body, n // 10))  # warm-up
        base = asyncio.run(_run(_noop, scope, body, n))
        guarded = asyncio.run(_run(guard, scope, body, n))
        print(
            f"{label:<30} {len(body):>8} {base:>9.1f}us {guarded:>9.1f}us {guarded - base:>7.1f}us"
        )


if __name__ == "__main__":
    main()
