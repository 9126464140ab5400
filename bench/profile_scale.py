"""The profile's batch jobs at scale: ``custmaster profile rebuild`` and ``custmaster
profile affinity`` over many customers and order lines, each beside the database alone
doing the same reads/writes.

    createdb -h 127.0.0.1 -U postgres bench_scale_orders
    PYTHONPATH=src:. nice python -m bench.profile_scale \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_scale_orders \\
        --customers 1000000 --lines 20000000 [--lines-per-order 5] \\
        [--stages generate,baseline,rebuild,check,affinity]  # in this order; e.g.
        # baseline,rebuild,vacuum,baseline,check,baseline,again (a stage may come again)
    dropdb -h 127.0.0.1 -U postgres bench_scale_orders

1. **generate** (set-based, ``generate_series`` in SQL; skipped when the database already
   holds exactly that data, so a second run reuses it): N customers (as
   ``bench/segment_query.py``), then ``--lines`` order lines in ``--lines-per-order``
   lines an order (``activity_order_lines``: customers in 50 taste clusters, each
   preferring its own 400 of 20,000 products with a skewed popularity, one order date in
   the last 24 months) and the ``order.placed`` events carrying them
   (``activity_events``, the CloudEvents envelopes intake would have stored).
2. **baseline**: the database alone writing the aggregates the rebuild writes for these
   events (sales by customer, entity, month, product group and currency; order counts
   and last order by month) with one ``CREATE UNLOGGED TABLE ... AS SELECT ... GROUP BY``
   each.
3. **rebuild**: the real command, ``custmaster profile rebuild`` in a child process
   (the first rebuild of freshly loaded events: everything is "drift" and is written).
   **vacuum**: ``VACUUM ANALYZE`` of the tables the rebuild wrote (what autovacuum does
   soon after; a ``check`` straight after a first rebuild also sets every row's hint bits).
4. **check**: ``custmaster profile rebuild --check`` right after: must report 0 drifted
   customers (exit code 0).
   **again**: ``custmaster profile rebuild`` on that consistent state (writes nothing).
   **reads**: ``GET /api/v1/customers/{id}/profile`` of ``--reads`` random customers beside
   the database alone reading the same rows (``bench.profile.reads``: the read rows by
   primary key and the view's one statement, A B A B), on the data the stages above left.
5. **affinity**: ``custmaster profile affinity`` in a child process (wall time, and its
   CPU time and peak resident memory by ``getrusage`` in the child), then the database
   alone doing the batch's reads (customers and products numbered, every line sent as
   numbers by ``COPY ... TO STDOUT (FORMAT binary)``, as the batch reads them, the bytes
   thrown away) and its writes (the same number of result rows generated in SQL into a
   fresh table, its primary key and foreign key built).

Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.profile import reads
from sqlalchemy import create_engine, text

from custmaster.bootstrap import build_container
from custmaster.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = [
    "INSERT INTO legal_entities (code, name, country, currency, created_at) VALUES "
    "('US01','US','US','USD',now()),('DE01','DE','DE','EUR',now()),('GB01','GB','GB','GBP',now()) "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO industries (code, name, created_at) SELECT c, c, now() FROM "
    "unnest(ARRAY['automotive','ind1','ind2','ind3','ind4','ind5','ind6','ind7','ind8','ind9']) c "
    "ON CONFLICT DO NOTHING",
    """INSERT INTO customers (id, number, kind, name, name_key, email, email_key, industry,
        account_tier, status, owning_entity, country, metadata, dimensions, version,
        created_at, updated_at)
       SELECT md5('bench' || g)::uuid, 'B' || lpad(g::text, 8, '0'), 'organization',
        'Bench ' || g, 'bench ' || g, 'ap' || g || '@bench.example', 'ap' || g || '@bench.example',
        CASE WHEN g % 10 = 0 THEN 'automotive' ELSE 'ind' || (g % 10) END,
        CASE WHEN g % 20 = 0 THEN 'strategic' END, 'active',
        (ARRAY['US01','DE01','GB01'])[1 + g % 3], 'DE', '{}', '{}', 1, now(), now()
       FROM generate_series(1, :n) g""",
]

#: order lines: order o (0-based) belongs to customer 1 + o % N (so every customer has
#: orders); 80 % of the lines from the customer's taste cluster (50 clusters of 400
#: products, popularity skewed by random()^3), the rest from all 20,000 products
LINES = """
INSERT INTO activity_order_lines (event_id, line_no, customer_id, legal_entity, order_id,
    product, product_group, quantity, amount, currency, order_date)
