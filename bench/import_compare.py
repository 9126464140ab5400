"""Import speed against a baseline checkout, in the same run, interleaved (A B A B ...).

The same CSV (``bench/import_1m.py``'s seeded rows) is imported through a real job
(validation, approval, writes) by this tree and by a baseline tree (a ``git worktree`` of
an earlier commit, e.g. ``git worktree add --detach /tmp/imp-base dcdbbc1``), each run in
its own process on a fresh scratch database, alternating. Prints rows/s of every run, the
median per tree and the ratio this/baseline (> 1: this tree is faster), by wall time and
by CPU time (the import process, its worker and its PostgreSQL backends: on a machine
shared with other jobs, CPU per row moves much less with the load than wall time). The
backends' CPU leaves out the migrations of the fresh database (run before the import by
``build_container``; a tree with more migrations is not charged for them), for both trees.
With ``--floor`` it also loads what this tree's last import wrote into a fresh database by
binary COPY (``bench/import_floor.py``'s database floor: no Python in the way) and prints
the import's ratio to that floor. No timed assertions; a loaded machine moves both trees alike.

    .venv/bin/python bench/import_compare.py --base /tmp/imp-base --rows 10000 --rounds 3
    .venv/bin/python bench/import_compare.py --base /tmp/imp-base --backend sqlite

With ``--backend sqlite`` each run imports into a fresh SQLite file of its own (CPU is
then the import process and its worker only: no server).

Databases ``bench_importspeed_a`` and ``bench_importspeed_b`` (and the floor's
``custmaster_bench_floor*``) on the server of ``--postgres`` are created and dropped;
the tests' database is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import import_1m  # noqa: E402  (the import benchmark's rows and job)
from _bench_util import recreate_database  # noqa: E402

#: run in a child process with the tree's own ``src`` and ``bench`` first on the path
CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {bench!r})
import import_1m
made = import_1m.build_container
before = {{}}
def build_container(*args, **kwargs):
    container = made(*args, **kwargs)
    before["server_cpu"] = import_1m.server_cpu({url!r})  # the migrations' share
    return container
import_1m.build_container = build_container
result = import_1m.run_import({url!r}, Path({csv!r}), Path({work!r}), {batch})
job = result.pop("job")
if result.get("server_cpu") is not None and before.get("server_cpu") is not None:
    result["server_cpu"] -= before["server_cpu"]
print("RESULT " + json.dumps({{"status": job.status.value, "final": job.summary.get("final"),
    **{{k: v for k, v in result.items() if isinstance(v, (int, float))}}}}))
"""


def _url(server: str, name: str) -> str:
    return f"{server.rstrip('/').rsplit('/', 1)[0]}/{name}"


