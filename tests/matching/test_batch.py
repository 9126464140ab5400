"""Tests for custmaster.matching.batch."""

from __future__ import annotations

from itertools import combinations

from custmaster.matching.batch import Blocking, batch_match, candidate_pairs
from custmaster.matching.cluster import cluster_pairs
from custmaster.matching.model import DEFAULT_MODEL
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.training import train

RECORDS = [
    MatchRecord(
        "1",
        name="Evergreen Hydraulics N.V.",
        email="ap@evergreenhydraulics.nl",
        tax_id="NL556279955B01",
        postal_code="2830BA",
        city="Zuidlaarderveen",
        street="Daansteeg 5",
        country="NL",
    ),
    MatchRecord(
        "2",
        name="EVERGREEN HYDRAULICS NV",
        website="www.evergreenhydraulics.nl",
        postal_code="2830 BA",
        city="Zuidlaarderveen",
        street="Daansteeg 5",
        country="NLD",
    ),
    MatchRecord(
        "3",
        name="Evergreen Hydraulics",
        phone="+31 2417 758513",
        tax_id="NL556279955B01",
        country="Netherlands",
    ),
    MatchRecord(
        "4",
        name="Evergreen Logistics B.V.",
        website="evergreenlogistics.nl",
        postal_code="2830BA",
        city="Zuidlaarderveen",
        street="Daansteeg 5",
        tax_id="NL999999999B01",
        country="NL",
    ),
    MatchRecord("5", name="Harbor Coatings", country="NL"),
]


def test_batch_finds_duplicates_not_sisters() -> None:
    result = batch_match(RECORDS)
    assert result.clusters == [["1", "2", "3"]] or sorted(result.clusters[0]) == ["1", "2", "3"]
    assert all("4" not in c for c in result.clusters)
    assert result.stats["records"] == 5
    linked = {(p.id_l, p.id_r) for p in result.decisions(DEFAULT_MODEL)["auto_merge"]}
    assert ("1", "3") in linked


def test_candidate_pairs_are_unique() -> None:
    feats = [prepare(r) for r in RECORDS] * 1
    pairs = list(candidate_pairs(feats))
    assert len(pairs) == len(set(pairs))
    assert all(i < j for i, j in pairs)


def test_large_blocks_are_skipped() -> None:
    feats = [prepare(MatchRecord(str(i), name="Same", country="DE")) for i in range(6)]
    assert list(candidate_pairs(feats, Blocking.exhaustive(5))) == []
    assert len(list(candidate_pairs(feats, Blocking.exhaustive(6)))) == 15


def _block_of_names(n: int) -> list[MatchRecord]:
    """``n`` companies sharing one city/name-word key (one large block), names in
    reverse alphabetical order of their ids."""

    def word(i: int) -> str:
        k = n - 1 - i
        return f"{chr(97 + k // 26)}{chr(97 + k % 26)}"

    return [
        MatchRecord(str(i), name=f"Keystone {word(i)} Tooling", city="Berlin", country="DE")
        for i in range(n)
    ]


def test_large_blocks_pair_name_neighbours_within_the_window() -> None:
    feats = [prepare(r) for r in _block_of_names(10)]
    blocking = Blocking(max_block_size=200, full_block_size=4, window=2)
    pairs = list(candidate_pairs(feats, blocking))
    assert len(pairs) == len(set(pairs)) and all(i < j for i, j in pairs)
    # sorted by name, position p is record 9 - p: neighbours are ids within 2
    assert set(pairs) == {(i, j) for i, j in combinations(range(10), 2) if j - i <= 2}


def test_blocks_up_to_the_full_size_yield_every_pair() -> None:
    feats = [prepare(r) for r in _block_of_names(10)]
    pairs = set(candidate_pairs(feats, Blocking(max_block_size=200, full_block_size=10, window=1)))
    assert pairs == set(combinations(range(10), 2))


def test_windowed_batch_still_finds_the_duplicate_in_a_large_block() -> None:
    records = [
        *_block_of_names(60),
        MatchRecord(
            "dup",
            name="Keystone CH Tooling GmbH",
            city="Berlin",
            country="DE",
            street="Hauptstr. 1",
        ),
    ]
    result = batch_match(
        records, blocking=Blocking(full_block_size=10, window=3), keep_min_probability=0.0
    )
    dup = next(p for p in result.pairs if "dup" in (p.id_l, p.id_r))  # the best-scored
    assert {dup.id_l, dup.id_r} == {"0", "dup"}
    assert result.stats["candidate_pairs"] < 61 * 60 / 2


def test_tax_id_constraint_can_be_disabled() -> None:
    recs = [
        MatchRecord("a", name="Acme GmbH", email="x@acme.example", tax_id="DE111111111"),
        MatchRecord("b", name="Acme GmbH", email="x@acme.example", tax_id="DE999999999"),
    ]
    assert batch_match(recs, tax_id_constraint=True).clusters == []
    assert batch_match(recs, tax_id_constraint=False, keep_min_probability=0.0).pairs


PHILIPS = [
    "Koninklijke Philips N.V.",
    "Philips NV",
    "PHILIPS N.V.",
    "Philips Koninklijke NV",
    "Koninklijke Philips Electronics N.V.",
    "Philips",
    "Philips N.V",
    "KONINKLIJKE PHILIPS NV",
]
OTHERS = [
    "Heineken",
    "Unilever",
    "Shell",
    "Akzo Nobel",
    "Ahold Delhaize",
    "Wolters Kluwer",
    "Randstad",
    "ASML",
    "Aegon",
    "DSM",
    "KPN",
    "Vopak",
    "Boskalis",
    "Fugro",
    "Arcadis",
]
FORMS = ["N.V.", "NV", "B.V.", "Holding N.V.", "AG", "S.p.A.", "& Co", "Group"]


def test_name_only_records_of_one_company_form_one_cluster_of_any_size() -> None:
    recs = [MatchRecord(f"p{i}", name=PHILIPS[i % len(PHILIPS)]) for i in range(120)]
    recs += [
        MatchRecord(
            f"o{i}",
            name=f"{OTHERS[i % 15]} {['', 'Trading', 'Services'][i // 15 % 3]} {FORMS[i % 8]}",
        )
        for i in range(90)
    ]
    recs += [
        MatchRecord(f"x{i}", name=f"Firm{i} {['Logistics', 'Foods', 'Energy'][i % 3]}")
        for i in range(400)
    ]
    feats = [prepare(r) for r in recs]
    model = train(feats, max_random_pairs=20_000).model
    result = batch_match(feats, model)
    review = model.thresholds.review
    clusters = cluster_pairs(((p.id_l, p.id_r, p.probability) for p in result.pairs), review)
    biggest = clusters[0]
    assert len(biggest) > 100  # no cap at 50, no block of more than 200 skipped
    assert all(m.startswith("p") for m in biggest)
    for cluster in clusters[1:]:  # the other companies stay apart
        assert len({m[0] for m in cluster}) == 1 and not cluster[0].startswith("x")


def test_large_blocks_are_sub_blocked_never_skipped() -> None:
    recs = [prepare(MatchRecord(str(i), name=f"Acme {i:04d}")) for i in range(500)]
    pairs = list(candidate_pairs(recs, Blocking(full_block_size=30, window=4)))
    firsts = {i for i, _ in pairs}
    assert len(firsts) >= 499  # every member of the 500-record "acme" block has partners
    assert len(pairs) < 500 * 9  # windowed, not all 124,750 pairs
