"""Unsupervised (and steward-labelled) estimation of a :class:`MatchModel` by EM.

Pure Python, no Splink at run time: the same Fellegi-Sunter estimation Splink performs,
on exactly the comparisons the online scorer uses.

1. **u** (P(level | non-match)) from random pairs of the records: random pairs are
   almost all non-matches. A level never seen among them gets ``1 / (2 * pairs)``.
2. **m** (P(level | match)) by expectation maximisation in several sessions, each on the
   pairs of one training blocking rule (same normalised name, same phone, same postal
   code, same street and number, same city and name prefix). A session estimates the m
   of every comparison its rule does not fix, with u fixed; the m of a level is the mean
   over the sessions that estimated it. None of the rules needs an e-mail or a tax id.
3. **prior** (the chance that two random records match) by EM with m and u fixed on the
   candidate pairs of the matcher's own blocking: the expected number of matches among
   them, divided by the assumed recall of the blocking, over all pairs.
4. **Labelled pairs** (steward decisions) join every session with a fixed posterior
   (1 for a merge, 0 for "not a duplicate"), and with enough of them the auto-merge
   threshold is calibrated so that precision on the labelled pairs stays at or above
   ``target_precision``.

A comparison whose m no session could estimate keeps the base model's m and u (prior
knowledge; with name-only records, random pairs are no non-match sample either); one
whose u cannot be estimated (no data) is neutral (m = u). Level 0 of every comparison
(a conflict: different tax id, different country, different names...) never gets a
positive weight.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import Any

from custmaster.matching.batch import Blocking, block_pair_sample
from custmaster.matching.compare import COMPARISONS, NULL_LEVEL, street_core
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.model import DEFAULT_MODEL, LevelParams, MatchModel, Thresholds
from custmaster.matching.record import MatchFeatures
from custmaster.matching.scoring import probability_from_weight

__all__ = [
    "TRAINING_RULES",
    "LabelledPair",
    "TrainedModel",
    "TrainingRule",
    "calibrate_auto_merge",
    "estimate_prior",
    "train",
]

Vector = tuple[int, ...]
#: Smallest m kept: a level never seen among matches (e.g. "different country") stays a
#: strong but finite veto (about -13 bits), not an absolute one.
_M_FLOOR = 1e-4
_NAMES = tuple(c.name for c in COMPARISONS)


@dataclass(frozen=True, slots=True)
class TrainingRule:
    """A blocking rule of one EM session.

    Attributes:
        name: Shown in the training report.
        key: The block of a record (None: the record takes no part).
        fixes: Comparisons the rule fixes (their m is not estimated by the session).
    """

    name: str
    key: Callable[[MatchFeatures], str | None]
    fixes: tuple[str, ...]


def _street_key(f: MatchFeatures) -> str | None:
    core = street_core(f.street)
    return f"{core}|{f.house_number}" if core and f.house_number else None


def _city_name_key(f: MatchFeatures) -> str | None:
    return f"{f.city}|{f.name[:3]}" if f.city and f.name else None


TRAINING_RULES: tuple[TrainingRule, ...] = (
    TrainingRule("same name", lambda f: f.name or None, ("name", "given_name", "family_name")),
    TrainingRule("same phone", lambda f: f.phone, ("phone",)),
    TrainingRule("same postal code", lambda f: f.postal_code, ("address",)),
    TrainingRule("same street and number", _street_key, ("address",)),
    TrainingRule("same city and name prefix", _city_name_key, ("address", "name", "given_name")),
)


@dataclass(frozen=True, slots=True)
class LabelledPair:
    """A pair a steward decided: its comparison levels and whether it is a match."""

    levels: Vector
    is_match: bool


@dataclass(frozen=True)
class TrainedModel:
    """The estimated model and the report of how each value was obtained."""

    model: MatchModel
    report: dict[str, Any] = field(default_factory=dict)


def _vector(a: MatchFeatures, b: MatchFeatures) -> Vector:
    return tuple(c.compare(a, b) for c in COMPARISONS)


def _random_pairs(n: int, count: int, rng: random.Random) -> Iterable[tuple[int, int]]:
    if n * (n - 1) // 2 <= count:
        yield from combinations(range(n), 2)
        return
    for _ in range(count):
        i = rng.randrange(n)
        j = rng.randrange(n - 1)
        yield i, j + (j >= i)


def _random_patterns(
    features: Sequence[MatchFeatures], max_pairs: int, rng: random.Random
) -> Counter[Vector]:
    return Counter(
        _vector(features[i], features[j]) for i, j in _random_pairs(len(features), max_pairs, rng)
    )


def _estimate_u(
    patterns: Counter[Vector], min_pairs: int, posterior: Callable[[Vector], float] | None = None
) -> list[list[float] | None]:
    """u per level from random pairs; with ``posterior``, each pair counts as a
    non-match by ``1 - posterior`` (random pairs of a population where one entity has
    hundreds of records are not all non-matches)."""
    counts = [[0.0] * c.num_levels for c in COMPARISONS]
    seen = [0] * len(COMPARISONS)
    for vec, cnt in patterns.items():
        weight = cnt * (1.0 - posterior(vec)) if posterior else float(cnt)
        for k, level in enumerate(vec):
            if level != NULL_LEVEL:
                counts[k][level] += weight
                seen[k] += cnt
    out: list[list[float] | None] = []
    for k, row in enumerate(counts):
        total = sum(row)
        if seen[k] < min_pairs or total <= 0:
            out.append(None)
            continue
        floor = 1.0 / (2.0 * seen[k])
        out.append([max(c / total, floor) for c in row])
    return out


def _session_pairs(
    features: Sequence[MatchFeatures], rule: TrainingRule, max_pairs: int, rng: random.Random
) -> list[tuple[int, int]]:
    blocks: dict[str, list[int]] = {}
    for pos, f in enumerate(features):
        key = rule.key(f)
        if key:
            blocks.setdefault(key, []).append(pos)
    usable = [ids for ids in blocks.values() if len(ids) > 1]
    sizes = [len(ids) * (len(ids) - 1) // 2 for ids in usable]
    total = sum(sizes)
    if total <= max_pairs:
        return [pair for ids in usable for pair in combinations(ids, 2)]
    cum: list[int] = []
    running = 0
    for s in sizes:
        running += s
        cum.append(running)
    chosen = rng.choices(range(len(usable)), cum_weights=cum, k=max_pairs)
    pairs = set()
    for b in chosen:
        ids = usable[b]
        i, j = rng.sample(range(len(ids)), 2)
        pairs.add((ids[min(i, j)], ids[max(i, j)]))
    return sorted(pairs)


def _em(
    patterns: Mapping[Vector, float],
    labelled: Counter[tuple[Vector, bool]],
    m: list[list[float]],
    u: list[list[float]],
    active: list[int],
    lam: float,
    *,
    fix_m: bool = False,
    max_iterations: int = 40,
    tol: float = 1e-5,
) -> tuple[list[list[float]], float, int, list[float]]:
    """EM over pattern counts. Returns (m, lambda, iterations, non-null counts of the
    active comparisons). Labelled patterns have a fixed posterior and only inform m."""
    m = [list(row) for row in m]
    items = list(patterns.items())
    fixed = [(vec, 1.0 if is_match else 0.0, cnt) for (vec, is_match), cnt in labelled.items()]
    seen = [0.0] * len(COMPARISONS)
    for vec, cnt in items:
        for k in active:
            if vec[k] != NULL_LEVEL:
                seen[k] += cnt
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007
        acc = [[0.0] * len(row) for row in m]
        total_r = 0.0
        total = 0.0
        for vec, cnt in items:
            log_m = math.log(lam)
            log_u = math.log(1.0 - lam)
            for k in active:
                level = vec[k]
                if level != NULL_LEVEL:
                    log_m += math.log(m[k][level])
                    log_u += math.log(u[k][level])
            diff = log_u - log_m
            r = 0.0 if diff > 700 else 1.0 / (1.0 + math.exp(diff))
            total_r += r * cnt
            total += cnt
            for k in active:
                level = vec[k]
                if level != NULL_LEVEL:
                    acc[k][level] += r * cnt
        for vec, r, cnt in fixed:
            for k in active:
                level = vec[k]
                if level != NULL_LEVEL:
                    acc[k][level] += r * cnt
        new_lam = min(max(total_r / total, 1e-9), 1 - 1e-9) if total else lam
        change = abs(new_lam - lam)
        if not fix_m:
            for k in active:
                s = sum(acc[k])
                if s <= 0:
                    continue
                row = [max(a / s, _M_FLOOR) for a in acc[k]]
                norm = sum(row)
                row = [x / norm for x in row]
                change = max(change, *(abs(x - y) for x, y in zip(row, m[k], strict=True)))
                m[k] = row
        lam = new_lam
        if change < tol:
            break
    return m, lam, iterations, seen


def train(
    features: Sequence[MatchFeatures],
    *,
    labels: Sequence[LabelledPair] = (),
    base: MatchModel = DEFAULT_MODEL,
    thresholds: Thresholds | None = None,
    rules: Sequence[TrainingRule] = TRAINING_RULES,
    blocking: Blocking | None = None,
    max_random_pairs: int = 100_000,
    max_session_pairs: int = 50_000,
    max_candidate_pairs: int = 200_000,
    blocking_recall: float = 0.9,
    min_pairs: int = 30,
    min_labels: int = 20,
    target_precision: float = 0.995,
    population_size: int | None = None,
    max_tf_values: int = 2000,
    refine_rounds: int = 0,
    seed: int = 1,
) -> TrainedModel:
    """Estimate the prior and every level's m and u from the records (see the module
    docstring); never raises on thin data (what cannot be estimated is reported).

    Args:
        features: The records (or a sample of the population).
        labels: Steward-labelled pairs (comparison levels and the decision).
        base: Fallback m/u of the levels that cannot be estimated, and thresholds.
        thresholds: Thresholds of the model (default: ``base``'s, or calibrated ones
            when there are at least ``min_labels`` labels of each kind).
        rules: The EM sessions' blocking rules.
        blocking: The matcher's blocking, for the prior (default :class:`Blocking`).
        max_random_pairs: Random pairs for u.
        max_session_pairs: Pairs sampled per EM session.
        max_candidate_pairs: Candidate pairs sampled for the prior.
        blocking_recall: Assumed share of all true matches the blocking finds.
        min_pairs: Fewest non-null observations for an estimate.
        min_labels: Labels of each kind needed to calibrate the auto-merge threshold.
        target_precision: Precision the calibrated auto-merge threshold keeps on labels.
        population_size: Size of the population when ``features`` is a sample (the
            prior is rescaled by ``(len(features) - 1) / (population_size - 1)``).
        refine_rounds: Most rounds of re-estimating u (random pairs weighted by their
            chance of being a non-match) and the prior. Off by default: it raised
            FEBRL's recall at auto-merge (cluster F1 0.938 -> 0.982) but made same-name
            companies in different cities review candidates on the generated set
            (review cluster precision 1.0 -> 0.976).
        max_tf_values: Most frequent values per kind stored as the model's term
            frequencies (values shared by at least 3 records).
        seed: Sampling seed (deterministic for a given input and seed).

    Returns:
        The :class:`TrainedModel`.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> recs = [prepare(MatchRecord(f"{i}-{d}", name=f"Firm {i} {'AG' if d else ''}",
        ...         phone=f"+4930{1000000 + i}", postal_code=f"{10000 + i % 30}",
        ...         street=f"Weg {i}", city="Berlin", country="DE"))
        ...         for i in range(120) for d in range(2)]
        >>> trained = train(recs, max_random_pairs=5000)
        >>> 0 < trained.model.prior < 1, trained.report["sessions"][0]["rule"]
        (True, 'same name')
    """
    rng = random.Random(seed)
    n = len(features)
    label_counts: Counter[tuple[Vector, bool]] = Counter((lp.levels, lp.is_match) for lp in labels)
    warnings: list[str] = []
    random_patterns = _random_patterns(features, max_random_pairs, rng) if n > 1 else Counter()
    n_random = sum(random_patterns.values())
    u_est = _estimate_u(random_patterns, min_pairs)
    base_m = [[p.m for p in base.levels[name]] for name in _NAMES]
    base_u = [[p.u for p in base.levels[name]] for name in _NAMES]
    u = [row if row is not None else base_u[k] for k, row in enumerate(u_est)]
    for k, row in enumerate(u_est):  # EM sessions need a u for every level
        if row is None:
            u[k] = list(base_u[k])
    # -- m by EM, one session per rule ----------------------------------------------------
    m_sum = [[0.0] * c.num_levels for c in COMPARISONS]
    m_sessions = [0] * len(COMPARISONS)
    sessions: list[dict[str, Any]] = []
    for rule in rules:
        pairs = _session_pairs(features, rule, max_session_pairs, rng) if n > 1 else []
        active = [k for k, name in enumerate(_NAMES) if name not in rule.fixes]
        info: dict[str, Any] = {"rule": rule.name, "pairs": len(pairs), "estimated": []}
        sessions.append(info)
        if len(pairs) < min_pairs:
            info["skipped"] = f"fewer than {min_pairs} pairs"
            continue
        patterns = Counter(_vector(features[i], features[j]) for i, j in pairs)
        m_new, lam, iterations, seen = _em(patterns, label_counts, base_m, u, active, 0.5)
        info.update(iterations=iterations, match_share=round(lam, 6))
        for k in active:
            if seen[k] >= min_pairs and u_est[k] is not None:
                m_sessions[k] += 1
                m_sum[k] = [a + b for a, b in zip(m_sum[k], m_new[k], strict=True)]
                info["estimated"].append(_NAMES[k])
    levels, sources = _assemble(u_est, m_sum, m_sessions, base_m, base_u)
    if not any(m_sessions):
        warnings.append("no EM session could estimate m: default m values are used")
    # -- prior by EM on the matcher's candidate pairs, m and u fixed -------------------------
    draft = MatchModel(prior=base.prior, levels=levels, thresholds=base.thresholds)
    prior, prior_info = estimate_prior(
        features, draft, blocking, max_candidate_pairs, blocking_recall, rng, base.prior
    )
    if prior_info.get("fallback"):
        warnings.append(str(prior_info["fallback"]))
    elif n > 1:
        # -- u again, random pairs weighted by how unlikely they are to match, and the
        # prior again with it, until they settle
        for _ in range(refine_rounds):
            refined = MatchModel(prior=prior, levels=levels)
            u_est = _estimate_u(random_patterns, min_pairs, partial(_posterior, refined))
            levels, sources = _assemble(u_est, m_sum, m_sessions, base_m, base_u)
            draft = MatchModel(prior=prior, levels=levels)
            before = prior
            prior, prior_info = estimate_prior(
                features, draft, blocking, max_candidate_pairs, blocking_recall, rng, prior
            )
            if abs(prior - before) <= 0.01 * before:
                break
    # the values many records share, for online scoring (batch runs count their own)
    own = 1.0 + 2.0 * prior * max(n - 1, 0)
    tf = TermFrequencies.from_features(features, min_count=3, top=max_tf_values, own=own)
    if population_size and population_size > n > 1:
        prior *= (n - 1) / (population_size - 1)
    model = MatchModel(prior=prior, levels=levels, thresholds=thresholds or base.thresholds, tf=tf)
    # -- thresholds calibrated on labels -------------------------------------------------------
    calibration: dict[str, Any] = {"labels": len(labels)}
    n_match = sum(1 for lp in labels if lp.is_match)
    n_non = len(labels) - n_match
    calibration.update(matches=n_match, non_matches=n_non)
    if thresholds is None and n_match >= min_labels and n_non >= min_labels:
        auto, precision = calibrate_auto_merge(model, labels, target_precision)
        calibration.update(auto_merge=auto, precision=precision, calibrated=True)
        review = min(model.thresholds.review, auto)
        model = model.with_thresholds(Thresholds(auto, review))
    else:
        calibration["calibrated"] = False
    report: dict[str, Any] = {
        "records": n,
        "population": population_size or n,
        "random_pairs": n_random,
        "sessions": sessions,
        "prior": prior_info,
        "levels": sources,
        "calibration": calibration,
        "warnings": warnings,
    }
    return TrainedModel(model, report)


def _assemble(
    u_est: list[list[float] | None],
    m_sum: list[list[float]],
    m_sessions: list[int],
    base_m: list[list[float]],
    base_u: list[list[float]],
) -> tuple[dict[str, tuple[LevelParams, ...]], dict[str, list[str]]]:
    """Every level's m and u with the fallbacks, and how each was obtained."""
    levels: dict[str, tuple[LevelParams, ...]] = {}
    sources: dict[str, list[str]] = {}
    for k, comp in enumerate(COMPARISONS):
        params = []
        how = []
        row = u_est[k]
        for lvl in range(comp.num_levels):
            if row is None:
                # no data to estimate u: the level is neutral (no evidence either way)
                m_val = u_val = base_u[k][lvl]
                how.append("neutral")
            else:
                u_val = row[lvl]
                if m_sessions[k]:
                    m_val = max(m_sum[k][lvl] / m_sessions[k], _M_FLOOR)
                    how.append("em")
                else:
                    # no session could tell matches apart on this comparison (the only
                    # one with data: name-only records): the random pairs' u is no
                    # non-match rate either (one entity's copies dominate it); the base
                    # model's m and u are kept together
                    m_val, u_val = base_m[k][lvl], base_u[k][lvl]
                    how.append("default")
            if lvl == 0 and m_val > u_val:  # a conflict is never evidence of a match
                m_val = u_val
                how[-1] += ", conflict neutral"
            params.append(LevelParams(comp.labels[lvl], m_val, u_val))
        levels[comp.name] = tuple(params)
        sources[comp.name] = how
    return levels, sources


