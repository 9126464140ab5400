"""The database's floor under bulk import: how fast PostgreSQL alone takes the rows an
import writes, with no Python in the way.

A real import (``bench/import_1m.py``'s rows and job, approval included) of N customers
fills a source database. Then every row it wrote, in every table (customers and their
child records, source cross-references, the match index, audit entries, outbox events,
and the import's own staging and report rows) is copied with binary COPY, already in
memory, into a fresh database at the same schema with its indexes, constraints and
triggers, in one transaction per table group, timed. The same is done into tables without
their secondary indexes, to show what index upkeep costs.

Each variant is loaded ``--repeat`` times (default 3) into a fresh copy and the pass with
the least backend CPU is reported. Prints the rows per table, and per variant: customers/s
on one backend, the backend's CPU per customer, and the customers/s that the machine's
cores could take if PostgreSQL had all of them and Python none: the ceiling any import
design could reach on this machine with this schema. No timed assertions.

    .venv/bin/python bench/import_floor.py                 # 50,000 customers
    .venv/bin/python bench/import_floor.py --rows 200000

The databases ``custmaster_bench_floor_src`` and ``custmaster_bench_floor`` on the server
of ``--postgres`` are created and dropped by the script; the tests' database is never
touched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_1m  # the import benchmark's rows and job

SOURCE_DB = "custmaster_bench_floor_src"
TARGET_DB = "custmaster_bench_floor"
PASS_DB = "custmaster_bench_floor_pass"
#: what an import writes, parents first; the rest (reference data, users) is set up untimed
WRITTEN = (
    "customers",
    "customer_addresses",
    "customer_contacts",
    "customer_pricing_tiers",
    "customer_tax_profiles",
    "customer_overrides",
    "customer_source_refs",
    "match_records",
    "match_keys",
    "audit_log",
    "outbox",
    "source_records",
)
#: the import job's own tables (the design's staging and row report) start with this
STAGING_PREFIX = "import_"


def _url(server: str, name: str) -> str:
    return f"{server.rstrip('/').rsplit('/', 1)[0]}/{name}"


@contextlib.contextmanager
def database(server: str, name: str, *, template: str | None = None) -> Iterator[str]:
    """A fresh database ``name`` on ``server``, a copy of ``template`` if given (dropped
    afterwards)."""
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(create)
    try:
        yield _url(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(drop)


def tables_of(conn: psycopg.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]


def dump(conn: psycopg.Connection, table: str) -> tuple[bytes, int]:
    """The table's rows as binary COPY data, and how many."""
    chunks: list[bytes] = []
    with conn.cursor().copy(
        sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(table))
    ) as copy:
        for chunk in copy:
            chunks.append(bytes(chunk))
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = count.fetchone()
    return b"".join(chunks), int(row[0]) if row else 0


def load(conn: psycopg.Connection, table: str, data: bytes) -> None:
    with conn.cursor().copy(
        sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
    ) as copy:
        copy.write(data)


def backend_cpu(conn: psycopg.Connection) -> float:
    """CPU seconds used so far by this connection's backend (from /proc)."""
    pid = conn.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def secondary_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[str]:
    """Names of the indexes on ``tables`` that back no constraint."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            (list(tables),),
        )
    ]


def measure(
    server: str, data: dict[str, tuple[bytes, int]], tables: tuple[str, ...], *, indexes: bool
) -> tuple[float, float, dict[str, float]]:
    """Seconds and backend CPU seconds to load ``tables`` into a fresh copy of the prepared
    target database, and the seconds per table."""
    per_table: dict[str, float] = {}
    with database(server, PASS_DB, template=TARGET_DB) as url, psycopg.connect(url) as conn:
        if not indexes:
            for name in secondary_indexes(conn, tables):
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.commit()
        conn.execute("CHECKPOINT")
        conn.commit()
        cpu = backend_cpu(conn)
        start = time.perf_counter()
        for table in tables:
            t = time.perf_counter()
            load(conn, table, data[table][0])
            per_table[table] = time.perf_counter() - t
        conn.commit()
        seconds = time.perf_counter() - start
        cpu = backend_cpu(conn) - cpu
    return seconds, cpu, per_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--target", type=int, default=17_000, help="rows/s the issue asks for")
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes per variant; the cheapest is reported"
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"command: {' '.join(sys.argv)}")
    with (
        tempfile.TemporaryDirectory(prefix="custmaster-floor-") as tmp,
        database(args.postgres, SOURCE_DB) as source,
        database(args.postgres, TARGET_DB) as target,
    ):
        work = Path(tmp)
        csv_path = work / "customers.csv"
        import_1m.write_csv(csv_path, args.rows, args.seed)
        print(f"importing {args.rows:,} customers through a real job into {SOURCE_DB} ...")
        result = import_1m.run_import(source, csv_path, work, 1000)
        print(
            f"  import: {result['total']:.1f} s = {args.rows / result['total']:,.0f} rows/s "
            f"(outcomes {result['job'].summary.get('final')})"
        )
        cli = str(Path(sys.executable).parent / "custmaster")
        subprocess.run(
            [cli, "db", "upgrade", "--database-url", target], check=True, capture_output=True
        )
        with psycopg.connect(source) as src, psycopg.connect(target) as dst:
            data = {t: dump(src, t) for t in tables_of(src)}
            # the job first (the other staging tables point at it)
            staging = tuple(
                sorted(
                    (t for t in data if t.startswith(STAGING_PREFIX)),
                    key=lambda t: t != "import_jobs",
                )
            )
            written = set(WRITTEN) | set(staging)
            for table, (rows, count) in data.items():  # reference data and users: untimed
                if table not in written and table != "alembic_version" and count:
                    dst.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                    load(dst, table, rows)
            dst.commit()
        customers = data["customers"][1]
        print(f"\nrows the import wrote for {customers:,} customers:")
        for table in (*WRITTEN, *staging):
            count = data.get(table, (b"", 0))[1]
            print(f"  {table:<24} {count:>10,}  ({count / max(customers, 1):.1f} per customer)")
        print()
        for label, tables, indexes in (
            ("final rows, all indexes", WRITTEN, True),
            ("final rows + the job's staging, all indexes", (*staging, *WRITTEN), True),
            ("final rows, no secondary indexes", WRITTEN, False),
            (
                "final rows but the match index (left to a later build), all indexes",
                tuple(t for t in WRITTEN if not t.startswith("match_")),
                True,
            ),
        ):
            # the best of --repeat passes: a floor, not an average
            seconds, cpu, per_table = min(
                (measure(args.postgres, data, tables, indexes=indexes) for _ in range(args.repeat)),
                key=lambda found: found[1],
            )
            ceiling = customers / cpu * cores if cpu else float("inf")
            print(
                f"{label}: {seconds:.2f} s = {customers / seconds:,.0f} customers/s on one "
                f"backend; backend CPU {1000 * cpu / customers:.3f} ms per customer; "
                f"all {cores} cores for PostgreSQL alone: {ceiling:,.0f} customers/s "
                f"(target {args.target:,})"
            )
            slowest = sorted(per_table.items(), key=lambda kv: -kv[1])[:4]
            print("  slowest: " + ", ".join(f"{t} {s:.2f} s" for t, s in slowest))


if __name__ == "__main__":
    main()
