"""Tests for custmaster.matching.batch."""

from __future__ import annotations

from custmaster.matching.batch import batch_match, candidate_pairs
from custmaster.matching.model import DEFAULT_MODEL
from custmaster.matching.record import MatchRecord, prepare

RECORDS = [
    MatchRecord("1", name="Evergreen Hydraulics N.V.", email="ap@evergreenhydraulics.nl",
                tax_id="NL556279955B01", postal_code="2830BA", city="Zuidlaarderveen",
                street="Daansteeg 5", country="NL"),
    MatchRecord("2", name="EVERGREEN HYDRAULICS NV", website="www.evergreenhydraulics.nl",
                postal_code="2830 BA", city="Zuidlaarderveen", street="Daansteeg 5",
                country="NLD"),
    MatchRecord("3", name="Evergreen Hydraulics", phone="+31 2417 758513",
                tax_id="NL556279955B01", country="Netherlands"),
    MatchRecord("4", name="Evergreen Logistics B.V.", website="evergreenlogistics.nl",
                postal_code="2830BA", city="Zuidlaarderveen", street="Daansteeg 5",
                tax_id="NL999999999B01", country="NL"),
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
    assert list(candidate_pairs(feats, max_block_size=5)) == []
    assert len(list(candidate_pairs(feats, max_block_size=6))) == 15


def test_tax_id_constraint_can_be_disabled() -> None:
    recs = [MatchRecord("a", name="Acme GmbH", email="x@acme.example", tax_id="DE111111111"),
            MatchRecord("b", name="Acme GmbH", email="x@acme.example", tax_id="DE999999999")]
    assert batch_match(recs, tax_id_constraint=True).clusters == []
    assert batch_match(recs, tax_id_constraint=False, keep_min_probability=0.0).pairs
