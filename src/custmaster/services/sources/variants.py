"""A golden record matched with every form its sources gave it.

The match index holds one entry per golden record, made of its validated values. Its
source records keep their own match features, made of the values as received: another
phone, the old address before a move, a tax id dropped as invalid, another spelling of
the name. The batch run (``custmaster match run``) scores those *variants* too, under the
golden record they belong to, so a record that resembles one of a company's sources
finds the company, as it would had every record been matched on its own.

A variant's pairs count for its golden record: per pair of golden (or pending) records
the strongest link of any of their forms is kept, with the records it joined. The pending
records of one pending group (incomplete records matched together,
``services.sources.pending``) count as one the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custmaster.matching.batch import ScoredPair
from custmaster.matching.record import MatchFeatures
from custmaster.services.dedup.records import features_from_json, features_to_json
from custmaster.services.ports import UnitOfWork


@dataclass
class Variants:
    """The variants of the indexed golden records.

    Attributes:
        features: one per distinct form a golden record's sources gave it that differs
            from its index entry (ids: the source records').
        owner: source record id -> its golden record's id (or its pending group's).
    """

    features: list[MatchFeatures] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)


def _form(features: MatchFeatures) -> tuple[tuple[str, Any], ...]:
    """What a feature set says, its id aside (to tell distinct forms apart)."""
    return tuple((k, repr(v)) for k, v in features_to_json(features).items() if k != "id")


def load_variants(
    uow: UnitOfWork, indexed: Mapping[str, MatchFeatures], batch_size: int
) -> Variants:
    """The variants of the golden records in ``indexed`` (id -> their index entry's
    features), read in
    the caller's (read-only) transaction. Records of golden records not indexed (inactive)
    are left out; so are forms equal to the index entry or to another variant."""
    found = Variants()
    seen: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for batch in uow.sources.iter_attached_features(batch_size):
        for record_id, golden_id, features in batch:
            golden = str(golden_id)
            entry = indexed.get(golden)
            if entry is None:
                continue
            forms = seen.setdefault(golden, {_form(entry)})
            rid = str(record_id)
            variant = features_from_json({**features, "id": rid})
            form = _form(variant)
            if form in forms:
                continue
            forms.add(form)
            found.features.append(variant)
            found.owner[rid] = golden
    # the records of a pending group count as one (the group's id is one of them)
    for record_id, group in uow.sources.pending_groups().items():
        if str(group) in indexed and record_id != group:
            found.owner[str(record_id)] = str(group)
    return found


def owner_pairs(
    pairs: Sequence[ScoredPair], owner: Mapping[str, str]
) -> tuple[list[ScoredPair], dict[tuple[str, str], tuple[str, str]]]:
    """The scored pairs between owners (golden or pending records): per pair of owners the
    strongest, strongest first; and, for the pairs a variant made, the records it joined
    (``(owner_a, owner_b) -> (record_a, record_b)``, owners in order)."""
    best: dict[tuple[str, str], ScoredPair] = {}
    via: dict[tuple[str, str], tuple[str, str]] = {}
    for p in pairs:
        a, b = owner.get(p.id_l, p.id_l), owner.get(p.id_r, p.id_r)
        if a == b:
            continue
        (a, ra), (b, rb) = sorted(((a, p.id_l), (b, p.id_r)))
        key = (a, b)
        if key in best and best[key].match_weight >= p.match_weight:
            continue
        best[key] = ScoredPair(a, b, p.match_weight, p.probability)
        if (ra, rb) != key:
            via[key] = (ra, rb)
        else:
            via.pop(key, None)
    ordered = sorted(best.values(), key=lambda q: (-q.match_weight, q.id_l, q.id_r))
    return ordered, via