SELECT 'bench-order-' || o, l, md5('bench' || c)::uuid, e, 'SO-' || o,
    'P' || p, 'G' || (p / 400), q, round((q * (10 + (p % 97) * 5 + random() * 20))::numeric, 2),
    (ARRAY['USD','EUR','GBP'])[1 + c % 3], d
FROM (
    SELECT o, 1 + o % :n AS c, (ARRAY['US01','DE01','GB01'])[1 + (1 + o % :n) % 3] AS e,
        current_date - 1 - (hashint4(o) & 1023) % 720 AS d
    FROM generate_series(0, :orders - 1) o
) orders,
LATERAL (
    SELECT l, CASE WHEN random() < 0.8
                   THEN (c % 50) * 400 + floor(400 * power(random(), 3))::int
                   ELSE floor(random() * 20000)::int END AS p,
           1 + floor(random() * 12)::int AS q
    FROM generate_series(0, :per - 1) l
    WHERE o >= 0  -- correlated: a fresh draw per order
) lines
"""

#: the events carrying those lines, as intake stores them (the envelope as received)
EVENTS = """
INSERT INTO activity_events (event_id, kind, source, customer_id, legal_entity, occurred_on,
    event_time, received_at, envelope)
SELECT event_id, 'order.placed', '/bench/erp', customer_id, legal_entity, order_date,
    order_date + time '09:00' AT TIME ZONE 'UTC', now(),
    jsonb_build_object(
        'specversion', '1.0', 'id', event_id, 'source', '/bench/erp',
        'type', 'custmaster.activity.order.placed',
        'time', to_char(order_date, 'YYYY-MM-DD') || 'T09:00:00+00:00',
        'data', jsonb_build_object(
            'customer_id', customer_id::text, 'legal_entity', legal_entity,
            'order_id', order_id, 'order_date', to_char(order_date, 'YYYY-MM-DD'),
            'currency', currency, 'lines', lines))