def _posterior(model: MatchModel, levels: Vector) -> float:
    return probability_from_weight(_weight(model, levels))


def estimate_prior(
    features: Sequence[MatchFeatures],
    model: MatchModel,
    blocking: Blocking | None = None,
    max_pairs: int = 200_000,
    recall: float = 0.9,
    rng: random.Random | None = None,
    fallback: float = DEFAULT_MODEL.prior,
) -> tuple[float, dict[str, Any]]:
    """The prior by EM with ``model``'s m and u fixed, on (a sample of) the pairs that
    share a key of the matcher's blocking (all pairs of every block, not only the
    windowed candidates: see :func:`~custmaster.matching.batch.block_pair_sample`):
    expected matches / ``recall`` / all pairs.

    Returns:
        ``(prior, report)``; ``fallback`` when there is nothing to estimate from.
    """
    rng = rng or random.Random(1)
    n = len(features)
    total_pairs = n * (n - 1) // 2
    if total_pairs == 0:
        return fallback, {"fallback": "fewer than two records: the base prior is kept"}
    sample = block_pair_sample(features, blocking, max_pairs, rng)
    if not sample.pairs:
        return fallback, {
            "candidate_pairs": 0,
            "fallback": "no candidate pairs: the base prior is kept",
        }
    patterns: dict[Vector, float] = {}
    for i, j, w in sample.pairs:
        vec = _vector(features[i], features[j])
        patterns[vec] = patterns.get(vec, 0.0) + w
    seen = sample.total
    m = [[p.m for p in model.levels[name]] for name in _NAMES]
    u = [[p.u for p in model.levels[name]] for name in _NAMES]
    active = list(range(len(COMPARISONS)))
    _, lam, iterations, _ = _em(
        patterns, Counter(), m, u, active, 0.1, fix_m=True, max_iterations=200, tol=1e-7
    )
    expected = lam * seen / max(recall, 1e-6)
    prior = min(max(expected / total_pairs, 1e-12), 0.5)
    return prior, {
        "candidate_pairs": round(seen),
        "sampled": len(sample.pairs),
        "iterations": iterations,
        "match_share": round(lam, 6),
        "expected_matches": round(expected, 1),
        "blocking_recall": recall,
        "value": prior,
    }


