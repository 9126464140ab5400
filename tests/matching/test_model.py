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
    levels = dict(DEFAULT_MODEL.levels)
    levels["name"] = levels["name"][:2]
    with pytest.raises(ValueError, match="name"):
        MatchModel(DEFAULT_MODEL.prior, levels)


def test_a_model_stored_before_a_level_was_added_loads_by_label() -> None:
    data = DEFAULT_MODEL.to_dict()
    old = [lv for lv in data["comparisons"]["name"] if not lv["label"].startswith("same family")]
    old[2] = {**old[2], "m": 0.5}  # "words contained" of the stored model
    data["comparisons"]["name"] = old
    loaded = MatchModel.from_dict(data)
    labels = [p.label for p in loaded.levels["name"]]
    assert labels == [p.label for p in DEFAULT_MODEL.levels["name"]]
    assert loaded.levels["name"][3].m == 0.5  # kept, at its new index
    assert loaded.levels["name"][1] == DEFAULT_MODEL.levels["name"][1]  # new: default


def test_thresholds() -> None:
    thr = Thresholds(auto_merge=0.99, review=0.8)
    assert [thr.decide(p) for p in (0.995, 0.9, 0.1)] == ["auto_merge", "review", "no_match"]
    model = DEFAULT_MODEL.with_thresholds(thr)
    assert MatchModel.from_dict(model.to_dict()).thresholds == thr
