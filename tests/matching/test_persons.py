"""Person records with only a name and a place (inventors, consumers): one person with
hundreds of records in a few towns, many people sharing family names."""

from __future__ import annotations

import random
from itertools import combinations

from custmaster.matching.batch import Blocking, batch_match, block_pair_sample
from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.compare import COMPARISONS, NULL_LEVEL, compare_name
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.model import DEFAULT_MODEL
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import score
from custmaster.matching.training import train

GIVEN = [
    "Hiroshi",
    "Junyi",
    "Wei",
    "Anna",
    "Peter",
    "Maria",
    "Kenji",
    "Laura",
    "Omar",
    "Sofia",
    "Tetsuya",
    "Osamu",
    "Shunji",
    "David",
    "Elena",
    "Jun-Hee",
    "Bart",
    "Lisa",
]
FAMILY = [
    "Li",
    "Watanabe",
    "Kim",
    "Neumann",
    "Garcia",
    "Choi",
    "Verlinden",
    "Cousins",
    "Srivastava",
    "Mizuno",
    "Nakano",
    "Green",
    "Patil",
    "Zhang",
]
CITIES = [
    "Tokyo",
    "Seoul",
    "Chester",
    "Berlin",
    "Austin",
    "Lyon",
    "Osaka",
    "Leuven",
    "Toronto",
    "Pune",
    "Shenzhen",
    "Boston",
]


def _inventors(seed: int = 3) -> tuple[list[MatchFeatures], dict[str, str]]:
    """One prolific inventor (300 records from 3 towns), 120 other people (each a unique
    given + family name, 1 to 6 records, sometimes with a middle initial, sometimes
    moved to a second town)."""
    rng = random.Random(seed)
    recs: list[MatchRecord] = []
    truth: dict[str, str] = {}
    for k in range(300):
        rid = f"star-{k}"
        recs.append(
            MatchRecord(
                rid,
                kind="person",
                first_name="Junyi",
                last_name="Li",
                city=["Chester", "Bedminster", "Matawan"][k % 3],
                country="US",
            )
        )
        truth[rid] = "star"
    people = [(g, f) for g in GIVEN for f in FAMILY if (g, f) != ("Junyi", "Li")]
    for p, (given, family) in enumerate(rng.sample(people, 120)):
        home, moved = rng.sample(CITIES, 2)
        for k in range(rng.randint(1, 6)):
            first = f"{given} {'J.' if k % 3 == 2 else ''}".strip()
            rid = f"p{p}-{k}"
            recs.append(
                MatchRecord(
                    rid,
                    kind="person",
                    first_name=first,
                    last_name=family,
                    city=moved if k == 4 else home,
                    country="US",
                )
            )
            truth[rid] = f"p{p}"
    return [prepare(r) for r in recs], truth


def _pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for g in groups for a, b in combinations(g, 2)}


def test_the_prior_counts_every_pair_blocking_brings_together() -> None:
    feats, truth = _inventors()
    by_entity: dict[str, list[str]] = {}
    for rid, ent in truth.items():
        by_entity.setdefault(ent, []).append(rid)
    true_prior = len(_pairs(list(by_entity.values()))) / (len(feats) * (len(feats) - 1) / 2)
    prior = train(feats, max_random_pairs=20_000).model.prior
    # the windowed candidates alone see a tenth of the prolific inventor's pairs
    assert true_prior / 2 < prior < true_prior * 2


def test_block_pair_sample_estimates_the_distinct_pairs_of_all_blocks() -> None:
    feats, _ = _inventors()
    exact = block_pair_sample(feats, max_pairs=10**7)
    sampled = block_pair_sample(feats, max_pairs=20_000)
    assert exact.exact and not sampled.exact
    assert abs(sampled.total - exact.total) < 0.05 * exact.total
    windowed = sum(
        1
        for _ in __import__("custmaster.matching.batch").matching.batch.candidate_pairs(
            feats, Blocking()
        )
    )
    assert windowed < exact.total / 2


def test_one_person_on_many_records_in_a_few_towns_is_not_a_common_name() -> None:
    feats, _ = _inventors()
    tf = TermFrequencies.from_features(feats, own=2.0)
    assert tf.tf("name", "junyi li") == 1.0 / len(feats)  # 3 places, not 300 records
    everywhere = [
        prepare(
            MatchRecord(
                str(i), kind="person", first_name="John", last_name="Smith", city=f"Town {i}"
            )
        )
        for i in range(60)
    ]
    assert TermFrequencies.from_features(everywhere).tf("name", "john smith") > 0.9