FROM (
    SELECT event_id, min(customer_id::text)::uuid AS customer_id,
        min(legal_entity) AS legal_entity, min(order_id) AS order_id,
        min(order_date) AS order_date, min(currency) AS currency,
        jsonb_agg(jsonb_build_object('product', product, 'product_group', product_group,
            'quantity', quantity::int, 'amount', amount::numeric) ORDER BY line_no) AS lines
    FROM activity_order_lines WHERE event_id LIKE 'bench-order-%'
    GROUP BY event_id
) o
"""

BASELINE = [
    "DROP TABLE IF EXISTS bench_base_sales, bench_base_counts",
    """CREATE UNLOGGED TABLE bench_base_sales AS
       SELECT customer_id, legal_entity, date_trunc('month', order_date::timestamp)::date AS month,
           product_group, currency, sum(round(amount * 10000))::bigint AS amount,
           sum(round(quantity * 1000))::bigint AS quantity
       FROM activity_order_lines GROUP BY 1, 2, 3, 4, 5""",
    """CREATE UNLOGGED TABLE bench_base_counts AS
       SELECT customer_id, legal_entity, date_trunc('month', occurred_on::timestamp)::date AS month,
           count(*) AS orders, max(occurred_on) AS last_order
       FROM activity_events WHERE kind = 'order.placed' GROUP BY 1, 2, 3""",
    "DROP TABLE bench_base_sales, bench_base_counts",
]

#: what the batch reads from the database (``SqlOrderLineSource.spend_matrix``): the
#: customers and products numbered, then every line as two numbers and an amount
AFFINITY_READ = [
    "SET LOCAL work_mem = '256MB'",
    "CREATE TEMPORARY TABLE affinity_customers AS SELECT customer_id, "
    "row_number() OVER (ORDER BY customer_id) - 1 AS i "
    "FROM (SELECT DISTINCT customer_id FROM activity_order_lines) d",
    "CREATE TEMPORARY TABLE affinity_products AS SELECT product, grp, "
    "row_number() OVER (ORDER BY product) - 1 AS i FROM (SELECT product, "
    "min(product_group) AS grp FROM activity_order_lines GROUP BY product) d",
]
AFFINITY_LINES = (
    "SELECT c.i, p.i, CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END "
    "FROM activity_order_lines l JOIN affinity_customers c ON c.customer_id = l.customer_id "
    "JOIN affinity_products p ON p.product = l.product"
)


def log(message: str) -> None:
    print(message, flush=True)


def generate(url: str, customers: int, lines: int, per_order: int) -> None:
    engine = create_engine(url)
    orders = lines // per_order
    with engine.connect() as connection:
        have_customers = connection.execute(
            text("SELECT count(*) FROM customers WHERE number LIKE 'B%'")
        ).scalar_one()
        have_lines = connection.execute(
            text("SELECT count(*) FROM activity_order_lines WHERE event_id LIKE 'bench-order-%'")
        ).scalar_one()
    if have_customers == customers and have_lines == orders * per_order:
        log(f"generate: reusing {customers:,} customers and {have_lines:,} order lines")
        engine.dispose()
        return
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        for table in ("activity_order_lines", "activity_events", *AGGREGATE_NAMES):
            connection.execute(text(f"TRUNCATE {table}"))
        connection.execute(text("TRUNCATE profile_features, profile_scores, profile_wide"))
        if have_customers != customers:
            connection.execute(text("DELETE FROM customers WHERE number LIKE 'B%'"))
            for statement in CUSTOMERS:
                connection.execute(text(statement), {"n": customers})
            log(f"generate: {customers:,} customers in {time.perf_counter() - started:.0f} s")
        # the index maintenance of 20M rows costs more than building the index after
        connection.execute(text("DROP INDEX IF EXISTS ix_activity_order_lines_customer"))
        connection.execute(text("DROP INDEX IF EXISTS ix_activity_order_lines_product"))
        connection.execute(text("DROP INDEX IF EXISTS ix_activity_events_customer"))
        connection.execute(text("SELECT setseed(0.19)"))
        step = time.perf_counter()
        connection.execute(text(LINES), {"n": customers, "orders": orders, "per": per_order})
        log(f"generate: {orders * per_order:,} order lines in {time.perf_counter() - step:.0f} s")
        step = time.perf_counter()
        connection.execute(text(EVENTS))
        log(f"generate: {orders:,} order events in {time.perf_counter() - step:.0f} s")
        step = time.perf_counter()
        connection.execute(
            text(
                "CREATE INDEX ix_activity_order_lines_customer "
                "ON activity_order_lines (customer_id)"
            )
        )
        connection.execute(
            text("CREATE INDEX ix_activity_order_lines_product ON activity_order_lines (product)")
        )
        connection.execute(
            text("CREATE INDEX ix_activity_events_customer ON activity_events (customer_id)")
        )
        log(f"generate: indexes in {time.perf_counter() - step:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("customers", "activity_order_lines", "activity_events"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    engine.dispose()
    log(f"generate: done in {time.perf_counter() - started:.0f} s")


AGGREGATE_NAMES = (
    "activity_sales",
    "activity_counts",
    "activity_documents",
    "activity_payments",
    "activity_cases",
    "activity_contracts",
    "activity_touches",
)


def baseline(url: str) -> float:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '64MB'"))
        for statement in BASELINE:
            connection.execute(text(statement))
    engine.dispose()
    return time.perf_counter() - started


#: the tables a first rebuild rewrites (``vacuum``: what autovacuum does after it)
VACUUMED = (*AGGREGATE_NAMES, "profile_features", "profile_scores", "profile_wide")


def vacuum(url: str) -> float:
    """``VACUUM ANALYZE`` of the tables a first rebuild wrote: until then the first reads
    of its rows set their hint bits, which a ``check`` right after would pay for."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(text(f"VACUUM ANALYZE {', '.join(VACUUMED)}"))
    engine.dispose()
    return time.perf_counter() - started