def _weight(model: MatchModel, levels: Vector) -> float:
    total = model.prior_weight
    for k, level in enumerate(levels):
        if level != NULL_LEVEL:
            total += model.weights[k][level]
    return total


def calibrate_auto_merge(
    model: MatchModel,
    labels: Sequence[LabelledPair],
    target_precision: float = 0.995,
    floor: float = 0.9,
) -> tuple[float, float]:
    """The lowest auto-merge threshold (at least ``floor`` and the review threshold, and
    no lower than the labelled pairs reach) at which precision on the labelled pairs at
    or above it stays >= ``target_precision``, scanning from the top.

    Args:
        model: The model scoring the labels.
        labels: Labelled pairs.
        target_precision: Precision to keep.
        floor: Lowest threshold returned.

    Returns:
        ``(threshold, precision of the labelled pairs at or above it)``.

    Example:
        >>> from custmaster.matching.compare import COMPARISONS
        >>> top = tuple(c.num_levels - 1 for c in COMPARISONS)
        >>> labels = [LabelledPair(top, True)] * 30
        >>> calibrate_auto_merge(DEFAULT_MODEL, labels)[1]
        1.0
    """
    scored = sorted(
        ((probability_from_weight(_weight(model, lp.levels)), lp.is_match) for lp in labels),
        key=lambda x: -x[0],
    )
    lowest = max(floor, model.thresholds.review)
    threshold = 1.0
    tp = fp = 0
    k = 0
    while k < len(scored):
        p = scored[k][0]
        while k < len(scored) and scored[k][0] == p:
            tp += scored[k][1]
            fp += not scored[k][1]
            k += 1
        if tp / (tp + fp) < target_precision:
            threshold = math.nextafter(p, 1.0)
            break
        threshold = p  # labelled evidence reaches down to here
    threshold = min(max(threshold, lowest), 1.0)
    above = [is_match for p, is_match in scored if p >= threshold]
    precision = sum(above) / len(above) if above else 1.0
    return threshold, round(precision, 6)
