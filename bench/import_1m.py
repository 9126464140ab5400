"""Bulk import benchmark: N realistic customers (seeded, ``lean`` profile) written as the
``custmaster`` CSV layout, imported through a real import job (validation with the
domain, reference checks, duplicate detection in the file and against the master,
approval, batched writes with audit entries and events), on PostgreSQL and SQLite.

Prints rows/s per stage and overall, the peak RSS of the process, and the same-run
baseline: a bare bulk load of the same rows into an unindexed table (PostgreSQL COPY;
SQLite executemany), which is the ceiling the import could approach.

    .venv/bin/python bench/import_1m.py                       # 1,000,000 rows, both databases
    .venv/bin/python bench/import_1m.py --rows 100000 --backend sqlite

PostgreSQL: a separate database ``custmaster_bench_import`` on the server of
``--postgres`` (default postgresql://postgres@127.0.0.1:5432/postgres) is created and
dropped by the script; the tests' database is never touched. No timed assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.permissions import Principal, Role
from custmaster.services.imports import jobs
from custmaster.services.imports.jobs import FileStore, Upload, approve_job, run_job, submit_job
from custmaster.services.imports.store import ImportJob, ImportOptions
from custmaster.services.reference import create_reference
from custmaster.services.sample_data import generate_customers, reference_data

BENCH_DB = "custmaster_bench_import"
COLUMNS = (
    "source_id",
    "kind",
    "name",
    "legal_name",
    "first_name",
    "last_name",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "relationship_status",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "notes",
    "billing_street",
    "billing_city",
    "billing_region",
    "billing_postal_code",
    "billing_country",
    "shipping_street",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
)
SUBMITTER = Principal("bench-steward", "Bench Steward", frozenset({Role.DATA_STEWARD}))
APPROVER = Principal("bench-manager", "Bench Manager", frozenset({Role.AR_MANAGER}))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_cpu(url: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends serving ``url``'s database (read
    from /proc, so only for a server on this machine; ``None`` when it cannot be read)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ]
        ticks = 0
        for pid in pids:
            with contextlib.suppress(FileNotFoundError):
                fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields_[11]) + int(fields_[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, psycopg.Error, IndexError, ValueError):
        return None


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the import's worker)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _flat(index: int, customer: dict[str, Any]) -> list[str]:
    row: dict[str, Any] = {k: customer.get(k) for k in COLUMNS}
    row["source_id"] = f"B{index:07d}"
    for address in customer.get("addresses") or []:
        kind = address["type"]
        row[f"{kind}_street"] = "\n".join(address["lines"])
        for part in ("city", "region", "postal_code", "country"):
            row[f"{kind}_{part}"] = address.get(part)
    return ["" if row[c] is None else str(row[c]) for c in COLUMNS]


def write_csv(path: Path, rows: int, seed: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i, customer in enumerate(generate_customers(rows, seed=seed, profile="lean")):
            writer.writerow(_flat(i, dict(customer)))


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        yield from reader


def baseline_postgres(url: str, path: Path) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        columns = ", ".join(f"{c} text" for c in COLUMNS)
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(f"CREATE UNLOGGED TABLE bench_copy ({columns})")
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy")
    return seconds


def baseline_sqlite(db: Path, path: Path) -> float:
    conn = sqlite3.connect(db)
    conn.execute(f"CREATE TABLE bench_copy ({', '.join(COLUMNS)})")
    start = time.perf_counter()
    marks = ", ".join("?" for _ in COLUMNS)
    conn.executemany(f"INSERT INTO bench_copy VALUES ({marks})", _rows(path))
    conn.commit()
    seconds = time.perf_counter() - start
    conn.execute("DROP TABLE bench_copy")
    conn.commit()
    conn.close()
    return seconds


def run_import(url: str, csv_path: Path, work: Path, batch_size: int) -> dict[str, Any]:
    container = build_container(Settings(database_url=url), migrate=True)
    admin = container.system_principal()
    uow = container.uow()
    with uow:
        reference = reference_data()
        for kind in (f.name for f in fields(reference)):
            for record in getattr(reference, kind):
                create_reference(uow, admin, kind, record)
    store = FileStore(work / "uploads")
    marks: dict[str, float] = {}
    last = {"t": time.perf_counter()}

    def progress(job: ImportJob) -> None:
        now = time.perf_counter()
        if now - last["t"] > 15:
            last["t"] = now
            done = (
                job.validated_records
                if job.status.value == "validating"
                else ((job.last_committed_batch + 1) * batch_size)
            )
            print(
                f"    {job.status.value}: {done:,} records, peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )

    start = time.perf_counter()
    cpu = time.process_time()
    children = _children_cpu()
    with csv_path.open("rb") as handle:
        job = submit_job(
            container.uow(),
            SUBMITTER,
            template="custmaster",
            uploads=[Upload(csv_path.name, handle)],
            options=ImportOptions(batch_size=batch_size),
            files=store,
        )
    marks["upload"] = time.perf_counter() - start
    job = run_job(container.uow, job.id, container.service_settings, files=store, progress=progress)
    marks["validate"] = time.perf_counter() - start - marks["upload"]
    marks["validate_cpu"] = time.process_time() - cpu
    approve_job(container.uow(), APPROVER, job.id)
    t = time.perf_counter()
    job = run_job(container.uow, job.id, container.service_settings, files=store, progress=progress)
    marks["import"] = time.perf_counter() - t
    marks["total"] = time.perf_counter() - start
    marks["cpu"] = time.process_time() - cpu
    marks["import_cpu"] = marks["cpu"] - marks["validate_cpu"]
    marks["worker_cpu"] = _children_cpu() - children
    backend_cpu = server_cpu(url) if url.startswith("postgresql") else None
    container.engine.dispose()
    return {"job": job, **marks, "server_cpu": backend_cpu}


def report(name: str, rows: int, result: dict[str, Any], baseline: float) -> None:
    job: ImportJob = result["job"]
    print(f"\n{name}: job {job.status.value}, outcomes {job.summary.get('final')}")
    for stage in ("upload", "validate", "import", "total"):
        seconds = result[stage]
        print(f"  {stage:<9} {seconds:8.1f} s  {rows / seconds:10,.0f} rows/s")
    print(
        f"  (this process's CPU: {result['cpu']:.1f} s, {result['cpu'] * 1e3 / rows:.2f} ms/row "
        f"= upload+validate {result['validate_cpu'] * 1e3 / rows:.2f} + import "
        f"{result['import_cpu'] * 1e3 / rows:.2f}; the database server's not included)"
    )
    if result["worker_cpu"] > 0:
        print(
            f"  (its worker processes' CPU: {result['worker_cpu']:.1f} s, "
            f"{result['worker_cpu'] * 1e3 / rows:.2f} ms/row)"
        )
    if result["server_cpu"] is not None:
        print(
            f"  (the PostgreSQL backends' CPU: {result['server_cpu']:.1f} s, "
            f"{result['server_cpu'] * 1e3 / rows:.2f} ms/row)"
        )
    print(
        f"  baseline  {baseline:8.1f} s  {rows / baseline:10,.0f} rows/s  (bare bulk load, "
        "unindexed table, same rows)"
    )
    print(
        f"  import/baseline: {result['total'] / baseline:.0f}x slower; "
        f"peak RSS so far {peak_rss_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--backend", choices=["both", "postgres", "sqlite"], default="both")
    parser.add_argument(
        "--parallel-from",
        type=int,
        default=None,
        help="records from which validation parses in a worker process, "
        "busy machine or not (default: the library's rule)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.parallel_from is not None:
        jobs.PARALLEL_FROM = args.parallel_from
        jobs.spare_core = lambda: True  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="custmaster-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "customers.csv"
        t = time.perf_counter()
        write_csv(csv_path, args.rows, args.seed)
        print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - t:.0f} s; peak RSS {peak_rss_mb():.0f} MB"
        )
        if args.backend in ("both", "postgres"):
            admin_url = make_url(args.postgres)
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
                conn.execute(f"CREATE DATABASE {BENCH_DB}")
            url = admin_url.set(database=BENCH_DB).render_as_string(hide_password=False)
            try:
                baseline = baseline_postgres(url, csv_path)
                result = run_import(url, csv_path, work, args.batch_size)
                report("PostgreSQL", args.rows, result, baseline)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if args.backend in ("both", "sqlite"):
            db = work / "bench.db"
            baseline = baseline_sqlite(work / "baseline.db", csv_path)
            result = run_import(f"sqlite:///{db}", csv_path, work, args.batch_size)
            report("SQLite", args.rows, result, baseline)
        print(f"\npeak RSS of the whole run: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
