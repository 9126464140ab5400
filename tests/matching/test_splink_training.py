"""Tests for custmaster.matching.splink_training (small data; Splink runs offline)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("splink")

from custmaster.matching.compare import COMPARISONS
from custmaster.matching.model import MatchModel, Thresholds
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.splink_training import (
    model_from_splink_settings,
    train_model,
)


def _records() -> list[MatchRecord]:
    recs = []
    for i in range(150):
        for dup in range(1 + i % 2):
            recs.append(
                MatchRecord(
                    f"{i}-{dup}",
                    name=f"Firm{i} {'GmbH' if dup else 'G.m.b.H.'}",
                    email=f"ap@firm{i}.example" if dup == 0 or i % 3 else None,
                    tax_id=f"DE{100000000 + i}" if i % 4 else None,
                    postal_code=f"{10000 + i % 40}",
                    city=f"City{i % 25}",
                    street=f"Weg {i}",
                    country="DE",
                )
            )
    return recs


def test_train_model_exports_every_level() -> None:
    feats = [prepare(r) for r in _records()]
    model = train_model(feats, max_pairs=2e4, thresholds=Thresholds(0.99, 0.7))
    assert isinstance(model, MatchModel)
    for comp in COMPARISONS:
        levels = model.levels[comp.name]
        assert [lv.label for lv in levels] == list(comp.labels)
        assert all(0 < lv.m <= 1 and 0 < lv.u <= 1 for lv in levels)
    assert model.weights[0][-1] > 0 > model.weights[0][0]  # identical name is evidence
    assert 0 < model.prior < 1
    json.dumps(model.to_dict())
    bigger = train_model(feats, max_pairs=2e4, population_size=len(feats) * 10)
    assert bigger.prior < model.prior


def test_model_from_splink_settings_floors_probabilities() -> None:
    comparisons = []
    for comp in COMPARISONS:
        levels = [{"is_null_level": True, "label_for_charts": "null"}]
        levels += [{"m_probability": 0.0, "u_probability": 0.5} for _ in comp.labels]
        comparisons.append({"output_column_name": comp.name, "comparison_levels": levels})
    settings = {"comparisons": comparisons, "probability_two_random_records_match": 0.01}
    model = model_from_splink_settings(settings, Thresholds())
    assert all(lv.m == 1e-4 for lv in model.levels["name"])


def test_splink_training_without_email_or_tax_id_does_not_crash() -> None:
    recs = [
        MatchRecord(
            f"{i}-{d}",
            name=f"Clinic {i}{' Inc' if d else ''}",
            phone=f"+1212555{1000 + i}",
            postal_code=f"{10001 + i % 30}",
            street=f"{i} Elm St",
            city="New York",
            country="US",
        )
        for i in range(150)
        for d in range(1 + i % 2)
    ]
    model = train_model([prepare(r) for r in recs], max_pairs=2e4)
    assert 0 < model.prior < 1  # used to raise "math domain error"
    for comp in COMPARISONS:
        assert model.levels[comp.name][0].weight <= 0
    assert all(level.weight == 0 for level in model.levels["tax_id"])
