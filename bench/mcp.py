"""Benchmark of a read tool call over MCP (streamable HTTP at /mcp) beside the same read
through the REST API, in the same run, on PostgreSQL (issue 14).

Loads N customers into a scratch database (``custmaster_bench_mcp`` by default, created
fresh and dropped at the end unless ``--keep``; the ``test`` database is refused), starts
``custmaster serve`` and measures, from one Python client with keep-alive connections,
alternating rounds of:

- MCP:  POST /mcp  tools/call get_customer {"customer_id": <random>, "entity": "DE01"}
        (the request the SDK's client sends, captured once and replayed with other ids)
- REST: GET /api/v1/customers/<random>?entity=DE01

Both authenticate with the same API key and read the same effective view. The issue's
target: p99 <= 50 ms for the MCP read at 1,000,000 customers. The figures are printed,
never asserted.

Usage (from the project root):
    PYTHONPATH=src .venv/bin/python bench/mcp.py                      # 100,000 customers
    PYTHONPATH=src .venv/bin/python bench/mcp.py --million
    PYTHONPATH=src .venv/bin/python bench/mcp.py --customers 20000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# This file is bench/mcp.py: run as a script, its folder comes first on sys.path and
# ``import mcp`` would find this file instead of the SDK. Import the SDK without it.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

sys.path.insert(0, str(_BENCH))

import anyio  # noqa: E402
import httpx  # noqa: E402
import httpx2  # noqa: E402
import psycopg  # noqa: E402
from _bench_util import LoadResult, running_server, serve_command, summarise  # noqa: E402
from psycopg import sql  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from api import (  # noqa: E402
    DEFAULT_PG,
    FORBIDDEN_DATABASES,
    count_customers,
    ensure_database,
    load_customers,
    prepare_database,
    sample_ids,
    settle,
)
from custmaster.persistence.engine import make_engine  # noqa: E402
from custmaster.persistence.migrate import upgrade  # noqa: E402

DEFAULT_DATABASE = "custmaster_bench_mcp"
TARGET_P99_MS = 50.0
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="default 100,000")
    parser.add_argument("--million", action="store_true", help="= --customers 1000000")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each, alternating")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not measured")
    parser.add_argument("--concurrency", type=int, default=4, help="client connections")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"server URL (default {DEFAULT_PG})")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--entity", default="DE01", help="legal entity of the effective view")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=2_000, help="customers per insert batch")
    args = parser.parse_args(argv)
    if args.million:
        args.customers = 1_000_000
    if args.database in FORBIDDEN_DATABASES:
        parser.error(f"refusing to use the database {args.database!r}")
    return args


def drop_database(pg: str, name: str) -> None:
    with psycopg.connect(f"{pg.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def capture_tool_call(base: str, key: str, customer_id: str, entity: str) -> dict[str, Any]:
    """The HTTP request the SDK's client sends for the read tool call (headers and JSON
    body), with the customer id replaced by a placeholder; checks the answer once."""
    seen: list[httpx2.Request] = []

    async def keep(request: httpx2.Request) -> None:
        seen.append(request)

    async with (
        httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, timeout=60, event_hooks={"request": [keep]}
        ) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(
            "get_customer", {"customer_id": customer_id, "entity": entity}
        )
        if result.is_error:
            raise SystemExit(f"the tool call failed: {result.content}")
        version = client.protocol_version
    [call] = [r for r in seen if r.method == "POST" and b'"tools/call"' in r.content]
    headers = {
        k: v
        for k, v in call.headers.items()
        if k.lower() not in ("content-length", "host", "authorization")
    }
    body = call.content.decode().replace(customer_id, PLACEHOLDER)
    return {"headers": headers, "body": body, "protocol": version}


async def closed_loop(
    label: str,
    base: str,
    key: str,
    ids: Sequence[str],
    args: argparse.Namespace,
    mcp: dict[str, Any] | None,
    seconds: float,
) -> LoadResult:
    """``args.concurrency`` workers, each sending its next request when the last answer
    arrived, for ``seconds``; an MCP answer counts as an error unless it is a tool result
    without isError."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    headers = {"Authorization": f"Bearer {key}", **(mcp["headers"] if mcp else {})}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30, headers=headers
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                customer_id = ids[rng.randrange(len(ids))]
                began = time.perf_counter()
                try:
                    if mcp is None:
                        response = await client.get(
                            f"/api/v1/customers/{customer_id}", params={"entity": args.entity}
                        )
                    else:
                        body = mcp["body"].replace(PLACEHOLDER, customer_id)
                        response = await client.post("/mcp", content=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - began)
                statuses[response.status_code] += 1
                if mcp is not None and response.status_code == 200:
                    answer = response.json()
                    if "error" in answer or answer.get("result", {}).get("isError"):
                        errors["tool error"] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(args.concurrency)))
        elapsed = time.perf_counter() - start
    return summarise(label, latencies, elapsed, statuses, errors, f"httpx x{args.concurrency}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]command:[/bold] {shlex.join([sys.executable, *sys.argv])}")
    url = ensure_database(args.pg, args.database, fresh=True)
    console.print(f"scratch database: {url} (dropped at the end: {not args.keep})")
    try:
        engine = make_engine(url, pool_size=2)
        try:
            upgrade(engine)
            key = prepare_database(url)
            assert key is not None, "this tree authenticates with API keys"
            stats = load_customers(engine, url, args.customers, args, console)
            total = count_customers(engine)
        finally:
            engine.dispose()
        if stats is not None:
            console.print(
                f"load: {stats.loaded:,} customers in {stats.seconds:,.1f} s; "
                f"the database holds {total:,}"
            )
        ids = sample_ids(url, min(100_000, total))
        settle(url)
        command, how = serve_command("127.0.0.1", args.port, args.workers)
        base = f"http://127.0.0.1:{args.port}"
        # a busy machine starts workers slowly: give them time rather than restarting them
        env = {
            "CUSTMASTER_DATABASE_URL": url,
            "CUSTMASTER_WORKERS": str(args.workers),
            "CUSTMASTER_WORKER_HEALTHCHECK_SECONDS": "180",
        }
        with (
            tempfile.TemporaryDirectory() as folder,
            running_server(
                command, env, f"{base}/health", Path(folder) / "server.log", timeout=300
            ),
        ):
            mcp = anyio.run(capture_tool_call, base, key, ids[0], args.entity)
            console.print(
                f"server: {how}, {args.workers} workers; MCP protocol "
                f"{mcp['protocol']} (stateless, JSON answers)"
            )
            results: dict[str, list[LoadResult]] = {
                "MCP tools/call get_customer": [],
                "REST GET effective view": [],
            }
            for label, spec in (("warm-up MCP", mcp), ("warm-up REST", None)):
                asyncio.run(closed_loop(label, base, key, ids, args, spec, args.warmup))
            for _ in range(args.rounds):
                for label, spec in (
                    ("MCP tools/call get_customer", mcp),
                    ("REST GET effective view", None),
                ):
                    results[label].append(
                        asyncio.run(closed_loop(label, base, key, ids, args, spec, args.duration))
                    )
        report(console, results, total, args)
    finally:
        if not args.keep:
            drop_database(args.pg, args.database)
            console.print(f"dropped {args.database}")
    return 0