def test_inventors_cluster_without_joining_namesakes() -> None:
    feats, truth = _inventors()
    model = train(feats, max_random_pairs=20_000).model
    result = batch_match(feats, model, keep_min_probability=0.5)
    clusters = cluster_pairs(
        ((p.id_l, p.id_r, p.probability) for p in result.pairs), model.thresholds.review
    )
    predicted = _pairs(clusters)
    by_entity: dict[str, list[str]] = {}
    for rid, ent in truth.items():
        by_entity.setdefault(ent, []).append(rid)
    gold = _pairs(list(by_entity.values()))
    precision = len(predicted & gold) / len(predicted)
    recall = len(predicted & gold) / len(gold)
    assert precision >= 0.995 and recall >= 0.95
    star = next(c for c in clusters if "star-0" in c)
    assert len(star) == 300
    auto = {(p.id_l, p.id_r) for p in result.pairs if p.probability >= model.thresholds.auto_merge}
    assert {tuple(sorted(p)) for p in auto} <= gold


def test_names_with_other_numbers_are_not_similar() -> None:
    a = prepare(MatchRecord("1", name="Riverside Clinic 302"))
    b = prepare(MatchRecord("2", name="Riverside Clinic 305"))
    c = prepare(MatchRecord("3", name="Riverside Clinic 302 Inc"))
    assert compare_name(a, b) <= 1 and compare_name(a, c) == 6
    assert score(a, b, DEFAULT_MODEL).decision == "no_match"


def test_a_typo_of_a_name_weighs_as_the_more_common_of_the_two() -> None:
    smiths = [
        prepare(
            MatchRecord(
                str(i), kind="person", first_name="John", last_name="Smith", city=f"Town {i}"
            )
        )
        for i in range(60)
    ]
    riley = [
        prepare(
            MatchRecord(
                f"r{i}", kind="person", first_name="Riley", last_name=f"Family{i}", city=f"Town {i}"
            )
        )
        for i in range(60)
    ]
    typo = prepare(MatchRecord("t", kind="person", first_name="Jon", last_name="Smith"))
    siviur = prepare(MatchRecord("s1", kind="person", first_name="Riley", last_name="Siviur"))
    siviour = prepare(MatchRecord("s2", kind="person", first_name="Riley", last_name="Siviour"))
    model = DEFAULT_MODEL.with_tf(TermFrequencies.from_features(smiths + riley + [typo]))
    # persons with given and family names of their own are compared part by part
    common = {e.field: e.weight for e in score(typo, smiths[0], model).explanation}
    assert common["given_name"] + common["family_name"] < 3  # "jon" is as common as "john"
    # a rare surname with a typo keeps its weight, however common the shared given name
    rare = {e.field: (e.level, e.weight) for e in score(siviur, siviour, model).explanation}
    family_typo = model.weights[[c.name for c in COMPARISONS].index("family_name")][3]
    assert rare["family_name"] == (3, round(family_typo, 4)) and family_typo > 4
    assert rare["given_name"][1] < 1  # Riley is everywhere
    assert compare_name(siviur, siviour) == NULL_LEVEL
    # the same for persons known by one name field
    full = [prepare(MatchRecord(f.id, kind="person", name=f.name, city=f.city)) for f in smiths]
    full_riley = [
        prepare(MatchRecord(f.id, kind="person", name=f.name, city=f.city)) for f in riley
    ]
    one_typo = prepare(MatchRecord("t", kind="person", name="Jon Smith"))
    one_a = prepare(MatchRecord("s1", kind="person", name="Riley Siviur"))
    one_b = prepare(MatchRecord("s2", kind="person", name="Riley Siviour"))
    model = DEFAULT_MODEL.with_tf(TermFrequencies.from_features(full + full_riley + [one_typo]))
    weight = {e.field: e.weight for e in score(one_typo, full[0], model).explanation}["name"]
    assert weight < 3  # "jon smith" is as common as "john smith"
    rare_name = {e.field: e.weight for e in score(one_a, one_b, model).explanation}["name"]
    assert compare_name(one_a, one_b) == 4 and rare_name > 7