def profile_reads(url: str, count: int) -> dict[str, float]:
    """``bench.profile.reads`` over ``count`` random customers of the database, read by a
    viewer user created for the run."""
    container = build_container(Settings(database_url=url))
    try:
        with container.engine.connect() as connection:
            ids = list(
                connection.execute(
                    text("SELECT id FROM customers ORDER BY random() LIMIT :n"), {"n": count}
                ).scalars()
            )
        return reads(container, count, ids=ids, reader=f"bench-reader-{secrets.token_hex(3)}")
    finally:
        container.engine.dispose()


#: runs the CLI and reports its own peak resident memory on exit (stderr)
_WRAPPER = (
    "import atexit, resource, sys\n"
    "def report():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    print('peak-rss-kib', usage.ru_maxrss, file=sys.stderr)\n"
    "    print('cpu-seconds', usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
    "atexit.register(report)\n"
    "from custmaster.cli.app import main\n"
    "sys.argv = ['custmaster', *sys.argv[1:]]\n"
    "main()\n"
)


def stages_of(output: str) -> str:
    """The rebuild report's stage times (its JSON on stdout), as one line."""
    start = output.find("{")
    try:
        report = json.loads(output[start:]) if start >= 0 else {}
    except ValueError:
        return ""
    found = report.get("stages") or {}
    drifted = report.get("drifted_customers")
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in found.items())
    return f"stages: {parts}; drifted customers: {drifted:,}" if found else ""


def child(args: list[str], url: str) -> tuple[float, int, float, str]:
    """Run ``custmaster <args>`` in a child process: seconds, exit code, its peak resident
    memory in MiB (``getrusage`` in the child) and the last lines of its output (the
    rebuild's stage times first when it printed a report; with the child's CPU
    seconds)."""
    env = {**os.environ, "CUSTMASTER_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args, "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    output = (done.stdout + done.stderr).strip().splitlines()
    peak = [int(line.split()[1]) for line in output if line.startswith("peak-rss-kib")]
    kept = [line for line in output if not line.startswith(("peak-rss-kib", "rebuild: "))]
    kept = [
        f"CPU time of the command's process: {line.split()[1]} s"
        if line.startswith("cpu-seconds")
        else line
        for line in kept
    ]
    tail = "\n".join(kept[-14:])
    stages = stages_of(done.stdout)
    return seconds, done.returncode, (peak[-1] if peak else 0) / 1024, stages + "\n" + tail


def affinity_read(url: str) -> tuple[float, int]:
    """The database alone doing the batch's reads (the lines sent to the client by
    binary COPY, thrown away): seconds and bytes."""
    engine = create_engine(url)
    started = time.perf_counter()
    size = 0
    with engine.connect() as connection:
        for statement in AFFINITY_READ:
            connection.exec_driver_sql(statement)
        raw = connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY ({AFFINITY_LINES}) TO STDOUT (FORMAT binary)") as copy,
        ):
            for data in copy:
                size += len(data)
        connection.rollback()
    engine.dispose()
    return time.perf_counter() - started, size


#: the batch's writes without the batch: as many rows as it stored (10 a customer at the
#: bench's sizes), made up in SQL, into a fresh table, then its keys
AFFINITY_WRITE = [
    "CREATE TEMPORARY TABLE bench_affinity_ids AS SELECT id FROM customers",
    "CREATE TABLE bench_affinity_write (LIKE customer_affinity INCLUDING DEFAULTS)",
    "INSERT INTO bench_affinity_write SELECT c.id, k.kind, r, 'P' || (r * 37 % 20000), "
    "'G' || r, r * 1.5, now() FROM bench_affinity_ids c, "
    "(VALUES ('over'), ('similar')) k (kind), generate_series(1, :per) r "
    "LIMIT :rows",
    "ALTER TABLE bench_affinity_write ADD PRIMARY KEY (customer_id, kind, rank)",
    "ALTER TABLE bench_affinity_write ADD FOREIGN KEY (customer_id) REFERENCES customers (id) "
    "ON DELETE CASCADE",
]