def report(
    console: Console, results: dict[str, list[LoadResult]], total: int, args: argparse.Namespace
) -> None:
    table = Table(
        title=f"{total:,} customers, entity {args.entity}, {args.concurrency} "
        f"connections closed loop, {args.rounds} x {args.duration:.0f} s each"
    )
    for column in ("read", "round", "requests/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right" if column != "read" else "left")
    for label, rounds in results.items():
        for i, r in enumerate(rounds, 1):
            table.add_row(
                label,
                str(i),
                f"{r.throughput:,.0f}",
                f"{r.p50_ms:,.1f}",
                f"{r.p99_ms:,.1f}",
                f"{r.errors} {r.error_detail}".strip(),
            )
    console.print(table)
    worst = max(r.p99_ms for r in results["MCP tools/call get_customer"])
    scale = "" if total >= 1_000_000 else f" (at {total:,} customers, not 1,000,000)"
    verdict = "met" if worst <= TARGET_P99_MS else "missed"
    console.print(
        f"target MCP read p99 <= {TARGET_P99_MS:.0f} ms{scale}: worst round "
        f"{worst:,.1f} ms, {verdict}"
    )
    print(
        json.dumps(
            {
                label: [
                    {
                        "rps": round(r.throughput),
                        "p50_ms": round(r.p50_ms, 1),
                        "p99_ms": round(r.p99_ms, 1),
                        "errors": r.errors,
                    }
                    for r in rounds
                ]
                for label, rounds in results.items()
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
