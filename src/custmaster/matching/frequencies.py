"""Term frequencies: a value many records share is weaker evidence.

Like Splink's term-frequency adjustments: when two records agree on a value, the chance
that two *non-matching* records agree on that very value is about its frequency among
the records (``tf``), not the average chance of agreeing (the level's u). The scorer uses
``max(u, tf)`` in place of u for the agreeing levels of names, name tokens, persons'
given and family names, phones, e-mail addresses, domains and streets: a switchboard
phone shared by 30 sites, a common company name or a business-centre address adds less,
a rare value never more than its level's u allows (the adjustment only weakens).

A person's name (and a name word) is counted once per place it is seen in (postal code,
else city): one inventor on a thousand patents from a few towns, or one customer
imported from five systems, is a name seen in a few places, while "John Smith" is seen
in hundreds. Records without a place count one each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custmaster.matching.compare import street_core
from custmaster.matching.record import MatchFeatures

__all__ = ["KINDS", "TermFrequencies", "street_value", "values_of"]

#: Fewest records with a value of a kind for its frequencies to count (below, a share is
#: no estimate of how common a value is).
MIN_POPULATION = 50
#: The kinds of values counted.
KINDS = ("name", "token", "given", "family", "phone", "email", "domain", "street")
#: Kinds counted once per (value, place) rather than once per record.
_BY_PLACE = frozenset({"name", "token", "given", "family"})


def street_value(f: MatchFeatures) -> str | None:
    """The address value counted for streets: street name and house number."""
    if not f.street:
        return None
    return f"{street_core(f.street)}|{f.house_number or ''}"


def values_of(f: MatchFeatures) -> Iterable[tuple[str, str]]:
    """The ``(kind, value)`` pairs of a record that are counted."""
    if f.name:
        yield "name", f.name
        for token in set(f.name_tokens):
            yield "token", token
    if f.given:
        yield "given", f.given
    if f.family:
        yield "family", f.family
    if f.phone:
        yield "phone", f.phone
    if f.email:
        yield "email", f.email
    for domain in f.domains:
        yield "domain", domain
    street = street_value(f)
    if street:
        yield "street", street


def _place(f: MatchFeatures) -> str:
    """Where a record is (postal code, else city); its id when neither is known."""
    if f.postal_code:
        return f"{f.country or '-'}|p|{f.postal_code}"
    if f.city:
        return f"{f.country or '-'}|c|{f.city}"
    return f"#{f.id}"


@dataclass(frozen=True)
class TermFrequencies:
    """Counts of the values shared by at least two records, per kind.

    Attributes:
        totals: Kind -> number of records with a value of that kind.
        counts: Kind -> value -> records with it (only values seen at least twice).
        own: Records of one entity expected to share a value (the record itself and its
            duplicates): they are no evidence against the value, so ``tf`` counts
            ``count - own`` other records (at least 0).

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> recs = [prepare(MatchRecord(str(i), name=f"Site {i}", phone="+12125550100"))
        ...         for i in range(30)]
        >>> recs += [prepare(MatchRecord(str(i), phone=f"+1212555{i:04d}")) for i in range(70)]
        >>> tf = TermFrequencies.from_features(recs)
        >>> tf.tf("phone", "+12125550100"), tf.tf("phone", "+12125550199")
        (0.29, 0.0)
    """

    totals: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    own: float = 1.0

    @classmethod
    def from_features(
        cls,
        features: Iterable[MatchFeatures],
        *,
        min_count: int = 2,
        top: int | None = None,
        own: float = 1.0,
    ) -> TermFrequencies:
        """Count the values of a population.

        Args:
            features: The records.
            min_count: Keep values shared by at least this many records.
            top: Keep at most this many values per kind (the most frequent).
            own: See the class attributes.
        """
        counters: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        totals = dict.fromkeys(KINDS, 0)
        places: set[tuple[str, str, str]] = set()
        for f in features:
            place = _place(f)
            for kind, value in values_of(f):
                totals[kind] += 1
                if kind in _BY_PLACE:
                    if (kind, value, place) in places:
                        continue
                    places.add((kind, value, place))
                counters[kind][value] += 1
        counts: dict[str, dict[str, int]] = {}
        for kind, counter in counters.items():
            common = counter.most_common(top)
            counts[kind] = {v: n for v, n in common if n >= min_count}
        totals["token"] = totals["name"]  # a token's share of the named records
        return cls(totals, counts, own)

    def tf(self, kind: str, value: str) -> float:
        """The share of the records with a value of ``kind`` that have ``value`` and are
        not the record's own entity (0 for a value not counted: seen once; 0 below
        :data:`MIN_POPULATION` records)."""
        total = self.totals.get(kind, 0)
        if total < MIN_POPULATION:
            return 0.0
        return max(self.counts.get(kind, {}).get(value, 1) - self.own, 0.0) / total

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "totals": dict(self.totals),
            "counts": {k: dict(v) for k, v in self.counts.items()},
            "own": self.own,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TermFrequencies:
        """Load :meth:`to_dict`'s output."""
        return cls(
            {str(k): int(v) for k, v in (data.get("totals") or {}).items()},
            {
                str(kind): {str(v): int(n) for v, n in values.items()}
                for kind, values in (data.get("counts") or {}).items()
            },
            float(data.get("own", 1.0)),
        )
