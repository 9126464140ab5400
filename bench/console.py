"""Benchmark of the steward console: the p95 of each page beside the p95 of the JSON API
call behind it, measured in the same run against the same server and data.

Builds a database with the demo data set (``load_demo``: reference data and N generated
customers, default 2,000 = the demo database), a duplicate run (review queue) and 30
pending change requests (an import job's page is measured when the database has a job);
serves the app with uvicorn in this process on a
loopback port; signs in to the console (session cookie) and calls the API with the same
user's key; then requests every page and its API call alternately, ``--rounds`` times
over random customers, one at a time (latency, not throughput).

Usage (from the project root):
    .venv/bin/python bench/console.py                          # SQLite, 2,000 customers
    .venv/bin/python bench/console.py --postgres               # scratch PostgreSQL database
    .venv/bin/python bench/console.py --postgres --customers 2000 --extra 998000 --keep
    .venv/bin/python bench/console.py --postgres --reuse --rounds 50   # measure it again

``--extra`` COPYs more customers in after the demo set and its duplicate run (see
``add_bulk``): 1,000,000 in about 11 minutes on the shared 2-core machine.

``--postgres`` creates ``bench_consolescale`` (or ``--database NAME``, which must start
with ``bench_``) on 127.0.0.1 (never the ``test`` database) and drops it afterwards unless
``--keep``. ``--only NAME`` (repeatable) measures only the pages of that name. Figures
are printed, never asserted; the target is <= 200 ms p95 for every page.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import httpx
import uvicorn

# bench/ holds a script named mcp.py: keep it from shadowing the mcp package
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "src"))

from custmaster.api.app import create_app  # noqa: E402
from custmaster.bootstrap import Container, build_container  # noqa: E402
from custmaster.config import Settings  # noqa: E402
from custmaster.services.auth import add_user  # noqa: E402
from custmaster.services.customers.update import update_customer  # noqa: E402
from custmaster.services.dedup.batch import run_batch  # noqa: E402
from custmaster.services.demo import load_demo  # noqa: E402
from custmaster.services.ports import CustomerQuery  # noqa: E402

PG_DATABASE = "bench_consolescale"
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _postgres(action: str, database: str = PG_DATABASE) -> None:
    command = "createdb" if action == "create" else "dropdb"
    subprocess.run(
        [command, "-h", "127.0.0.1", "-U", "postgres", database],
        check=False,
        capture_output=True,
    )


def add_bulk(container: Container, count: int, base_size: int = 20000) -> None:
    """``count`` more customers COPYed straight into the customer and address tables (no
    audit entries, not in the match index): the volume behind the pages, loaded in
    minutes. ``base_size`` generated customers are built once through the domain (so
    every row is one the domain accepts); the rest are variants of them with their own
    id, number, name (words of two base names), e-mail and tax id."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from custmaster.domain.build import new_customer
    from custmaster.domain.context import ParseContext
    from custmaster.persistence.bulk import insert_rows
    from custmaster.persistence.customers import aggregate_rows
    from custmaster.services.sample_data import generate_customers

    started = time.perf_counter()
    now = datetime.now(UTC)
    base = []
    for i, data in enumerate(generate_customers(min(base_size, count), seed=7, profile="lean")):
        built = new_customer(
            data, customer_id=uuid4(), number=f"B{i:08d}", now=now, ctx=ParseContext()
        )
        if built is not None:
            base.append(built)
    words = [w for c in base for w in c.name.split()[:1]]
    tails = [" ".join(c.name.split()[1:]) or "Trading" for c in base]
    rng = random.Random(7)
    print(f"built {len(base):,} base customers in {time.perf_counter() - started:.0f} s")
    done, chunk = 0, 50_000
    while done < count:
        variants = []
        for n in range(done, min(count, done + chunk)):
            model = base[n % len(base)]
            if n < len(base):
                variants.append(model)
                continue
            name = f"{rng.choice(words)} {rng.choice(tails)}"
            slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
            tax_id = model.tax_id and model.tax_id[:3] + f"{rng.randrange(10**8):08d}"
            variants.append(
                replace(
                    model,
                    id=uuid4(),
                    number=f"B{n:08d}",
                    name=name,
                    legal_name=model.legal_name and f"{name} {model.legal_name.split()[-1]}",
                    email=f"info{n}@{slug}.example",
                    tax_id=tax_id,
                    addresses=[replace(a, id=uuid4()) for a in model.addresses],
                )
            )
        with container.engine.begin() as connection:
            for table, rows in aggregate_rows(variants):
                insert_rows(connection, table, rows)
        done += len(variants)
        print(f"  {done:,} copied ({time.perf_counter() - started:.0f} s)", flush=True)
    with container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")
    print(f"bulk-loaded {done:,} customers in {time.perf_counter() - started:.0f} s")


