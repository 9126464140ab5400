"""Benchmark of the customer API on PostgreSQL (issue 2, item 9).

Loads N seeded customers into the PostgreSQL database ``custmaster_bench`` (created when
missing; the ``test`` database is never touched), starts the server with several
workers and measures, from a concurrent keep-alive client, two workloads over random
customers of the loaded set:

- GET  /api/v1/customers/{id}?entity=DE01   (effective view)
- PATCH /api/v1/customers/{id}  {"notes": ...}  (with its audit entry and outbox event)

Beside each figure it prints the same-run baseline: the same point read and the same
update done directly with psycopg 3 from as many connections, for as long.

Each workload runs at 8 and at 32 client connections (``--concurrency``), closed loop:
each connection sends its next request when the answer to the last one arrives, so the
mean latency is connections / throughput, and past the server's capacity more
connections only lengthen the client's own queue. Then a paced round (``--paced``, 32
connections) sends each workload on a fixed schedule at 2 % above its target rate (open
loop, like wrk2 without its correction for requests a stall delays) and measures the
latency at that rate: what a target "N/s with p99 <= X ms" asks.

Usage (from the project root):
    .venv/bin/python bench/api.py                  # 100,000 customers
    .venv/bin/python bench/api.py --million        # 1,000,000 (the load is paid once)
    .venv/bin/python bench/api.py --fresh --customers 20000 --duration 10

The client is wrk with a Lua script when installed (``apt-get install -y wrk``), else
a Python httpx client (which on a 2-core machine takes CPU from the server). Targets
on a 2-core machine at 1,000,000 customers: GET >= 2,000/s with p99 <= 20 ms, PATCH
>= 500/s with p99 <= 50 ms. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import itertools
import json
import multiprocessing
import os
import random
import shlex
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
from _bench_util import (
    WRK_INSTALL_HINT,
    LoadResult,
    cpu_delta,
    cpu_snapshot,
    run_httpx,
    run_wrk,
    running_server,
    serve_command,
    summarise,
    wrk_path,
)
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine, text

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import Conflict
from custmaster.persistence.audit import seal_pending
from custmaster.persistence.customers import SqlCustomerRepository
from custmaster.persistence.engine import make_engine
from custmaster.persistence.migrate import upgrade
from custmaster.persistence.uow import SqlUnitOfWork
from custmaster.services.reference import create_reference
from custmaster.services.sample_data import generate_customers, reference_data
from custmaster.services.settings import ServiceSettings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "custmaster_bench"
FORBIDDEN_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
REFERENCE_KINDS = (
    "legal_entities",
    "payment_terms",
    "payment_methods",
    "customer_groups",
    "tax_codes",
    "industries",
    "dimension_types",
)
#: (throughput per second at least, p99 in ms at most), at 1,000,000 customers
TARGETS = {"get": (2_000.0, 20.0), "patch": (500.0, 50.0)}
#: a paced round offers this much more than the target rate, so that what it achieves
#: (a little less than offered) can be held against the target
PACE_MARGIN = 1.02


def paced_rate(args: argparse.Namespace, mode: str) -> float | None:
    """The rate a paced round offers for ``mode`` (None: a closed-loop round)."""
    return TARGETS[mode][0] * PACE_MARGIN if getattr(args, "pacing", False) else None


#: share of customers the loader gives an override for the benchmarked entity
OVERRIDE_SHARE = 0.3
ID_SAMPLE = 100_000
#: who the baseline's audit entries name
BASELINE_ACTOR = ("bench", "bench/api.py")


def _optional_module(name: str) -> ModuleType | None:
    """API keys arrived with the governance work; a tree without them has no auth."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_AUTH = _optional_module("custmaster.services.auth")


# -- arguments ----------------------------------------------------------------------------