def run_tree(tree: Path, url: str, csv_path: Path, work: Path, batch: int) -> dict[str, object]:
    code = CHILD.format(
        bench=str(tree / "bench"), url=url, csv=str(csv_path), work=str(work), batch=batch
    )
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])  # type: ignore[no-any-return]
    raise SystemExit(f"the import of {tree} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def floor_seconds(server: str, source_url: str) -> float:
    """Seconds PostgreSQL alone takes to load the rows the import wrote (final tables,
    all indexes: ``bench/import_floor.py``'s first variant), best of two passes."""
    import import_floor as floor

    cli = str(Path(sys.executable).parent / "custmaster")
    with floor.database(server, floor.TARGET_DB) as target:
        subprocess.run(
            [cli, "db", "upgrade", "--database-url", target],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
        )
        with psycopg.connect(source_url) as src, psycopg.connect(target) as dst:
            data = {t: floor.dump(src, t) for t in floor.tables_of(src)}
            written = set(floor.WRITTEN) | {t for t in data if t.startswith(floor.STAGING_PREFIX)}
            for table, (rows, count) in data.items():  # reference data and users: untimed
                if table not in written and table != "alembic_version" and count:
                    dst.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                    floor.load(dst, table, rows)
            dst.commit()
        tables = tuple(t for t in floor.WRITTEN if t in data)
        return min(floor.measure(server, data, tables, indexes=True)[0] for _ in range(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline tree")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--floor", action="store_true", help="also measure the database floor")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--db-prefix", default="bench_importspeed", help="scratch databases: PREFIX_a, PREFIX_b"
    )
    args = parser.parse_args()
    print(f"command: {' '.join(sys.argv)}")
    this = HERE.parent
    base = args.base.resolve()
    trees = {"this": this, "base": base}
    dbs = {"this": f"{args.db_prefix}_a", "base": f"{args.db_prefix}_b"}
    runs: dict[str, list[float]] = {"this": [], "base": []}
    cpu: dict[str, list[float]] = {"this": [], "base": []}
    with tempfile.TemporaryDirectory(prefix="custmaster-compare-") as tmp:
        work = Path(tmp)
        csv_path = work / "customers.csv"
        import_1m.write_csv(csv_path, args.rows, args.seed)
        try:
            for round_ in range(args.rounds):
                order = ("this", "base") if round_ % 2 == 0 else ("base", "this")
                for name in order:
                    run_work = work / f"{name}{round_}"
                    run_work.mkdir()
                    if args.backend == "sqlite":
                        url = f"sqlite:///{run_work / 'import.db'}"
                    else:
                        recreate_database(args.postgres, dbs[name])
                        url = _url(args.postgres, dbs[name])
                    result = run_tree(trees[name], url, csv_path, run_work, args.batch_size)
                    total = float(result["total"])  # type: ignore[arg-type]
                    runs[name].append(args.rows / total)
                    used = 0.0
                    for k in ("cpu", "worker_cpu", "server_cpu"):
                        used += float(result.get(k) or 0.0)  # type: ignore[arg-type]
                    cpu[name].append(1000 * used / args.rows)
                    print(
                        f"  round {round_ + 1} {name:<4}: {args.rows / total:7,.0f} rows/s, "
                        f"CPU {cpu[name][-1]:.3f} ms/row "
                        f"(python {1000 * float(result['cpu']) / args.rows:.3f}, "  # type: ignore[arg-type]
                        f"postgres {1000 * float(result.get('server_cpu') or 0) / args.rows:.3f}) "  # type: ignore[arg-type]
                        f"(validate {float(result['validate']):.1f} s, "  # type: ignore[arg-type]
                        f"import {float(result['import']):.1f} s; "  # type: ignore[arg-type]
                        f"outcomes {result['final']})",
                        flush=True,
                    )
            mine, theirs = statistics.median(runs["this"]), statistics.median(runs["base"])
            print(f"\nthis tree ({this}): median {mine:,.0f} rows/s over {args.rounds} runs")
            print(f"baseline ({base}): median {theirs:,.0f} rows/s over {args.rounds} runs")
            pairs = [a / b for a, b in zip(runs["this"], runs["base"], strict=True)]
            print(
                f"ratio this/baseline: {mine / theirs:.3f} (medians); per round "
                + ", ".join(f"{p:.3f}" for p in pairs)
            )
            mine_cpu, theirs_cpu = statistics.median(cpu["this"]), statistics.median(cpu["base"])
            print(
                f"CPU per row: this {mine_cpu:.3f} ms, baseline {theirs_cpu:.3f} ms; ratio "
                f"baseline/this (> 1: this tree is cheaper): {theirs_cpu / mine_cpu:.3f}; per "
                "round "
                + ", ".join(f"{b / a:.3f}" for a, b in zip(cpu["this"], cpu["base"], strict=True))
            )
            if args.floor and args.backend == "postgres":
                seconds = floor_seconds(args.postgres, _url(args.postgres, dbs["this"]))
                print(
                    f"database floor (COPY of the rows this tree's last import wrote, all "
                    f"indexes): {args.rows / seconds:,.0f} customers/s; import/floor = "
                    f"{mine / (args.rows / seconds):.3f}"
                )
        finally:
            if args.backend == "postgres":
                for name in dbs.values():
                    recreate_database(args.postgres, name, drop_only=True)


if __name__ == "__main__":
    main()
