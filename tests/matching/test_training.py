"""Tests for custmaster.matching.training (pure EM training, no Splink)."""

from __future__ import annotations

import json

from custmaster.matching.compare import COMPARISONS
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import score
from custmaster.matching.training import LabelledPair, calibrate_auto_merge, train

STREETS = ("Harbor Rd", "Elm St", "Oak Ave", "Pine Blvd", "Cedar Ln", "Maple Dr")


def _sites() -> list[MatchFeatures]:
    """Real-shaped organisation records without e-mail or tax id: name, phone, address;
    a third of the sites listed twice with typos and format changes."""
    recs = []
    for i in range(240):
        base = dict(
            name=f"Riverside Clinic {i}",
            phone=f"(212) 555-{1000 + i:04d}",
            street=f"{100 + i} {STREETS[i % 6]}",
            postal_code=f"{10001 + i % 60}",
            city="New York",
            country="US",
        )
        recs.append(MatchRecord(f"{i}-a", **base))  # type: ignore[arg-type]
        if i % 3 == 0:
            dup = {**base, "name": f"RIVERSIDE CLINIC {i} INC", "phone": f"212.555.{1000 + i:04d}"}
            if i % 2:
                dup["postal_code"] = None  # type: ignore[assignment]
            recs.append(MatchRecord(f"{i}-b", **dup))  # type: ignore[arg-type]
    return [prepare(r) for r in recs]


def test_training_without_email_or_tax_id_estimates_m_and_the_prior() -> None:
    trained = train(_sites(), max_random_pairs=20_000)
    report = trained.report
    assert not report["warnings"]
    used = {s["rule"] for s in report["sessions"] if "skipped" not in s}
    assert {"same phone", "same postal code"} <= used
    assert all(src == "em" for src in report["levels"]["phone"])
    assert 0 < trained.model.prior < 0.01
    json.dumps(report)
    model = trained.model
    by_id = {f.id: f for f in _sites()}
    assert score(by_id["3-a"], by_id["3-b"], model).decision != "no_match"
    assert score(by_id["3-a"], by_id["4-a"], model).decision == "no_match"


def test_levels_training_cannot_estimate_never_reward_a_conflict() -> None:
    trained = train(_sites(), max_random_pairs=20_000)
    model = trained.model
    tax = model.levels["tax_id"]  # nobody has a tax id: no u, no m
    assert trained.report["levels"]["tax_id"] == ["neutral"] * 3
    assert all(level.weight == 0 for level in tax)
    for comp in COMPARISONS:  # a conflict is never evidence of a match
        assert model.levels[comp.name][0].weight <= 0, comp.name
    # the old fallback (m=1e-4, u=1e-6 for levels not estimated) gave +6.6 bits here
    assert model.levels["country"][0].weight <= 0


def test_thin_data_never_crashes() -> None:
    one = train([prepare(MatchRecord("1", name="Acme"))])
    assert one.model.prior == DEFAULT_MODEL.prior and one.report["warnings"]
    none = train([])
    assert isinstance(none.model, MatchModel)
    names_only = [
        prepare(MatchRecord(str(i), name=n))
        for i, n in enumerate(
            ["Koninklijke Philips N.V.", "Philips NV", "Royal Philips", "Shell plc", "Shell"] * 8
        )
    ]
    trained = train(names_only, max_random_pairs=5_000)
    assert 0 < trained.model.prior < 1
    assert trained.model.levels["name"][-1].weight > 0  # identical names stay evidence


def test_labels_change_m_and_calibrate_the_auto_merge_threshold() -> None:
    feats = _sites()
    plain = train(feats, max_random_pairs=20_000)
    top = tuple(c.num_levels - 1 for c in COMPARISONS)
    same_phone_other_name = (0, -1, -1, -1, -1, 2, 1, 1)  # a shared switchboard
    labels = [LabelledPair(top, True)] * 30 + [LabelledPair(same_phone_other_name, False)] * 30
    labels += [LabelledPair((3, -1, -1, -1, -1, 0, 4, 1), True)] * 30  # new phone, same site
    taught = train(feats, labels=labels, max_random_pairs=20_000)
    assert taught.model.levels["phone"][0].m > plain.model.levels["phone"][0].m
    calibration = taught.report["calibration"]
    assert calibration["calibrated"] and calibration["precision"] >= 0.995
    assert taught.model.thresholds.auto_merge == calibration["auto_merge"]


def test_calibration_raises_the_threshold_above_labelled_non_matches() -> None:
    top = tuple(c.num_levels - 1 for c in COMPARISONS)
    weak = (5, -1, -1, -1, -1, -1, -1, 1)  # identical name only
    labels = [LabelledPair(top, True)] * 50 + [LabelledPair(weak, False)] * 5
    threshold, precision = calibrate_auto_merge(DEFAULT_MODEL, labels)
    weak_p = score(
        prepare(MatchRecord("1", name="Acme", country="DE")),
        prepare(MatchRecord("2", name="Acme", country="DE")),
    ).probability
    assert threshold > weak_p and precision == 1.0
