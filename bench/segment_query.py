"""Segment queries over many profiled customers, and the affinity batch.

    createdb -h 127.0.0.1 -U postgres custmaster_bench_rules
    PYTHONPATH=src python bench/segment_query.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/custmaster_bench_rules \\
        [--customers 1000000] [--runs 200] [--affinity-customers 100000]
    dropdb -h 127.0.0.1 -U postgres custmaster_bench_rules

1. Loads N customers (PostgreSQL, set-based ``generate_series``) with a profile row over
   every entity (``*``) and one for the owning entity, and their scores (tier by the
   shipped tier rules, computed in SQL for the bulk; ``--rescore`` customers are scored by
   the real ``rescore`` to report its cost).
2. Builds the read rows (``profile_wide``) from them with the writers' set-based refresh.
3. Asks the seed question ``tier == "strategic" && industry == "automotive" &&
   order_frequency_trend < 0 && open_quality_complaints > 0`` and two others through the
   HTTP API (a ``custmaster serve`` process, one worker; page of 50 and the total) and, as
   the same run's baseline, runs the very statements the API runs (the repository's
   ``page``: the page, and the estimate and capped count of the total) directly on the
   database, alternately (A B A B). Prints p50/p95 of both and the ratio,
   and the seed question over the three tables of before (``--before-runs`` times).
4. Runs the affinity batch over synthetic order lines (customers in taste clusters, Zipf
   product popularity) in a child process: time, peak resident memory and the hit rate@5
   of the ``similar`` suggestions on a held-out product against the popularity baseline.

Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from bench._bench_util import percentile, running_server, serve_command
from sqlalchemy import create_engine, text

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.expressions import Type, check
from custmaster.domain.profile_schema import QUERY_SCHEMA
from custmaster.persistence.profile_wide import refresh_all
from custmaster.services.auth import add_user
from custmaster.services.profile.affinity import AffinityOptions, OrderLine, affinity
from custmaster.services.profile.rule_ports import QueryScope
from custmaster.services.profile.scoring import rescore
from custmaster.services.profile.segments import EXACT_TOTAL_UP_TO

QUESTION = (
    'tier == "strategic" && industry == "automotive" && order_frequency_trend < 0 '
    "&& open_quality_complaints > 0"
)
QUESTIONS = [
    QUESTION,
    'industry == "automotive" && owning_entity == "DE01"',  # master fields only
    'churn_band == "high" || (health_score < 60 && revenue_12m > 1500000.0)',
]

LOAD = [
    "INSERT INTO legal_entities (code, name, country, currency, created_at) VALUES "
    "('US01','US','US','USD',now()),('DE01','DE','DE','EUR',now()),('GB01','GB','GB','GBP',now()) "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO industries (code, name, created_at) SELECT c, c, now() FROM "
    "unnest(ARRAY['automotive','ind1','ind2','ind3','ind4','ind5','ind6','ind7','ind8','ind9']) c "
    "ON CONFLICT DO NOTHING",
    "SELECT setseed(0.19)",
    """INSERT INTO customers (id, number, kind, name, name_key, email, email_key, industry,
        account_tier, status, owning_entity, country, metadata, dimensions, version,
        created_at, updated_at)
       SELECT md5('bench' || g)::uuid, 'B' || lpad(g::text, 8, '0'), 'organization',
        'Bench ' || g, 'bench ' || g, 'ap' || g || '@bench.example', 'ap' || g || '@bench.example',
        CASE WHEN g % 10 = 0 THEN 'automotive' ELSE 'ind' || (g % 10) END,
        CASE WHEN g % 20 = 0 THEN 'strategic' END, 'active',
        (ARRAY['US01','DE01','GB01'])[1 + g % 3], 'DE', '{}', '{}', 1, now(), now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO profile_features (customer_id, legal_entity, revenue_12m, revenue_prev_12m,
        revenue_yoy, orders_12m, order_frequency, order_frequency_trend, last_order_date,
        returns_12m, open_items_amount, overdue_amount, overdue_over_90, dso, avg_days_late,
        credit_limit, credit_exposure, exposure_over_limit, open_service_cases,
        open_quality_complaints, oldest_open_complaint_date, visits_90d,
        contracts_renewal_90d, updated_at)
       SELECT id, e, r, r * 0.9, 0.1, (r / 5000)::bigint, 2.0,
        round((random() * 4 - 2)::numeric, 2),
        current_date - (random() * 200)::int, 0, r * 0.1, r * 0.02, 0, 35, random() * 20,
        100000, r * 0.1, random() < 0.03, (random() * 3)::int,
        CASE WHEN random() < 0.05 THEN 1 + (random() * 2)::int ELSE 0 END,
        current_date - 20, (random() * 4)::int, 0, now()
       FROM (SELECT id, owning_entity, power(random(), 3) * 2000000 AS r FROM customers
             WHERE number LIKE 'B%') c, LATERAL (VALUES ('*'), (c.owning_entity)) v(e)""",
    """INSERT INTO profile_scores (customer_id, legal_entity, tier, health_score, health_band,
        health_trend, churn_risk, churn_band, segments, actions, explanation, rules_version,
        scored_at)
       SELECT f.customer_id, f.legal_entity,
        CASE WHEN c.account_tier = 'strategic' OR f.revenue_12m >= 1000000 THEN 'strategic'
             WHEN f.revenue_12m >= 250000 THEN 'key' ELSE 'standard' END,
        (random() * 100)::int, 'yellow', NULL, 0.2,
        CASE WHEN random() < 0.03 THEN 'high' WHEN random() < 0.2 THEN 'medium' ELSE 'low' END,
        '|', '|', '{}', 1, now()
       FROM profile_features f JOIN customers c ON c.id = f.customer_id""",
    "ANALYZE customers",
    "ANALYZE profile_features",
    "ANALYZE profile_scores",
]

#: the question as the three-table join of before the read rows (``profile_wide``), for
#: the record: the same page and total as the API's
BEFORE = [
    """SELECT c.id, c.number FROM customers c
       LEFT JOIN profile_features f ON f.customer_id = c.id AND f.legal_entity = '*'
       LEFT JOIN profile_scores s ON s.customer_id = c.id AND s.legal_entity = f.legal_entity
       WHERE s.tier = 'strategic' AND c.industry = 'automotive'
         AND f.order_frequency_trend < 0 AND f.open_quality_complaints > 0
       ORDER BY c.number LIMIT 51""",
    """SELECT count(*) FROM customers c
       LEFT JOIN profile_features f ON f.customer_id = c.id AND f.legal_entity = '*'
       LEFT JOIN profile_scores s ON s.customer_id = c.id AND s.legal_entity = f.legal_entity
       WHERE s.tier = 'strategic' AND c.industry = 'automotive'
         AND f.order_frequency_trend < 0 AND f.open_quality_complaints > 0""",
]


def load(url: str, n: int) -> float:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        exists = connection.execute(text("SELECT count(*) FROM customers WHERE number LIKE 'B%'"))
        found = exists.scalar_one()
        if found == n:
            return 0.0
        if found:  # another size: start over
            connection.execute(text("DELETE FROM customers WHERE number LIKE 'B%'"))
        for statement in LOAD:
            connection.execute(text(statement), {"n": n} if ":n" in statement else {})
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def build_read_rows(url: str) -> float:
    """The read rows (``profile_wide``) from the loaded features, customers and scores:
    the set-based refresh the writers run per customer, over everything."""
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        counts = [
            connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("profile_features", "profile_wide")
        ]
        if counts[0] == counts[1]:  # built by an earlier run
            return 0.0
        refresh_all(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE profile_wide"))
    engine.dispose()
    return time.perf_counter() - started


def before(url: str, runs: int) -> list[float]:
    """The question over the three tables of before (page + total), run directly."""
    engine = create_engine(url)
    laps = []
    with engine.connect() as connection:
        for _ in range(runs):
            started = time.perf_counter()
            for statement in BEFORE:
                connection.execute(text(statement)).all()
            laps.append(time.perf_counter() - started)
    engine.dispose()
    return laps


def stats(label: str, laps: list[float]) -> str:
    laps = sorted(laps)
    return (
        f"{label:<34} p50 {percentile(laps, 50) * 1000:7.1f} ms   "
        f"p95 {percentile(laps, 95) * 1000:7.1f} ms   (n={len(laps)})"
    )


def interleaved(
    url: str, question: str, runs: int, port: int
) -> tuple[list[float], list[float], int, int, bool]:
    """The question through the HTTP API (a ``custmaster serve`` process, one worker; page
    of 50 and the total) and, as the same run's baseline, the very statement the API runs
    (page and total in one) directly on the database: alternately, A B A B."""
    container = build_container(Settings(database_url=url), migrate=False)
    key = add_user(
        container.uow(),
        container.system_principal(),
        f"bench-{uuid.uuid4().hex[:8]}",
        roles=["viewer"],
    )
    tree = check(question, QUERY_SCHEMA, Type.BOOL)
    scope = QueryScope(frozenset({"*"}))
    command, _ = serve_command("127.0.0.1", port, 1)
    env = {
        "CUSTMASTER_DATABASE_URL": url,
        "CUSTMASTER_WORKERS": "1",
        "CUSTMASTER_HOST": "127.0.0.1",
        "CUSTMASTER_PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    direct: list[float] = []
    api: list[float] = []
    total = api_total = 0
    exact = True
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(command, env, f"{base}/health", Path(tmp) / "server.log"),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client,
        container.uow().read_only(autocommit=True) as uow,
    ):
        for i in range(runs + 5):
            started = time.perf_counter()
            found = uow.segments.page(tree, scope, date.today(), None, 51, EXACT_TOTAL_UP_TO)[1]
            total = found.value
            lap_direct = time.perf_counter() - started
            started = time.perf_counter()
            response = client.post(
                "/api/v1/customers/query", json={"expression": question, "limit": 50}
            )
            lap_api = time.perf_counter() - started
            response.raise_for_status()
            api_total = response.json()["total"]
            exact = response.json()["total_exact"]
            if i >= 5:  # warm-up
                direct.append(lap_direct)
                api.append(lap_api)
    container.engine.dispose()
    return direct, api, total, api_total, exact


def rescore_cost(url: str, count: int) -> float:
    container = build_container(Settings(database_url=url), migrate=False)
    with container.engine.connect() as connection:
        ids = [
            row[0]
            for row in connection.execute(
                text("SELECT customer_id FROM profile_features WHERE legal_entity = '*' LIMIT :n"),
                {"n": count},
            )
        ]
    started = time.perf_counter()
    for customer_id in ids:
        rescore(container.uow(), customer_id)
    container.engine.dispose()
    return (time.perf_counter() - started) / max(len(ids), 1) * 1000


# -- affinity ----------------------------------------------------------------------------


def synthetic_lines(
    customers: int, products: int, per_customer: int, seed: int = 7
) -> tuple[list[OrderLine], dict[uuid.UUID, str]]:
    """Order lines of customers in 50 taste clusters (each prefers its own products, with
    Zipf popularity) and one held-out product per customer for the hit rate."""
    rng = random.Random(seed)
    clusters = 50
    weights = [1 / (r + 1) for r in range(products // clusters)]
    cumulative = list(itertools.accumulate(weights))
    ranks = range(len(weights))
    lines: list[OrderLine] = []
    held: dict[uuid.UUID, str] = {}
    for _ in range(customers):
        customer = uuid.UUID(int=rng.getrandbits(128))
        cluster = rng.randrange(clusters)
        picks = set()
        for _ in range(per_customer):
            if rng.random() < 0.8:  # from its cluster
                rank = rng.choices(ranks, cum_weights=cumulative)[0]
                picks.add(cluster * len(weights) + rank)
            else:
                picks.add(rng.randrange(products))
        chosen = sorted(picks)
        hold = chosen.pop(rng.randrange(len(chosen))) if len(chosen) > 1 else None
        if hold is not None:
            held[customer] = f"P{hold}"
        for p in chosen:
            lines.append(
                OrderLine(
                    customer, f"P{p}", f"G{p // len(weights)}", 1, round(rng.uniform(10, 500), 2)
                )
            )
    return lines, held


def _affinity_child(args: tuple[int, int, int], out: Any) -> None:
    customers, products, per_customer = args
    lines, held = synthetic_lines(customers, products, per_customer)
    popular = [p for p, _ in Counter(line.product for line in lines).most_common(200)]
    bought: dict[uuid.UUID, set[str]] = {}
    for line in lines:
        bought.setdefault(line.customer_id, set()).add(line.product)
    started = time.perf_counter()
    hits = base_hits = tried = 0
    for customer_id, items in affinity(lines, AffinityOptions()):
        if customer_id in held:
            tried += 1
            similar = [i.product for i in items if i.kind == "similar"][:5]
            hits += held[customer_id] in similar
            top = [p for p in popular if p not in bought[customer_id]][:5]
            base_hits += held[customer_id] in top
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((seconds, peak, len(lines), hits / max(tried, 1), base_hits / max(tried, 1)))


def affinity_run(customers: int, products: int, per_customer: int) -> tuple[Any, ...]:
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_affinity_child, args=((customers, products, per_customer), queue)
    )
    child.start()
    result = queue.get()
    child.join()
    return tuple(result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--port", type=int, default=18719)
    parser.add_argument("--rescore", type=int, default=500)
    parser.add_argument("--before-runs", type=int, default=5)
    parser.add_argument("--affinity-customers", type=int, default=100_000)
    parser.add_argument("--affinity-products", type=int, default=20_000)
    parser.add_argument("--lines-per-customer", type=int, default=20)
    parser.add_argument("--affinity-only", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if args.affinity_only:
        report_affinity(args)
        return
    build_container(Settings(database_url=url), migrate=True).engine.dispose()
    seconds = load(url, args.customers)
    print(
        f"customers: {args.customers:,} with 2 profile rows each "
        f"(loaded in {seconds:.0f} s{'; reused' if not seconds else ''})"
    )
    print(f"read rows (profile_wide) built from them in {build_read_rows(url):.0f} s")
    for question in QUESTIONS:
        print(f"question: {question}")
        direct, api, total, api_total, exact = interleaved(url, question, args.runs, args.port)
        assert total == api_total, (total, api_total)
        print(f"  matches: {total:,}{'' if exact else ' (the estimate: more than counted)'}")
        print("  " + stats("baseline: the same SQL, direct", direct))
        print("  " + stats("through the API (HTTP, 1 worker)", api))
        ratio = statistics.median(api) / statistics.median(direct)
        print(f"  API / direct (p50): {ratio:.2f}")
    laps = before(url, args.before_runs)
    print(stats("before: the 3-table join, direct", laps) + " (seed question)")
    print(
        f"rescore (rules on one customer's rows, write, events): "
        f"{rescore_cost(url, args.rescore):.2f} ms per customer"
    )
    if args.affinity_customers:
        report_affinity(args)


def report_affinity(args: argparse.Namespace) -> None:
    if args.affinity_customers:
        secs, peak, lines, hit, base = affinity_run(
            args.affinity_customers, args.affinity_products, args.lines_per_customer
        )
        print(
            f"affinity: {args.affinity_customers:,} customers, {lines:,} order lines, "
            f"{args.affinity_products:,} products: {secs:.1f} s, peak RSS {peak:.0f} MiB "
            f"(the generator's lines included)"
        )
        print(
            f"affinity hit rate@5 on a held-out product: lift {hit:.1%} "
            f"vs popularity baseline {base:.1%}"
        )


if __name__ == "__main__":
    main()
