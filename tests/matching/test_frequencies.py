"""Term-frequency adjustments (custmaster.matching.frequencies and scoring)."""

from __future__ import annotations

import json
from dataclasses import replace

from custmaster.matching.batch import batch_match
from custmaster.matching.frequencies import TermFrequencies
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.scoring import score

SWITCHBOARD = "(212) 639-2000"


def _agency_sites() -> list[MatchRecord]:
    """One agency's 40 sites, each its own programme, all answering on the switchboard;
    and 60 other organisations with their own lines."""
    sites = [
        MatchRecord(
            f"s{i}",
            name=f"{kind} Program {i}",
            phone=SWITCHBOARD,
            street=f"{10 + i} W {30 + i}th St",
            city="New York",
            country="US",
        )
        for i, kind in zip(range(40), ["Youth", "Senior", "Family", "Health"] * 10, strict=True)
    ]
    others = [
        MatchRecord(
            f"o{i}",
            name=f"Other Org {i}",
            phone=f"(718) 555-{i:04d}",
            street=f"{i} Main St",
            city="Brooklyn",
            country="US",
        )
        for i in range(60)
    ]
    return sites + others


def test_a_shared_switchboard_is_weak_evidence() -> None:
    recs = [prepare(r) for r in _agency_sites()]
    tf = TermFrequencies.from_features(recs)
    plain = score(recs[0], recs[1])
    adjusted = score(recs[0], recs[1], DEFAULT_MODEL.with_tf(tf))
    phone = {e.field: e.weight for e in plain.explanation}["phone"]
    phone_tf = {e.field: e.weight for e in adjusted.explanation}["phone"]
    assert phone > 13 and phone_tf < 3  # 40 of 100 records share it
    assert adjusted.decision == "no_match"
    # a private line keeps its full weight
    private = prepare(MatchRecord("x", name="Other Org 3 Inc", phone="718 555 0003", country="US"))
    assert score(private, recs[43], DEFAULT_MODEL.with_tf(tf)).decision != "no_match"
    result = batch_match(recs)
    assert not any(c for c in result.clusters if {"s0", "s1"} <= set(c))


def test_a_shared_phone_mailbox_or_domain_with_different_names_never_auto_merges() -> None:
    a = MatchRecord(
        "1",
        name="Northside Youth Center",
        email="info@cityagency.example",
        phone="212 639 2000",
        website="cityagency.example",
        street="5 Elm St",
        postal_code="10001",
        city="New York",
        country="US",
    )
    b = MatchRecord(
        "2",
        name="Harlem Senior Services",
        email="info@cityagency.example",
        phone="212 639 2000",
        website="cityagency.example",
        street="5 Elm St",
        postal_code="10001",
        city="New York",
        country="US",
    )
    result = score(a, b)
    assert result.decision == "review" and result.probability < DEFAULT_MODEL.thresholds.auto_merge
    # one legal entity under two names (same tax id) may still merge unreviewed
    same_tax = score(replace(a, tax_id="94-1234567"), replace(b, tax_id="941234567"))
    assert same_tax.decision == "auto_merge"


def test_term_frequencies_survive_the_model_json() -> None:
    recs = [prepare(r) for r in _agency_sites()]
    model = DEFAULT_MODEL.with_tf(TermFrequencies.from_features(recs, own=1.5))
    loaded = MatchModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert loaded == model and loaded.tf is not None and loaded.tf.own == 1.5
    assert loaded.tf.tf("phone", "+12126392000") == (40 - 1.5) / 100