def _counts(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {raw}") from exc


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark GET effective view and PATCH of the customer API on "
        "PostgreSQL, beside a same-run psycopg baseline.",
    )
    parser.add_argument("--customers", type=int, default=100_000, help="default 100,000")
    parser.add_argument("--million", action="store_true", help="= --customers 1000000")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per workload")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not measured")
    parser.add_argument(
        "--paced",
        type=int,
        default=32,
        metavar="CONNECTIONS",
        help="after the closed-loop rounds, a round over this many connections that sends "
        f"each workload at {PACE_MARGIN:.0%} of its target rate on a fixed schedule (open "
        "loop) and measures the latency at that rate (default 32; 0: none)",
    )
    parser.add_argument(
        "--concurrency",
        type=_counts,
        default=[8, 32],
        help="client connections; a comma-separated list measures each in turn (default "
        "8,32: a closed-loop client's latency is connections / throughput, so at 32 the p99 "
        "mostly measures the client's own queue)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"server URL (default {DEFAULT_PG})")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--entity", default="DE01", help="legal entity of the effective view")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=2_000, help="customers per insert batch")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="HTTP load generator (auto: wrk when installed)",
    )
    args = parser.parse_args(argv)
    if args.million:
        args.customers = 1_000_000
    if args.customers < 1 or min(args.concurrency) < 1 or args.workers < 1 or args.duration <= 0:
        parser.error("--customers, --concurrency, --workers and --duration must be positive")
    if args.database in FORBIDDEN_DATABASES:
        parser.error(f"refusing to use the database {args.database!r}")
    return args


# -- database -----------------------------------------------------------------------------


def ensure_database(pg: str, name: str, *, fresh: bool) -> str:
    """Create (or on ``fresh`` drop and recreate) the database; return its URL."""
    with psycopg.connect(f"{pg.rstrip('/')}/postgres", autocommit=True) as conn:
        ident = sql.Identifier(name)
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    return f"{pg.rstrip('/')}/{name}"


def prepare_database(url: str) -> str | None:
    """The sample reference data, through the reference service (audited, evented), and
    when the API authenticates, a user ``bench`` with a fresh API key (returned)."""
    container = build_container(Settings(database_url=url), migrate=False)
    actor = container.system_principal()
    data = reference_data()
    try:
        for kind in REFERENCE_KINDS:
            for record in getattr(data, kind):
                with contextlib.suppress(Conflict):
                    create_reference(container.uow(), actor, kind, record)
        if _AUTH is None or not hasattr(_AUTH, "add_user"):
            return None
        try:
            key: str = _AUTH.add_user(
                container.uow(), actor, "bench", roles=["admin"], name="bench/api.py"
            )
        except Conflict:
            key = _AUTH.add_key(container.uow(), actor, "bench")
        return key
    finally:
        container.engine.dispose()