def build(
    url: str, customers: int, extra: int = 0, *, reuse: bool = False
) -> tuple[Container, str, list[str]]:
    """The container over a loaded database, an admin's API key, some customer ids
    (``reuse``: the database is loaded already, e.g. by an interrupted ``--extra`` run)."""
    settings = Settings(database_url=url, local_principal_id="system", auth_cache_seconds=60)
    container = build_container(settings, migrate=True)
    system = container.system_principal()
    tag = uuid4().hex[:6]
    # an admin who is also an AR manager: the inbox holds the steward's requests
    key = add_user(container.uow(), system, f"bench-admin-{tag}", roles=["admin", "ar_manager"])
    if not reuse:
        started = time.perf_counter()
        load_demo(container.uow, system, container.service_settings, customers=customers)
        print(f"loaded {customers:,} customers in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        run_batch(container.uow, system, container.service_settings)
        print(f"duplicate run in {time.perf_counter() - started:.0f} s")
        if extra:  # after the duplicate run, which scores the whole base
            add_bulk(container, extra)
    with container.uow().read_only() as uow:
        found = uow.customers.search(CustomerQuery(status=None, limit=500))
    # pending change requests for the inbox: a steward's updates wait for two approvers
    for user, role in (
        ("bench-steward", "data_steward"),
        ("bench-arm", "ar_manager"),
        ("bench-controller", "controller"),
    ):
        add_user(container.uow(), system, f"{user}-{tag}", roles=[role])
    with container.uow().read_only() as uow:
        record = uow.users.get(f"bench-steward-{tag}")
    assert record is not None
    for customer in found[:30]:
        change = {"legal_name": f"{customer.name} Holdings"}
        update_customer(
            container.uow(),
            record.principal,
            container.policy,
            customer.id,
            change,
            container.service_settings,
        )
    return container, key, [str(c.id) for c in found]


def serve(container: Container) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def console_client(base: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = _LOGIN_TOKEN.search(client.get("/console/login").text)
    assert token
    signed = client.post("/console/login", data={"credential": key, "csrf_token": token[1]})
    assert signed.status_code == 303, signed.text
    return client


def pairs(
    ids: list[str],
    cluster: int | None,
    words: list[str],
    requests: list[str] = [],  # noqa: B006 (read only)
    job: str | None = None,
) -> list[tuple[str, Callable[[], str], Callable[[], tuple[str, str, dict[str, object] | None]]]]:
    """(page name, console path, (method, API path, JSON body))."""
    pick = lambda: random.choice(ids)  # noqa: E731
    word = lambda: random.choice(words)  # noqa: E731
    found: list[
        tuple[str, Callable[[], str], Callable[[], tuple[str, str, dict[str, object] | None]]]
    ] = [
        (
            "search (exact)",
            lambda: f"/console/customers?q={word()}&fuzzy=false",
            lambda: ("GET", f"/api/v1/customers?q={word()}", None),
        ),
        (
            "search (+ fuzzy)",
            lambda: f"/console/customers?q={word()}",
            lambda: ("POST", "/api/v1/match", {"name": word()}),
        ),
        (
            "customer",
            lambda: f"/console/customers/{pick()}",
            lambda: ("GET", f"/api/v1/customers/{pick()}", None),
        ),
        (
            "customer + profile",
            lambda: f"/console/customers/{pick()}",
            lambda: ("GET", f"/api/v1/customers/{pick()}/profile", None),
        ),
        (
            "customer, entity tab",
            lambda: f"/console/customers/{pick()}?entity=DE01",
            lambda: ("GET", f"/api/v1/customers/{pick()}?entity=DE01", None),
        ),
        (
            "structure",
            lambda: f"/console/customers/{pick()}/structure",
            lambda: ("GET", f"/api/v1/customers/{pick()}/hierarchies/legal", None),
        ),
        (
            "history",
            lambda: f"/console/customers/{pick()}/history",
            lambda: ("GET", f"/api/v1/customers/{pick()}/history", None),
        ),
        (
            "edit form",
            lambda: f"/console/customers/{pick()}/edit",
            lambda: ("GET", f"/api/v1/customers/{pick()}", None),
        ),
        (
            "inbox",
            lambda: "/console/inbox",
            lambda: ("GET", "/api/v1/change-requests?waiting_for_me=true", None),
        ),
        ("duplicates", lambda: "/console/duplicates", lambda: ("GET", "/api/v1/duplicates", None)),
        ("imports", lambda: "/console/imports", lambda: ("GET", "/api/v1/imports", None)),
        (
            "data quality",
            lambda: "/console/quality",
            lambda: ("GET", "/api/v1/customers?limit=50", None),
        ),
    ]
    if requests:
        found.append(
            (
                "change request",
                lambda: f"/console/change-requests/{random.choice(requests)}",
                lambda: ("GET", f"/api/v1/change-requests/{random.choice(requests)}", None),
            )
        )
    if job is not None:
        found.append(
            (
                "import job",
                lambda: f"/console/imports/{job}",
                lambda: ("GET", f"/api/v1/imports/{job}", None),
            )
        )
    if cluster is not None:
        found.append(
            (
                "duplicate cluster",
                lambda: f"/console/duplicates/{cluster}",
                lambda: ("GET", f"/api/v1/duplicates/{cluster}", None),
            )
        )
    return found


def timed(call: Callable[[], httpx.Response]) -> float:
    """Milliseconds of one call, which must answer 200 (a redirect to the sign-in page
    would be a fast wrong answer)."""
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (
        response.request.url,
        response.status_code,
        response.text[:300],
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--extra",
        type=int,
        default=0,
        help="more customers bulk-inserted after the demo set (e.g. 998000)",
    )
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", default=PG_DATABASE, help="scratch database (bench_*)")
    parser.add_argument(
        "--only", action="append", default=[], help="measure only this page (repeatable)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the scratch PostgreSQL database as it is (no load)",
    )
    args = parser.parse_args()
    if not args.database.startswith("bench_"):
        parser.error("--database must start with bench_ (never the test database)")
    workdir = Path(tempfile.mkdtemp(prefix="console-bench-"))
    os.environ.setdefault("CUSTMASTER_IMPORT_DIR", str(workdir / "imports"))
    if args.postgres:
        if not args.reuse:
            _postgres("drop", args.database)
            _postgres("create", args.database)
        url = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    container, key, ids = build(url, args.customers, args.extra, reuse=args.reuse)
    server, thread, base = serve(container)
    try:
        console = console_client(base, key)
        api = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"})
        listed = api.get("/api/v1/customers?limit=50").json()["items"]
        words = sorted({c["name"].split()[0] for c in listed if c["name"].split()}) or ["Acme"]
        clusters = api.get("/api/v1/duplicates?limit=1").json()["items"]
        waiting = api.get("/api/v1/change-requests?waiting_for_me=true&limit=50").json()
        jobs = api.get("/api/v1/imports?limit=1").json()["items"]
        table = pairs(
            ids,
            clusters[0]["id"] if clusters else None,
            words,
            [r["id"] for r in waiting["items"]],
            jobs[0]["id"] if jobs else None,
        )
        if args.only:
            table = [row for row in table if row[0] in args.only]
        results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n, _, _ in table}
        for _ in range(3):  # warm up
            for _, page, call in table:
                console.get(page())
                method, path, body = call()
                api.request(method, path, json=body)
        for _ in range(args.rounds):
            for name, page, call in table:
                target = page()
                results[name][0].append(timed(lambda t=target: console.get(t)))
                method, path, body = call()
                results[name][1].append(
                    timed(lambda m=method, p=path, b=body: api.request(m, p, json=b))
                )
    finally:
        server.should_exit = True
        thread.join(timeout=30)  # the app's shutdown stops its background threads
    database = "PostgreSQL" if args.postgres else "SQLite"
    with container.uow().read_only() as uow:
        total = sum(e.total for e in uow.quality.completeness(()))  # active customers
    print(
        f"\n{database}, {total:,} customers, {args.rounds} requests per page "
        "(sequential, one server process)"
    )
    head = f"{'p50 ms':>8} {'p95 ms':>8}"
    print(f"{'page':24} {head}   {'API behind it':44} {head}   {'p95 page/API':>12}")
    for name, _, call in table:
        pages, apis = results[name]
        method, path, _ = call()
        api_name = f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"[:44]
        ratio = percentile(pages, 0.95) / max(percentile(apis, 0.95), 0.001)
        print(
            f"{name:24} {percentile(pages, 0.5):8.1f} {percentile(pages, 0.95):8.1f}   "
            f"{api_name:44} {percentile(apis, 0.5):8.1f} {percentile(apis, 0.95):8.1f}   "
            f"{ratio:12.2f}"
        )
    container.engine.dispose()
    if args.postgres and not args.keep:
        _postgres("drop", args.database)


if __name__ == "__main__":
    main()
