"""End-to-end match evaluation: the matcher as a user runs it, through the whole pipeline.

The project's generator (``_gen_companies.py``: duplicates with typos, moves, missing
e-mails, sister companies, same names in other cities, tax ids in several formats) is
split into one source file per system (an entity's records go to different systems, as
CRM, ERP, billing, marketing and a legacy system would each export the company once).
Every file goes through the real import path (upload, validation, approval, import, with
``on_duplicate=update``, incomplete rows kept, invalid fields dropped), then ``match run
--auto-merge`` (the batch matcher, auto-merging what it is sure of). The clusters are read
back from the source records (golden record -> the generator ids it holds; pending records
alone, a pending group as one) and scored against the truth, beside:

  * the matcher run on the same records directly (no import, no database), with the
    model the pipeline's run used, clustered at the auto-merge threshold: the pipeline
    should lose nothing against it;
  * Splink 5 on the same rows (``match_eval.run_splink``).

Prints pairwise/cluster precision, recall and F1 and the import speed. No assertions.

    python bench/match_eval.py --e2e                       # 5,000 records, PostgreSQL
    python bench/match_eval.py --e2e --records 2000 --train --diagnose
    python bench/match_eval_e2e.py --records 20000 --train --no-splink

``--diagnose`` counts where the pipeline lost the matcher's true pairs
(``_e2e_diagnose.py``). The database ``--database`` (default ``custmaster_bench_e2e``) on
``--postgres`` is created and dropped by the script (``--sqlite`` uses a temporary file
instead); the tests' database is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import select

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.permissions import Principal, Role
from custmaster.matching.batch import batch_match
from custmaster.matching.model import MatchModel
from custmaster.matching.record import MatchRecord, prepare
from custmaster.persistence.tables_sources import source_records
from custmaster.services.dedup.batch import run_batch
from custmaster.services.dedup.models import train_version
from custmaster.services.imports.jobs import FileStore, Upload, approve_job, run_job, submit_job
from custmaster.services.imports.store import ImportOptions, OnDuplicate
from custmaster.services.reference import create_reference
from custmaster.services.sample_data import reference_data

sys.path.insert(0, str(Path(__file__).parent))
from _e2e_diagnose import diagnose, owners, run_clusters
from _gen_companies import generate
from match_eval import cluster_pair_set, prf, run_splink, truth_pairs

SYSTEMS = ("sap", "salesforce", "netsuite", "hubspot", "legacy_erp")
COLUMNS = (
    "source_system",
    "source_id",
    "kind",
    "name",
    "email",
    "phone",
    "website",
    "tax_id",
    "billing_street",
    "billing_postal_code",
    "billing_city",
    "billing_country",
)
SUBMITTER = Principal("bench-steward", "Bench Steward", frozenset({Role.DATA_STEWARD}))
APPROVER = Principal("bench-manager", "Bench Manager", frozenset({Role.AR_MANAGER}))
MATCHER = Principal("bench-matcher", "Bench Matcher", frozenset({Role.ADMIN}))
Pair = tuple[str, str]


def source_files(
    n: int, seed: int, folder: Path
) -> tuple[list[Path], dict[str, str], list[dict[str, Any]]]:
    """The generator's records split into one custmaster-layout CSV per source system."""
    records, truth = generate(n, seed=seed)
    seen: dict[str, int] = {}
    by_system: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    for record in records:
        entity = truth[str(record["id"])]
        k = seen[entity] = seen.get(entity, -1) + 1
        system = SYSTEMS[(int(entity[1:]) + k) % len(SYSTEMS)]
        by_system[system].append(
            {
                "source_system": system,
                "source_id": record["id"],
                "kind": "organization",
                "name": record["name"],
                "email": record["email"],
                "phone": record["phone"],
                "website": record["website"],
                "tax_id": record["tax_id"],
                "billing_street": record["street"],
                "billing_postal_code": record["postal_code"],
                "billing_city": record["city"],
                "billing_country": record["country"],
            }
        )
    paths = []
    for system in SYSTEMS:
        path = folder / f"{system}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(by_system[system])
        paths.append(path)
    return paths, truth, records


@contextlib.contextmanager
def scratch_database(server: str, name: str) -> Iterator[str]:
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        base = server.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(drop)


