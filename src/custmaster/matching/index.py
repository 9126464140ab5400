"""An in-memory blocking-key index: the reference for the database match-key table.

The database layer keeps a ``match_keys(customer_id, key_type, key_value)`` table with
an index on ``(key_type, key_value)``, rewritten in the same transaction as every
customer change. A lookup is then exactly :meth:`InMemoryIndex.candidates`: fetch the
ids sharing any key of the candidate, skipping keys shared by more than
``max_postings`` records, and score each with :func:`~custmaster.matching.scoring.score`.
This class does the same in memory (for tests, benchmarks and small deployments).
"""

from __future__ import annotations

from collections.abc import Iterable

from custmaster.matching.keys import DEFAULT_MAX_POSTINGS, match_keys
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.matching.scoring import MatchResult, score

__all__ = ["InMemoryIndex"]


def _key_hash(key: tuple[str, str]) -> int:
    return hash(f"{key[0]}\x1f{key[1]}")


class InMemoryIndex:
    """Blocking-key index with online matching.

    Args:
        model: Model used by :meth:`match`.
        max_postings: Keys shared by more records than this are skipped at lookup.

    Example:
        >>> index = InMemoryIndex()
        >>> index.add(MatchRecord("C1", name="Acme GmbH", email="ap@acme.example"))
        >>> [r.existing_id for r in index.match(MatchRecord("", name="ACME",
        ...                                                   email="AP@acme.example"))]
        ['C1']
    """

    def __init__(
        self, model: MatchModel = DEFAULT_MODEL, max_postings: int = DEFAULT_MAX_POSTINGS
    ) -> None:
        self.model = model
        self.max_postings = max_postings
        self._features: dict[str, MatchFeatures] = {}
        self._keys: dict[str, tuple[int, ...]] = {}
        self._postings: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._features)

    def add(self, record: MatchRecord | MatchFeatures) -> None:
        """Insert or replace a record (replacing rewrites its keys, like the DB table).

        Args:
            record: The record; its ``id`` must be non-empty.
        """
        f = record if isinstance(record, MatchFeatures) else prepare(record)
        if not f.id:
            raise ValueError("indexed records need an id")
        if f.id in self._features:
            self.remove(f.id)
        hashes = tuple(_key_hash(k) for k in match_keys(f))
        self._features[f.id] = f
        self._keys[f.id] = hashes
        for h in hashes:
            self._postings.setdefault(h, []).append(f.id)

    def add_all(self, records: Iterable[MatchRecord | MatchFeatures]) -> None:
        """Insert many records."""
        for rec in records:
            self.add(rec)

    def remove(self, record_id: str) -> None:
        """Delete a record and its keys (no error when absent)."""
        if self._features.pop(record_id, None) is None:
            return
        for h in self._keys.pop(record_id, ()):
            ids = self._postings.get(h)
            if ids is not None:
                ids.remove(record_id)
                if not ids:
                    del self._postings[h]

    def candidates(self, record: MatchRecord | MatchFeatures) -> set[str]:
        """Ids of indexed records sharing a selective key with ``record``.

        Args:
            record: The candidate.

        Returns:
            Ids (the candidate's own id excluded).
        """
        f = record if isinstance(record, MatchFeatures) else prepare(record)
        found: set[str] = set()
        for key in match_keys(f):
            ids = self._postings.get(_key_hash(key))
            if ids is not None and len(ids) <= self.max_postings:
                found.update(ids)
        found.discard(f.id)
        return found

    def match(
        self,
        record: MatchRecord | MatchFeatures,
        limit: int = 10,
        min_probability: float = 0.0,
    ) -> list[MatchResult]:
        """Best indexed matches of a candidate, highest probability first.

        Args:
            record: The candidate.
            limit: Maximum results.
            min_probability: Drop results below this probability.

        Returns:
            Scored results with per-field explanations; ties broken by id.
        """
        f = record if isinstance(record, MatchFeatures) else prepare(record)
        results = [score(f, self._features[cid], self.model) for cid in self.candidates(f)]
        results = [r for r in results if r.probability >= min_probability]
        results.sort(key=lambda r: (-r.match_weight, r.existing_id))
        return results[:limit]
