"""Steward decisions as labelled pairs (custmaster.services.dedup.models)."""

from __future__ import annotations

from datetime import UTC, datetime

from custmaster.matching.compare import COMPARISONS, NULL_LEVEL
from custmaster.services.dedup.models import labelled_pairs
from custmaster.services.dedup.ports import ClusterRecord

_NAME = [c.name for c in COMPARISONS].index("name")


def _cluster(status: str, explanation: list[dict[str, object]]) -> ClusterRecord:
    pair = {"a": "1", "b": "2", "explanation": explanation}
    return ClusterRecord(1, status, "review", 0.9, ["1", "2"], [pair], datetime.now(UTC))


def test_levels_are_read_by_label_so_older_explanations_keep_their_meaning() -> None:
    # scored when "words contained" was name level 2 (a level was added below it since)
    old = [
        {"field": "name", "level": 2, "label": "words contained (token-set >= 92)"},
        {"field": "country", "level": 1, "label": "identical"},
    ]
    (pair,) = labelled_pairs([_cluster("merged", old)])
    assert COMPARISONS[_NAME].labels[pair.levels[_NAME]] == "words contained (token-set >= 92)"
    assert pair.is_match
    unknown = [{"field": "name", "level": 2, "label": "a level that no longer exists"}]
    (pair,) = labelled_pairs([_cluster("not_duplicate", unknown)])
    assert pair.levels[_NAME] == NULL_LEVEL and not pair.is_match
    assert labelled_pairs([_cluster("open", old)]) == []
