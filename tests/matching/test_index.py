"""Tests for custmaster.matching.index."""

from __future__ import annotations

import pytest

from custmaster.matching.index import InMemoryIndex
from custmaster.matching.record import MatchRecord


def _index() -> InMemoryIndex:
    index = InMemoryIndex()
    index.add(
        MatchRecord(
            "C1",
            name="Acme GmbH",
            email="ap@acme.example",
            country="DE",
            postal_code="10115",
            street="Hauptstr. 1",
        )
    )
    index.add(MatchRecord("C2", name="Beta AG", email="x@beta.example", country="DE"))
    return index


def test_match_returns_best_first_with_explanation() -> None:
    results = _index().match(
        MatchRecord("", name="ACME G.m.b.H.", email="AP@acme.example", country="DE")
    )
    assert [r.existing_id for r in results] == ["C1"]
    assert results[0].explanation[0].field == "name"


def test_replace_and_remove_keep_keys_in_sync() -> None:
    index = _index()
    index.add(MatchRecord("C1", name="Renamed Ltd", email="ap@renamed.example", country="GB"))
    assert len(index) == 2
    assert index.candidates(MatchRecord("", email="ap@acme.example")) == set()
    index.remove("C1")
    index.remove("missing")
    assert index.candidates(MatchRecord("", email="ap@renamed.example")) == set()
    assert len(index) == 1


def test_common_keys_are_skipped() -> None:
    index = InMemoryIndex(max_postings=2)
    for i in range(3):
        index.add(MatchRecord(f"C{i}", name="Same Name", country="DE"))
    assert index.candidates(MatchRecord("", name="Same Name", country="DE")) == set()


def test_candidate_excludes_itself_and_needs_id_to_add() -> None:
    index = _index()
    assert "C2" not in index.candidates(MatchRecord("C2", name="Beta AG", country="DE"))
    with pytest.raises(ValueError, match="id"):
        index.add(MatchRecord(""))