def affinity_write(url: str, rows: int) -> float:
    """The database alone doing the batch's writes (``AFFINITY_WRITE``, rolled back)."""
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.connect() as connection:
        customers = connection.execute(text("SELECT count(*) FROM customers")).scalar_one()
        per = max(1, -(-rows // max(2 * customers, 1)))
        for statement in AFFINITY_WRITE:
            connection.execute(text(statement), {"per": per, "rows": rows})
        connection.rollback()
    engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--lines-per-order", type=int, default=5)
    parser.add_argument("--stages", default="generate,baseline,rebuild,check,affinity")
    parser.add_argument("--chunk", type=int, default=0, help="rebuild --chunk (default: its own)")
    parser.add_argument("--reads", type=int, default=300, help="profiles read by `reads`")
    args = parser.parse_args()
    url = args.database_url
    stages = args.stages.split(",")
    build_container(Settings(database_url=url), migrate=True).engine.dispose()
    chunk = ["--chunk", str(args.chunk)] if args.chunk else []
    for stage in stages:  # in the order given; a stage may come more than once
        run_stage(stage, url, args, chunk)


def run_stage(stage: str, url: str, args: argparse.Namespace, chunk: list[str]) -> None:
    if stage == "generate":
        generate(url, args.customers, args.lines, args.lines_per_order)
    if stage == "baseline":
        seconds = baseline(url)
        log(
            f"baseline: the aggregate writes by CREATE TABLE ... AS SELECT ... GROUP BY: "
            f"{seconds:.1f} s"
        )
    if stage in ("rebuild", "again"):
        seconds, code, peak, tail = child(["profile", "rebuild", *chunk], url)
        log(f"{stage}: {seconds:.1f} s (exit {code}; peak RSS {peak:.0f} MiB)")
        first, _, rest = tail.partition("\n")
        log("  " + first)
        log("  " + rest.replace("\n", "\n  ")[-1500:])
    if stage == "vacuum":
        seconds = vacuum(url)
        log(f"vacuum: VACUUM ANALYZE of the stored aggregates and profile rows: {seconds:.1f} s")
    if stage == "check":
        seconds, code, peak, tail = child(["profile", "rebuild", "--check"], url)
        verdict = "no drift" if code == 0 else "DRIFT"
        log(f"rebuild --check: {seconds:.1f} s (exit {code}: {verdict})")
        first, _, rest = tail.partition("\n")
        log("  " + first)
        if code:
            log("  " + rest.replace("\n", "\n  ")[-1500:])
    if stage == "reads":
        figures = profile_reads(url, args.reads)
        log(
            f"reads: GET /api/v1/customers/{{id}}/profile of {args.reads} customers: "
            f"p50 {figures['profile_read_p50_ms']} ms, p95 {figures['profile_read_p95_ms']} ms"
        )
        log(
            f"baseline: the database alone, the view's statement p50 "
            f"{figures['baseline_db_snapshot_statement_p50_ms']} ms, p95 "
            f"{figures['baseline_db_snapshot_statement_p95_ms']} ms; the read rows by "
            f"primary key p95 {figures['baseline_db_read_rows_by_pk_p95_ms']} ms"
        )
    if stage == "affinity":
        seconds, code, peak, tail = child(["profile", "affinity"], url)
        log(f"affinity: {seconds:.1f} s (exit {code}; peak RSS {peak:.0f} MiB)")
        log("  " + tail.replace("\n", "\n  ")[-800:])
        read_seconds, size = affinity_read(url)
        log(
            f"baseline: the database alone doing the batch's reads (the lines numbered and "
            f"sent by binary COPY, {size / 2**20:,.0f} MiB): {read_seconds:.1f} s"
        )
        stored = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) results", tail)]
        if stored:
            write_seconds = affinity_write(url, stored[-1])
            log(
                f"baseline: the database alone doing the batch's writes ({stored[-1]:,} rows "
                f"into a fresh table, its keys built): {write_seconds:.1f} s"
            )
            log(
                f"ratio: the batch against the database alone (reads + writes): "
                f"{seconds / (read_seconds + write_seconds):.2f}"
            )


if __name__ == "__main__":
    main()