def count_customers(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM customers")).scalar_one())


# -- loading ------------------------------------------------------------------------------


@dataclass
class LoadStats:
    loaded: int
    rejected: int
    seconds: float
    vacuum_seconds: float
    first_problems: list[str]

    @property
    def rate(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0


_LOADER: dict[str, Engine] = {}


def _loader_init(url: str) -> None:
    _LOADER["engine"] = make_engine(url, pool_size=1)


def _load_batch(batch: list[tuple[str, dict[str, Any]]]) -> tuple[int, list[str]]:
    """In a loader process: build the aggregates with the domain, insert them at once."""
    now = datetime.now(UTC)
    built = []
    problems = []
    for number, data in batch:
        ctx = ParseContext()
        customer = new_customer(data, customer_id=uuid4(), number=number, now=now, ctx=ctx)
        if customer is None:
            problems.append(f"{number}: {ctx.errors.errors[:2]}")
        else:
            built.append(customer)
    uow = SqlUnitOfWork(_LOADER["engine"])
    with uow:
        repository = uow.customers
        if not isinstance(repository, SqlCustomerRepository):
            raise TypeError(f"expected the SQL repository, got {type(repository).__name__}")
        repository.add_many(built)
    return len(built), problems


def _with_override(data: dict[str, Any], rng: random.Random, entity: str) -> dict[str, Any]:
    """The lean profile has no overrides; give a share of the customers owned by another
    entity one for ``entity``, so the effective view merges something."""
    if data["owning_entity"] != entity and rng.random() < OVERRIDE_SHARE:
        credit = int(data.get("credit_limit") or 0)
        data["overrides"] = {
            entity: {
                "credit_limit": str(max(1_000, credit * 8 // 10 // 1_000 * 1_000)),
                "currency": "EUR" if entity == "DE01" else data["currency"],
                "payment_terms": "NET45",
            }
        }
    return data


def load_customers(
    engine: Engine, url: str, target: int, args: argparse.Namespace, console: Console
) -> LoadStats | None:
    """Top the database up to ``target`` customers (None when it holds enough)."""
    existing = count_customers(engine)
    if existing >= target:
        return None
    settings = Settings()
    with engine.connect() as conn:
        # After an interrupted load the sequence lags behind the numbers already used.
        next_value = int(
            conn.execute(
                text(
                    "SELECT greatest((SELECT next_value FROM sequences"
                    " WHERE name = 'customer_number'), (SELECT 1 + coalesce(max("
                    "substring(number from char_length(:p) + 1)::bigint), 0) FROM customers"
                    " WHERE number ~ ('^' || :p || '[0-9]+$')))"
                ),
                {"p": settings.customer_number_prefix},
            ).scalar_one()
        )
    numbers = ServiceSettings(
        customer_number_prefix=settings.customer_number_prefix,
        customer_number_width=max(
            settings.customer_number_width, len(str(next_value + target - existing))
        ),
    )
    rng = random.Random(args.seed + existing)
    stream = itertools.islice(
        generate_customers(target, seed=args.seed, profile="lean"), existing, None
    )
    todo = target - existing
    processes = max(1, min(2, multiprocessing.cpu_count()))
    loaded = rejected = 0
    problems: list[str] = []
    start = time.perf_counter()
    columns = (
        TextColumn("[bold]loading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, console=console) as progress,
        ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_loader_init,
            initargs=(url,),
        ) as pool,
    ):
        task = progress.add_task("load", total=todo, rate="")
        pending: set[Future[tuple[int, list[str]]]] = set()

        def collect(done: set[Future[tuple[int, list[str]]]]) -> None:
            nonlocal loaded, rejected
            for future in done:
                count, found = future.result()
                loaded += count
                rejected += len(found)
                problems.extend(found[: max(0, 5 - len(problems))])
                progress.update(
                    task,
                    advance=count + len(found),
                    rate=f"{loaded / (time.perf_counter() - start):,.0f}/s",
                )

        for chunk in _chunks(stream, args.batch):
            batch = [
                (numbers.customer_number(next_value + i), _with_override(d, rng, args.entity))
                for i, d in enumerate(chunk)
            ]
            next_value += len(batch)
            pending.add(pool.submit(_load_batch, batch))
            if len(pending) >= 2 * processes:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
        collect(wait(pending).done)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sequences SET next_value = :v WHERE name = 'customer_number'"),
            {"v": next_value},
        )
    seconds = time.perf_counter() - start
    with console.status("VACUUM (ANALYZE) and CHECKPOINT after the load"):
        vacuum = settle(url)
    return LoadStats(loaded, rejected, seconds, vacuum, problems)


def settle(url: str) -> float:
    """VACUUM (ANALYZE) and CHECKPOINT, as after a bulk load and before each workload: a
    workload does not pay for the dead rows and dirty pages of the one before (autovacuum
    and the checkpointer would do that work during it). Returns seconds."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("VACUUM (ANALYZE)")
        admin.execute("CHECKPOINT")
    return time.perf_counter() - began


def _chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def sample_ids(url: str, count: int) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id::text FROM customers ORDER BY random() LIMIT %s", (count,)
        ).fetchall()
    return [row[0] for row in rows]


def max_ids(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM audit_log),"
            " (SELECT coalesce(max(id), 0) FROM outbox)"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def writes_since(url: str, audit_after: int, outbox_after: int) -> tuple[int, int, int]:
    """Audit entries and outbox events written after the given ids, and how many of the
    audit entries are not sealed (chained) yet."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM audit_log WHERE id > %s),"
            " (SELECT count(*) FROM outbox WHERE id > %s),"
            " (SELECT count(*) FROM audit_log WHERE id > %s AND chain_seq IS NULL)",
            (audit_after, outbox_after, audit_after),
        ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def seal_audit_entries(url: str) -> int:
    """Seal what the baseline appended around the API (its entries are inserted unsealed,
    as a writer appends them); not timed."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            return seal_pending(connection)
    finally:
        engine.dispose()


# -- baseline: the same read and update straight through psycopg --------------------------

READ_ENTITY = "SELECT * FROM legal_entities WHERE code = %s"
READ_CUSTOMER = "SELECT * FROM customers WHERE id = %s"
READ_CHILDREN = (
    "SELECT * FROM customer_overrides WHERE customer_id = %s",
    "SELECT * FROM customer_addresses WHERE customer_id = %s ORDER BY position",
    "SELECT * FROM customer_contacts WHERE customer_id = %s ORDER BY position",
    "SELECT * FROM customer_pricing_tiers WHERE customer_id = %s ORDER BY position",
    "SELECT * FROM customer_tax_profiles WHERE customer_id = %s ORDER BY position",
    "SELECT * FROM customer_source_refs WHERE customer_id = %s ORDER BY source_system, source_id",
)
LOCK_CUSTOMER = "SELECT * FROM customers WHERE id = %s FOR UPDATE"
UPDATE_CUSTOMER = (
    "UPDATE customers SET notes = %s, version = %s, updated_at = %s WHERE id = %s AND version = %s"
)
INSERT_AUDIT = (
    "INSERT INTO audit_log (occurred_at, actor_id, actor_name, operation, resource_type,"
    " resource_id, changes) VALUES (%s, %s, %s, 'update', 'customer', %s, %s)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (event_id, type, subject, time, envelope) VALUES (%s, %s, %s, %s, %s)"
)
_dumps = functools.partial(json.dumps, default=str)


async def _baseline_read(conn: psycopg.AsyncConnection[Any], cid: UUID, entity: str) -> None:
    """What GET ?entity= reads: the entity check, the row, overrides and child rows."""
    async with conn.cursor() as cur:
        await cur.execute(READ_ENTITY, (entity,))
        await cur.fetchone()
        await cur.execute(READ_CUSTOMER, (cid,))
        if await cur.fetchone() is None:
            raise LookupError(cid)
        for query in READ_CHILDREN:
            await cur.execute(query, (cid,))
            await cur.fetchall()
    await conn.commit()


async def _baseline_update(conn: psycopg.AsyncConnection[Any], cid: UUID, note: str) -> None:
    """What PATCH writes: the locked row's new state, an audit entry, an outbox event."""
    now = datetime.now(UTC)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(LOCK_CUSTOMER, (cid,))
        row = await cur.fetchone()
        if row is None:
            raise LookupError(cid)
        version = int(row["version"]) + 1
        await cur.execute(UPDATE_CUSTOMER, (note, version, now, cid, row["version"]))
        if cur.rowcount != 1:
            raise LookupError(cid)
        changes = [{"field": "notes", "before": row["notes"], "after": note}]
        await cur.execute(
            INSERT_AUDIT,
            (now, *BASELINE_ACTOR, str(cid), Jsonb(changes, dumps=_dumps)),
        )
        event_id = uuid4()
        envelope = {
            "specversion": "1.0",
            "id": str(event_id),
            "source": "/custmaster",
            "type": "custmaster.customer.updated",
            "subject": str(cid),
            "time": now.isoformat(),
            "datacontenttype": "application/json",
            "data": {
                "changes": changes,
                "customer": {**row, "notes": note, "version": version, "updated_at": now},
            },
        }
        await cur.execute(
            INSERT_OUTBOX,
            (event_id, envelope["type"], str(cid), now, Jsonb(envelope, dumps=_dumps)),
        )
    await conn.commit()


_BARRIER: list[Any] = []


def _baseline_init(barrier: Any) -> None:
    _BARRIER[:] = [barrier]


def _baseline_process(
    mode: str,
    url: str,
    ids: list[str],
    entity: str,
    connections: int,
    warmup: float,
    seconds: float,
    seed: int,
    period: float | None,
) -> tuple[list[float], dict[str, int]]:
    return asyncio.run(
        _baseline_async(mode, url, ids, entity, connections, warmup, seconds, seed, period)
    )


async def _baseline_async(
    mode: str,
    url: str,
    ids: list[str],
    entity: str,
    connections: int,
    warmup: float,
    seconds: float,
    seed: int,
    period: float | None,
) -> tuple[list[float], dict[str, int]]:
    """``period``: each connection sends on a fixed schedule of one request per period
    (seconds); None: closed loop."""
    uuids = [UUID(i) for i in ids]
    conns = [await psycopg.AsyncConnection.connect(url) for _ in range(connections)]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    _BARRIER[0].wait(timeout=300)  # every process connected: start together with the parent
    start_at = time.time() + warmup
    end = start_at + seconds

    async def worker(conn: psycopg.AsyncConnection[Any], wid: int) -> None:
        rng = random.Random(seed * 10_000 + wid)
        n = 0
        due = time.perf_counter() + rng.random() * (period or 0)  # spread the starts
        while (now := time.time()) < end:
            if period:
                pause, due = due - time.perf_counter(), due + period
                if pause > 0:
                    await asyncio.sleep(pause)
                    now = time.time()
            cid = uuids[rng.randrange(len(uuids))]
            began = time.perf_counter()
            try:
                if mode == "get":
                    await _baseline_read(conn, cid, entity)
                else:
                    n += 1
                    await _baseline_update(conn, cid, f"baseline {seed}-{wid}-{n}")
            except (psycopg.Error, LookupError) as exc:
                if now >= start_at:
                    errors[type(exc).__name__] += 1
                await conn.rollback()
                continue
            if now >= start_at:
                latencies.append(time.perf_counter() - began)

    try:
        await asyncio.gather(*(worker(c, i) for i, c in enumerate(conns)))
    finally:
        for conn in conns:
            await conn.close()
    return latencies, dict(errors)


def run_baseline(
    label: str,
    mode: str,
    url: str,
    ids: list[str],
    args: argparse.Namespace,
    rate: float | None = None,
) -> LoadResult:
    """The same workload from ``--workers`` Python processes with ``--concurrency``
    psycopg connections in all (like the server's workers), for ``--duration``; closed
    loop, or ``rate`` requests/s in all on a fixed schedule."""
    processes = min(args.workers, args.concurrency)
    shares = [
        args.concurrency // processes + (i < args.concurrency % processes) for i in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_baseline_init, initargs=(barrier,)
    ) as pool:
        futures = [
            pool.submit(
                _baseline_process,
                mode,
                url,
                ids,
                args.entity,
                share,
                args.warmup,
                args.duration,
                args.seed + i,
                args.concurrency / rate if rate else None,
            )
            for i, share in enumerate(shares)
        ]
        barrier.wait(timeout=300)
        time.sleep(args.warmup)
        before = cpu_snapshot(os.getpid(), args.database)  # "server": this process and its children
        time.sleep(args.duration)
        cpu = cpu_delta(before, cpu_snapshot(os.getpid(), args.database))
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        for future in futures:
            found, failed = future.result()
            latencies.extend(found)
            errors.update(failed)
    statuses: Counter[int] = Counter({200: len(latencies)})
    result = summarise(label, latencies, args.duration, statuses, errors, f"psycopg x{len(shares)}")
    result.client = f"psycopg async, {processes} proc x {shares[0]} conn"
    result.cpu = cpu
    return result


# -- the API workloads --------------------------------------------------------------------


def run_http(
    label: str,
    mode: str,
    base_url: str,
    ids: list[str],
    ids_file: Path,
    seconds: float,
    args: argparse.Namespace,
    workdir: Path,
) -> LoadResult:
    rate = paced_rate(args, mode)
    if args.client == "wrk" or (args.client == "auto" and wrk_path()):
        return run_wrk(
            label,
            base_url,
            mode,
            ids_file,
            entity=args.entity,
            seconds=seconds,
            connections=args.concurrency,
            threads=1,
            workdir=workdir,
            api_key=args.api_key,
            rate=rate,
        )
    if rate:
        raise SystemExit("a paced round needs wrk: " + WRK_INSTALL_HINT)
    return run_httpx(
        label,
        base_url,
        mode,
        ids,
        entity=args.entity,
        seconds=seconds,
        connections=args.concurrency,
        api_key=args.api_key,
    )


def probe(base_url: str, customer_id: str, args: argparse.Namespace) -> None:
    """One GET before the load: a wrong setup (401, 404, 500) stops the run early."""
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    answer = httpx.get(
        f"{base_url}/api/v1/customers/{customer_id}",
        params={"entity": args.entity},
        headers=headers,
        timeout=30.0,
    )
    if answer.status_code != 200:
        raise SystemExit(f"probe GET answered {answer.status_code}: {answer.text[:500]}")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def run_api(
    url: str, ids: list[str], args: argparse.Namespace, console: Console
) -> tuple[list[LoadResult], str, tuple[int, int, int]]:
    host = "127.0.0.1"
    if port_in_use(host, args.port):
        raise SystemExit(f"port {args.port} is in use: pass another --port")
    base_url = f"http://{host}:{args.port}"
    command, how = serve_command(host, args.port, args.workers)
    env = {
        "CUSTMASTER_DATABASE_URL": url,
        "CUSTMASTER_WORKERS": str(args.workers),
        "CUSTMASTER_HOST": host,
        "CUSTMASTER_PORT": str(args.port),
    }
    results = []
    with tempfile.TemporaryDirectory(prefix="custmaster-bench-") as tmp:
        workdir = Path(tmp)
        ids_file = workdir / "ids.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        console.print(f"server: {how}: [dim]{shlex.join(command)}[/dim]")
        with running_server(command, env, f"{base_url}/health", workdir / "server.log") as server:
            probe(base_url, ids[0], args)
            audit_before, outbox_before = max_ids(url)
            written = (0, 0, 0)
            for label, mode in (("GET effective view", "get"), ("PATCH notes", "patch")):
                with console.status(f"API {label}: VACUUM (ANALYZE) and CHECKPOINT first"):
                    settle(url)
                with console.status(f"API {label}: warm-up {args.warmup:.0f} s"):
                    if args.warmup > 0:
                        run_http(label, mode, base_url, ids, ids_file, args.warmup, args, workdir)
                if mode == "patch":
                    audit_before, outbox_before = max_ids(url)
                with console.status(f"API {label}: {args.duration:.0f} s"):
                    before = cpu_snapshot(server.process.pid, args.database)
                    result = run_http(
                        label, mode, base_url, ids, ids_file, args.duration, args, workdir
                    )
                    result.cpu = cpu_delta(before, cpu_snapshot(server.process.pid, args.database))
                if mode == "patch":
                    written = writes_since(url, audit_before, outbox_before)
                results.append(result)
                console.print(_line("API", result))
            if server.process.poll() is not None:
                console.print(f"[red]the server died:[/red]\n{server.log_tail()}")
    return results, how, written


# -- report -------------------------------------------------------------------------------


def _line(kind: str, r: LoadResult) -> str:
    errors = f", errors {r.errors} ({r.error_detail})" if r.errors else ""
    return (
        f"  {kind:8s} {r.label:20s} {r.throughput:8,.0f}/s  p50 {r.p50_ms:6.2f} ms"
        f"  p99 {r.p99_ms:6.2f} ms  ({r.requests:,} requests{errors})"
    )


def _cpu_cell(r: LoadResult, key: str) -> str:
    value = r.cpu.get(key)
    if value is None or value != value or not r.requests:  # missing or NaN
        return "-"
    return f"{value * 1000 / r.requests:.2f}"


def report(
    console: Console,
    api: list[LoadResult],
    baseline: list[LoadResult],
    args: argparse.Namespace,
) -> None:
    table = Table(
        title=f"custmaster API on PostgreSQL, {args.customers:,} customers, "
        f"{args.concurrency} client connections"
        + (", paced at the target rates" if getattr(args, "pacing", False) else "")
    )
    for name, justify in (
        ("workload", "left"),
        ("path", "left"),
        ("client", "left"),
        ("requests", "right"),
        ("req/s", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("Python CPU ms/req", "right"),
        ("PG CPU ms/req", "right"),
        ("machine CPU", "right"),
        ("target (1M)", "left"),
        ("met", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for mode, a, b in zip(("get", "patch"), api, baseline, strict=True):
        least, most = TARGETS[mode]
        for path, r in (("API", a), ("psycopg baseline", b)):
            met = r.throughput >= least and r.p99_ms <= most and not r.errors
            busy = r.cpu.get("machine")
            wall = r.cpu.get("wall") or 0.0
            machine = f"{busy / wall / multiprocessing.cpu_count():.0%}" if busy and wall else "-"
            table.add_row(
                r.label if path == "API" else "",
                path,
                r.client,
                f"{r.requests:,}",
                f"{r.throughput:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{r.errors}" + (f" ({r.error_detail})" if r.errors else ""),
                _cpu_cell(r, "server"),
                _cpu_cell(r, "postgres"),
                machine,
                f">= {least:,.0f}/s, p99 <= {most:.0f} ms" if path == "API" else "",
                ("[green]yes[/green]" if met else "[red]no[/red]") if path == "API" else "",
            )
    console.print(table)
    for a, b in zip(api, baseline, strict=True):
        if b.throughput and a.throughput:
            console.print(
                f"{a.label}: the API reaches {a.throughput / b.throughput:.0%} of the "
                f"baseline throughput; p50 {a.p50_ms / b.p50_ms:.1f}x, "
                f"p99 {a.p99_ms / b.p99_ms:.1f}x the baseline's."
            )
    console.print(
        "[dim]Python CPU: the server's processes (API rows) or the baseline's client "
        "processes; PG CPU: the bench database's backends and the shared PostgreSQL "
        "processes; machine CPU: all cores, other jobs included (a busy machine lowers "
        "every figure).[/dim]"
    )
    if args.customers < 1_000_000:
        console.print("[dim]The targets are set for 1,000,000 customers (--million).[/dim]")


# -- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"[bold]command:[/bold] {shlex.join([sys.executable, *sys.argv])}")
    client = "wrk" if args.client != "httpx" and wrk_path() else "httpx"
    if args.client == "wrk" and not wrk_path():
        raise SystemExit(f"wrk is not installed: {WRK_INSTALL_HINT}")
    if client == "httpx":
        console.print(
            f"[yellow]wrk not found ({WRK_INSTALL_HINT}); the Python client shares the "
            "CPU with the server and lowers the API figures.[/yellow]"
        )
    url = ensure_database(args.pg, args.database, fresh=args.fresh)
    console.print(f"database: {url}")
    engine = make_engine(url, pool_size=2)
    try:
        upgrade(engine)
        args.api_key = prepare_database(url)
        stats = load_customers(engine, url, args.customers, args, console)
        total = count_customers(engine)
    finally:
        engine.dispose()
    if stats is None:
        console.print(f"load: skipped, the database holds {total:,} customers")
    else:
        console.print(
            f"load: {stats.loaded:,} customers in {stats.seconds:,.1f} s = "
            f"{stats.rate:,.0f} customers/s (domain build + add_many, batches of "
            f"{args.batch:,}); VACUUM ANALYZE + CHECKPOINT {stats.vacuum_seconds:,.1f} s; "
            f"the database holds {total:,}"
        )
        if stats.rejected:
            console.print(
                f"[red]{stats.rejected} generated customers failed validation, "
                f"e.g. {stats.first_problems}[/red]"
            )
    ids = sample_ids(url, min(ID_SAMPLE, total))
    concurrencies: list[int] = args.concurrency
    met: dict[str, bool] = {}
    for connections in concurrencies:
        args.concurrency = connections
        met[f"{connections} client connections, closed loop"] = measure(
            console, url, ids, total, args
        )
    if args.paced:
        args.concurrency, args.pacing = args.paced, True
        met[f"{args.paced} client connections, paced at the target rates"] = measure(
            console, url, ids, total, args
        )
        args.pacing = False
    args.concurrency = concurrencies
    for round_, ok in met.items():
        verdict = "[green]every target met[/green]" if ok else "[red]a target missed[/red]"
        console.print(f"{round_}: {verdict}")
    return 0


def measure(
    console: Console, url: str, ids: list[str], total: int, args: argparse.Namespace
) -> bool:
    """Both workloads through the API and the baseline at ``args.concurrency``
    connections, reported; True when the API met every target."""
    pace = (
        f", paced: GET at {paced_rate(args, 'get'):,.0f}/s and PATCH at "
        f"{paced_rate(args, 'patch'):,.0f}/s on a fixed schedule"
        if getattr(args, "pacing", False)
        else ", closed loop"
    )
    console.print(
        f"\n[bold]workloads: {len(ids):,} random ids of {total:,}; {args.concurrency} "
        f"connections{pace}; {args.warmup:.0f} s warm-up + {args.duration:.0f} s each; entity "
        f"{args.entity}[/bold]; each workload starts after VACUUM (ANALYZE) and CHECKPOINT"
    )
    api, how, written = run_api(url, ids, args, console)
    patch_ok = api[1].statuses.get(200, 0)
    console.print(
        f"  PATCH wrote {written[0]:,} audit entries and {written[1]:,} outbox events for "
        f"{patch_ok:,} answers 200 (the warm-up's are not counted); "
        f"{written[2]:,} entries not sealed when the run ended"
    )
    baseline = []
    for label, mode in (("GET effective view", "get"), ("PATCH notes", "patch")):
        with console.status(f"baseline {label}: VACUUM (ANALYZE) and CHECKPOINT first"):
            settle(url)
        with console.status(f"baseline {label}: {args.warmup:.0f} + {args.duration:.0f} s"):
            result = run_baseline(label, mode, url, ids, args, paced_rate(args, mode))
        baseline.append(result)
        console.print(_line("baseline", result))
    console.print(f"  baseline: {seal_audit_entries(url):,} audit entries sealed afterwards")
    report(console, api, baseline, args)
    console.print(f"server: {how}, {args.workers} workers")
    return all(
        r.throughput >= TARGETS[mode][0] and r.p99_ms <= TARGETS[mode][1] and not r.errors
        for mode, r in zip(("get", "patch"), api, strict=True)
    )


if __name__ == "__main__":
    sys.exit(main())
