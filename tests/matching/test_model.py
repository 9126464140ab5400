"""Tests for custmaster.matching.model."""

from __future__ import annotations

import json
import math

import pytest

from custmaster.matching.compare import COMPARISONS
from custmaster.matching.model import DEFAULT_MODEL, LevelParams, MatchModel, Thresholds


def test_json_round_trip() -> None:
    data = json.loads(json.dumps(DEFAULT_MODEL.to_dict()))
    assert MatchModel.from_dict(data) == DEFAULT_MODEL
    assert set(data["comparisons"]) == {c.name for c in COMPARISONS}


def test_weights_are_log2_bayes_factors() -> None:
    level = LevelParams("x", 0.5, 0.001)
    assert level.weight == pytest.approx(math.log2(500))
    assert LevelParams("zero", 0.0, 0.0).weight == 0.0


def test_levels_must_match_comparisons() -> None:
    data = DEFAULT_MODEL.to_dict()
    data["comparisons"]["name"] = data["comparisons"]["name"][:2]
    with pytest.raises(ValueError, match="name"):
        MatchModel.from_dict(data)


def test_thresholds() -> None:
    thr = Thresholds(auto_merge=0.99, review=0.8)
    assert [thr.decide(p) for p in (0.995, 0.9, 0.1)] == ["auto_merge", "review", "no_match"]
    model = DEFAULT_MODEL.with_thresholds(thr)
    assert MatchModel.from_dict(model.to_dict()).thresholds == thr