def pipeline(
    url: str, paths: list[Path], work: Path, train: bool
) -> tuple[dict[str, Any], MatchModel | None]:
    """Import every file, ``match run --auto-merge``; the clusters read back."""
    container = build_container(Settings(database_url=url), migrate=True)
    admin = container.system_principal()
    uow = container.uow()
    with uow:
        reference = reference_data()
        for kind in (f.name for f in fields(reference)):
            for record in getattr(reference, kind):
                create_reference(uow, admin, kind, record)
    store = FileStore(work / "uploads")
    options = ImportOptions(
        on_duplicate=OnDuplicate.UPDATE,
        batch_size=1000,
        keep_incomplete_as_drafts=True,
        entity="US01",
    )
    figures: dict[str, Any] = {"import_rows": 0, "import_seconds": 0.0, "outcomes": {}}
    for path in paths:
        start = time.perf_counter()
        with path.open("rb") as handle:
            uploads = [Upload(path.name, handle)]
            job = submit_job(
                container.uow(),
                SUBMITTER,
                template="custmaster",
                uploads=uploads,
                options=options,
                files=store,
            )
        job = run_job(container.uow, job.id, container.service_settings, files=store)
        approve_job(container.uow(), APPROVER, job.id)
        job = run_job(container.uow, job.id, container.service_settings, files=store)
        seconds = time.perf_counter() - start
        rows = job.record_count or 0
        figures["import_rows"] += rows
        figures["import_seconds"] += seconds
        for outcome, count in (job.summary.get("final") or {}).items():
            figures["outcomes"][outcome] = figures["outcomes"].get(outcome, 0) + count
        print(
            f"  import {path.name:<16} {rows:>7,} rows {seconds:6.1f} s "
            f"({rows / seconds:,.0f} rows/s) {job.summary.get('final')}",
            flush=True,
        )
    figures["before"] = owners(container.engine)
    start = time.perf_counter()
    if train:  # match run --train: a new model version first (custmaster match train)
        train_version(container.uow, MATCHER)
    run = run_batch(container.uow, MATCHER, container.service_settings, auto_merge=True)
    figures["match_seconds"] = time.perf_counter() - start
    figures["match_stats"] = run.stats
    figures["run_clusters"] = run_clusters(container.uow)
    figures["after"] = owners(container.engine)
    with container.engine.connect() as connection:
        rows = connection.execute(
            select(
                source_records.c.source_id,
                source_records.c.golden_id,
                source_records.c.pending_group,
                source_records.c.id,
            )
        ).all()
    clusters: dict[str, list[str]] = {}
    for source_id, golden_id, group, record_id in rows:  # a pending group counts as one
        clusters.setdefault(str(golden_id or group or record_id), []).append(str(source_id))
    figures["clusters"] = list(clusters.values())
    figures["kept"] = len(rows)
    container.engine.dispose()
    return figures, run.model


def direct(records: list[dict[str, Any]], model: MatchModel) -> list[list[str]]:
    """The matcher on the same records, no pipeline: clusters at the auto-merge threshold."""
    recs = [MatchRecord(**{k: v for k, v in r.items() if v is not None}) for r in records]
    result = batch_match([prepare(r) for r in recs], model)
    return [list(c) for c in result.clusters]


def report(label: str, clusters: list[list[str]], gold: set[Pair]) -> None:
    p, r, f = prf(cluster_pair_set(clusters), gold)
    print(f"  {label:<34} clusters P={p:.4f} R={r:.4f} F1={f:.4f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261)
    parser.add_argument("--train", action="store_true", help="match run --train (EM)")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="count where the pipeline lost the matcher's true pairs",
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database",
        default="custmaster_bench_e2e",
        help="the scratch database's name (created and dropped)",
    )
    args = parser.parse_args(argv)
    print(f"command: match_eval_e2e {' '.join(argv if argv is not None else sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths, truth, records = source_files(args.records, args.seed, work)
        gold = truth_pairs(truth)
        print(
            f"== e2e: {len(records)} records in {len(paths)} source files, "
            f"{len(set(truth.values()))} entities, {len(gold)} true pairs",
            flush=True,
        )
        if args.sqlite:
            figures, model = pipeline(f"sqlite:///{work / 'e2e.db'}", paths, work, args.train)
        else:
            with scratch_database(args.postgres, args.database) as url:
                figures, model = pipeline(url, paths, work, args.train)
        rows, seconds = figures["import_rows"], figures["import_seconds"]
        print(
            f"  import: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s "
            f"(validation, approval and import; outcomes {figures['outcomes']}); "
            f"source records kept: {figures['kept']:,}"
        )
        print(
            f"  match run --auto-merge: {figures['match_seconds']:.1f} s, {figures['match_stats']}"
        )
        report("pipeline (import + match run)", figures["clusters"], gold)
        if model is not None:
            matched = direct(records, model)
            report("matcher directly, same model", matched, gold)
            if args.diagnose:
                diagnose(
                    figures["before"], figures["run_clusters"], figures["after"], matched, gold
                )
        if not args.no_splink:
            recs = [MatchRecord(**{k: v for k, v in r.items() if v is not None}) for r in records]
            run_splink("e2e", recs, gold, persons=False)


if __name__ == "__main__":
    main()
