"""Online matching latency (issue 4, item 2): POST /api/v1/match against 1,000,000
customers in PostgreSQL.

Loads the match index (``match_records`` + ``match_keys``, exactly what the online matcher
reads) of N lean sample customers (``generate_customers(n, seed, profile="lean")``) into
the PostgreSQL database ``custmaster_bench_match`` (created when missing; never ``test``)
with COPY and VACUUMs it (as autovacuum would after a bulk load), then measures sequential
single-request latency, p50/p99, of:

1. the service call ``find_matches`` in-process (lookup + features + scoring),
2. POST /api/v1/match over HTTP (uvicorn, one worker), from a keep-alive httpx client and
   from the standard library's thin http.client,
3. baseline, same run: the bare candidate-lookup SQL (the same union of per-key index
   lookups) from psycopg, no scoring, no HTTP.

Candidates: half are stored customers with typical variations (name case and legal form,
email case, phone in national format), half are new records (another seed).

Usage (from the project root):
    .venv/bin/python bench/match_latency.py                 # 1,000,000 (loaded once)
    .venv/bin/python bench/match_latency.py --customers 50000 --fresh
Then the batch figure on the same base: ``custmaster match run --database-url
postgresql://postgres@127.0.0.1:5432/custmaster_bench_match``.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import psycopg
from sqlalchemy import text

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.matching.keys import DEFAULT_MAX_POSTINGS
from custmaster.matching.record import from_customer_dict, prepare
from custmaster.persistence.migrate import upgrade
from custmaster.services.auth import add_user
from custmaster.services.dedup.online import find_matches
from custmaster.services.dedup.records import features_to_json, index_keys
from custmaster.services.sample_data import generate_customers

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "custmaster_bench_match"
URL = f"postgresql://postgres@127.0.0.1:5432/{DB}"
SEED = 4242
CHUNK = 20_000
WARM_UP = 50


def ensure_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')


def _uuid(i: int) -> UUID:
    return UUID(int=(0xC0FFEE << 96) | i)


def _rows(start: int, customers: list[dict[str, Any]]) -> tuple[str, str]:
    """COPY text of match_records and match_keys for a chunk (runs in a worker)."""
    records, keys = io.StringIO(), io.StringIO()
    for offset, data in enumerate(customers):
        i = start + offset
        cid = _uuid(i)
        f = prepare(from_customer_dict({**data, "id": str(cid)}))
        features = json.dumps(features_to_json(f)).replace("\\", "\\\\")
        name = str(data["name"])[:255].replace("\\", "\\\\").replace("\t", " ")
        records.write(f"{cid}\tC{i + 1:07d}\t{name}\t{features}\n")
        for key_type, value in index_keys(f):
            value = value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
            keys.write(f"{key_type}\t{value}\t{cid}\n")
    return records.getvalue(), keys.getvalue()


def vacuum() -> None:
    """VACUUM (ANALYZE) the index, as autovacuum does some time after a bulk load: the
    visibility map lets the key look-ups read the index only, and the statistics are
    current. Without it a fresh load measures heap fetches of pages nobody has visited."""
    started = time.perf_counter()
    with psycopg.connect(URL, autocommit=True) as conn:
        for table in ("match_records", "match_keys"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"\nVACUUM (ANALYZE) of the index: {time.perf_counter() - started:.1f}s")


def _chunks(n: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    batch: list[dict[str, Any]] = []
    start = 0
    for i, customer in enumerate(generate_customers(n, seed=SEED, profile="lean")):
        batch.append(customer)
        if len(batch) == CHUNK:
            yield start, batch
            start, batch = i + 1, []
    if batch:
        yield start, batch


def _star(args: tuple[int, list[dict[str, Any]]]) -> tuple[str, str]:
    return _rows(*args)


def load(n: int, fresh: bool) -> None:
    with psycopg.connect(URL) as conn:
        have = conn.execute("SELECT count(*) FROM match_records").fetchone()
        if have and have[0] == n and not fresh:
            print(f"index of {n:,} customers already loaded in {DB}")
            vacuum()  # quick when nothing changed since the last one
            return
        conn.execute("TRUNCATE match_records, match_keys")
        conn.commit()
    started = time.perf_counter()
    workers = max(1, (os.cpu_count() or 2))
    with psycopg.connect(URL) as conn, multiprocessing.Pool(workers) as pool:
        done = 0
        for records, keys in pool.imap(_star, _chunks(n)):
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY match_records (customer_id, number, name, features) FROM STDIN"
                ) as copy:
                    copy.write(records)
                with cur.copy(
                    "COPY match_keys (key_type, key_value, customer_id) FROM STDIN"
                ) as copy:
                    copy.write(keys)
            conn.commit()
            done += records.count("\n")
            print(
                f"\rloaded {done:,}/{n:,} ({time.perf_counter() - started:.0f}s)",
                end="",
                flush=True,
            )
    vacuum()
    rows = psycopg.connect(URL).execute("SELECT count(*) FROM match_keys").fetchone()
    print(
        f"\nindex loaded in {time.perf_counter() - started:.0f}s: {n:,} records, "
        f"{rows[0] if rows else 0:,} keys"
    )


def candidates(n: int, count: int) -> list[dict[str, Any]]:
    """Half stored customers with variations, half new records."""
    rng = random.Random(7)
    wanted = sorted(rng.sample(range(n), count // 2))
    picked: list[dict[str, Any]] = []
    it = iter(wanted)
    target = next(it, None)
    for i, customer in enumerate(generate_customers(n, seed=SEED, profile="lean")):
        if i == target:
            picked.append(customer)
            target = next(it, None)
            if target is None:
                break
    out: list[dict[str, Any]] = []
    for c in picked:
        variant = dict(c)
        variant["name"] = str(c["name"]).upper().replace(",", "")
        variant["email"] = str(c["email"]).upper()
        out.append(variant)
    out.extend(generate_customers(count - len(out), seed=SEED + 1, profile="lean"))
    rng.shuffle(out)
    return out


def pct(times: list[float]) -> str:
    times = sorted(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return (
        f"p50={statistics.median(times):6.2f} ms  p99={p99:6.2f} ms  "
        f"max={times[-1]:6.2f} ms  (n={len(times)})"
    )


def bench_service(
    cands: list[dict[str, Any]], warm_up: list[dict[str, Any]]
) -> tuple[list[float], list[int]]:
    container = build_container(Settings(database_url=URL), migrate=False)
    actor = container.system_principal()
    times, found = [], []
    for c in warm_up:
        find_matches(container.uow(), actor, c)
    for c in cands:
        s = time.perf_counter()
        items, _ = find_matches(container.uow(), actor, c)
        times.append((time.perf_counter() - s) * 1000)
        found.append(len(items))
    container.engine.dispose()
    return times, found


def bench_sql(cands: list[dict[str, Any]]) -> list[float]:
    """The bare candidate lookup: the same per-key LIMITed index lookups in one query."""
    times = []
    with psycopg.connect(URL) as conn:
        for c in cands:
            keys = index_keys(prepare(from_customer_dict(c)))
            parts = " UNION ALL ".join(
                "(SELECT key_type, key_value, customer_id FROM match_keys "
                f"WHERE key_type = %s AND key_value = %s LIMIT {DEFAULT_MAX_POSTINGS + 1})"
                for _ in keys
            )
            params = [v for k in keys for v in k]
            s = time.perf_counter()
            if keys:
                conn.execute(parts, params).fetchall()
            times.append((time.perf_counter() - s) * 1000)
    return times


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_http(
    by_client: dict[str, list[dict[str, Any]]], warm_up: list[dict[str, Any]]
) -> dict[str, list[float]]:
    """Sequential POST /match to one uvicorn worker, from two keep-alive clients in turn:
    httpx (what a Python integration would use) and the standard library's http.client
    (a thin client: its own overhead is a fraction of httpx's)."""
    container = build_container(Settings(database_url=URL), migrate=False)
    with container.engine.begin() as conn:
        conn.execute(text("DELETE FROM api_keys WHERE user_id = 'bench-match'"))
        conn.execute(text("DELETE FROM users WHERE id = 'bench-match'"))
    key = add_user(container.uow(), container.system_principal(), "bench-match", roles=["admin"])
    container.engine.dispose()
    port = _free_port()
    env = {**os.environ, "CUSTMASTER_DATABASE_URL": URL}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "custmaster.api.app:create_app_from_env",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = {name: [json.dumps(c).encode() for c in cands] for name, cands in by_client.items()}
    times: dict[str, list[float]] = {name: [] for name in by_client}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            for _ in range(100):
                try:
                    client.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            for candidate in warm_up:
                client.post("/api/v1/match", json=candidate)
            for body in bodies["httpx"]:
                s = time.perf_counter()
                response = client.post("/api/v1/match", content=body)
                times["httpx"].append((time.perf_counter() - s) * 1000)
                assert response.status_code == 200, response.text
        thin = http.client.HTTPConnection("127.0.0.1", port)
        for body in bodies["http.client"]:
            s = time.perf_counter()
            thin.request("POST", "/api/v1/match", body=body, headers=headers)
            answer = thin.getresponse()
            answer.read()
            times["http.client"].append((time.perf_counter() - s) * 1000)
            assert answer.status == 200
        thin.close()
        return times
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--fresh", action="store_true", help="reload the index")
    args = parser.parse_args()
    ensure_database()
    container = build_container(Settings(database_url=URL), migrate=False)
    upgrade(container.engine)
    container.engine.dispose()
    load(args.customers, args.fresh)
    # Each measurement gets candidates of its own, so that none is served from what an
    # earlier one brought into PostgreSQL's buffers; the warm-up ones are shared.
    every = candidates(args.customers, 4 * args.queries + WARM_UP)
    warm_up, cands = every[:WARM_UP], every[WARM_UP:]
    service, found = bench_service(cands[0::4], warm_up)
    sql = bench_sql(cands[1::4])
    http = bench_http({"httpx": cands[2::4], "http.client": cands[3::4]}, warm_up)
    hits = sum(1 for n in found if n)
    print(
        f"\nPOST /api/v1/match against {args.customers:,} customers ({DB}), "
        f"{args.queries} sequential queries each, {hits}/{len(found)} (service) with at least "
        "one candidate:"
    )
    print(f"  service call in-process : {pct(service)}")
    for client, times in http.items():
        print(f"  HTTP (uvicorn, 1 worker), {client:11s}: {pct(times)}")
    print(f"  baseline: bare lookup SQL: {pct(sql)}")


if __name__ == "__main__":
    main()
