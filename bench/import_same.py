"""Does an import write the same as a baseline tree's? Every table, compared.

The same seeded rows (``bench/import_1m.py``) are imported through a real job by this
tree and by a baseline tree (a ``git worktree`` of an earlier commit), each in its own
process on a fresh scratch database, with the ids drawn from one seeded generator and the
clock stubbed (a microsecond a call), so that two trees that do the same draw the same ids
and times. Every table is then read back (JSON documents decoded, whatever their column
type) and compared row by row, order aside. What is not the import's is left out: the
upload's temporary path, the outbox's transaction ids and rule sets' creation times (the
server's and the wall clock's); ``customer_quality_counts`` holds per-statement delta rows
and is compared by their sums. Prints the tables that differ; exits 1 when one does.

    .venv/bin/python bench/import_same.py --base /tmp/imp-base --rows 3000
    .venv/bin/python bench/import_same.py --base /tmp/imp-base --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from _bench_util import recreate_database

HERE = Path(__file__).resolve().parent

#: run in a child process with the tree's own ``src`` and ``bench`` first on the path
CHILD = """
import datetime as dt, json, random, sys, uuid
from pathlib import Path
_rng = random.Random(20261206)
uuid.uuid4 = lambda: uuid.UUID(int=_rng.getrandbits(128), version=4)
import custmaster.services.recording as recording
_now = [dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)]
def _tick():
    _now[0] += dt.timedelta(microseconds=1)
    return _now[0]
recording.utcnow = _tick
import sqlalchemy as sa
sys.path.insert(0, {bench!r})
import import_1m
result = import_1m.run_import({url!r}, Path({csv!r}), Path({work!r}), 1000)
def plain(value):
    if isinstance(value, str) and value[:1] in "[{{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (dt.datetime, dt.date, uuid.UUID)) or type(value).__name__ == "Decimal":
        return str(value)
    return value
engine = sa.create_engine({url!r}.replace("postgresql://", "postgresql+psycopg://"))
meta = sa.MetaData()
meta.reflect(engine)
tables = {{}}
with engine.connect() as connection:
    for name, table in meta.tables.items():
        rows = [[plain(v) for v in row] for row in connection.execute(sa.select(table))]
        tables[name] = {{"columns": [c.name for c in table.c], "rows": rows}}
engine.dispose()
Path({out!r}).write_text(json.dumps(tables, default=str))
print("RESULT", json.dumps(result["job"].summary.get("final")))
"""

#: (table, column) not written by the import itself
IGNORED = {
    ("import_jobs", "files"),
    ("outbox", "txid"),
    ("profile_rule_sets", "created_at"),
}


def dump(tree: Path, url: str, csv_path: Path, work: Path) -> dict[str, Any]:
    out = work / "tables.json"
    code = CHILD.format(
        bench=str(tree / "bench"), url=url, csv=str(csv_path), work=str(work), out=str(out)
    )
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the import of {tree} failed:\n{done.stderr[-4000:]}")
    print(f"  {tree}: {done.stdout.strip().splitlines()[-1]}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def _rows(name: str, table: dict[str, Any]) -> list[str]:
    keep = [i for i, c in enumerate(table["columns"]) if (name, c) not in IGNORED]
    return sorted(json.dumps([row[i] for i in keep], sort_keys=True) for row in table["rows"])


def _sums(table: dict[str, Any]) -> dict[str, list[int]]:
    """customer_quality_counts: the delta rows summed by (owning_entity, status)."""
    sums: dict[str, list[int]] = defaultdict(list)
    for row in table["rows"]:
        key, counts = json.dumps(row[:2]), row[2:]
        sums[key] = [a + b for a, b in zip(sums[key], counts, strict=True)] if sums[key] else counts
    return dict(sums)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline tree")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--db-prefix", default="bench_import_same")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import import_1m

    trees = {"this": HERE.parent, "base": args.base.resolve()}
    found: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="custmaster-same-") as tmp:
        csv_path = Path(tmp) / "customers.csv"
        import_1m.write_csv(csv_path, args.rows, args.seed)
        for name, tree in trees.items():
            work = Path(tmp) / name
            work.mkdir()
            database = f"{args.db_prefix}_{name}"
            if args.backend == "sqlite":
                url = f"sqlite:///{work / 'import.db'}"
            else:
                recreate_database(args.postgres, database)
                url = f"{args.postgres.rsplit('/', 1)[0]}/{database}"
            try:
                found[name] = dump(tree, url, csv_path, work)
            finally:
                if args.backend == "postgres":
                    recreate_database(args.postgres, database, drop_only=True)
    this, base = found["this"], found["base"]
    differ = []
    for table in sorted(set(this) | set(base)):
        if table == "alembic_version":
            continue
        mine, theirs = this.get(table), base.get(table)
        if mine is None or theirs is None:
            differ.append(f"{table}: only in {'base' if mine is None else 'this'}")
        elif table == "customer_quality_counts":
            if _sums(mine) != _sums(theirs):
                differ.append(f"{table}: the sums differ")
        elif _rows(table, mine) != _rows(table, theirs):
            differ.append(f"{table}: {len(mine['rows'])} rows here, {len(theirs['rows'])} there")
    rows = sum(len(t["rows"]) for name, t in this.items() if name != "alembic_version")
    print(f"{len(this) - 1} tables, {rows:,} rows compared ({args.backend})")
    for line in differ:
        print("DIFFERS", line)
    if differ:
        raise SystemExit(1)
    print("the same")


if __name__ == "__main__":
    main()
