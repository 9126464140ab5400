"""Online matching: the best existing customers for a candidate record, scored by the
Fellegi-Sunter model with a per-field explanation.

A lookup is one indexed query on ``match_keys`` (every blocking key of the candidate,
each cut at ``max_postings + 1`` rows: a key shared by more customers says too little
and is skipped, as in :class:`custmaster.matching.index.InMemoryIndex`), one query for
the prepared features of the candidates, and in-process scoring.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.matching.keys import DEFAULT_MAX_POSTINGS
from custmaster.matching.model import MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, from_customer_dict, prepare
from custmaster.matching.scoring import MatchResult, match_weight, score
from custmaster.services.dedup.models import current_model_and_version
from custmaster.services.dedup.ports import IndexedRecord
from custmaster.services.dedup.records import features_from_json, index_keys
from custmaster.services.ports import UnitOfWork

MAX_RESULTS = 50
#: Records scored per lookup: a duplicate shares several keys, so the records sharing
#: the most keys are scored, not the long tail sharing one broad key.
MAX_CANDIDATES = 100


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    """An existing customer scored against the candidate record."""

    customer_id: UUID
    number: str
    name: str
    result: MatchResult


def current_model(uow: UnitOfWork) -> MatchModel:
    """The current model version, else the model of the latest finished batch run, else
    the default model (see ``models.current_model_and_version``)."""
    return current_model_and_version(uow)[0]


def match_features(
    uow: UnitOfWork,
    candidate: MatchFeatures,
    *,
    model: MatchModel,
    limit: int = 10,
    min_probability: float = 0.0,
    exclude: Collection[UUID] = (),
    max_postings: int = DEFAULT_MAX_POSTINGS,
    max_candidates: int = MAX_CANDIDATES,
) -> list[MatchCandidate]:
    """Score the indexed customers sharing a selective blocking key with ``candidate``."""
    # Rank every candidate by the fast weight, explain only the best ones.
    ranked: list[tuple[float, str, IndexedRecord, MatchFeatures]] = []
    floor = weight_of(min_probability)
    keys = index_keys(candidate)
    for record in uow.matching.candidates(keys, max_postings, max_candidates + len(exclude)):
        if record.customer_id in exclude:
            continue
        features = features_from_json(record.features)
        weight = match_weight(candidate, features, model)
        if weight >= floor:
            ranked.append((-weight, record.number, record, features))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [
        MatchCandidate(r.customer_id, r.number, r.name, score(candidate, f, model))
        for _, _, r, f in ranked[:limit]
    ]


def weight_of(probability: float) -> float:
    """The match weight (log2 odds) of a probability; -inf for 0."""
    if probability <= 0:
        return -math.inf
    if probability >= 1:
        return math.inf
    return math.log2(probability / (1 - probability))


def match_record_in(
    uow: UnitOfWork,
    record: MatchRecord,
    *,
    limit: int = 10,
    min_probability: float = 0.0,
    exclude: Collection[UUID] = (),
) -> list[MatchCandidate]:
    """:func:`match_features` for a raw record, with the current model (no transaction
    of its own: the caller's unit of work is open)."""
    model = current_model(uow)
    return match_features(
        uow,
        prepare(record),
        model=model,
        limit=limit,
        min_probability=min_probability,
        exclude=exclude,
    )


def find_matches(
    uow: UnitOfWork,
    actor: Principal,
    candidate: Mapping[str, Any],
    *,
    limit: int = 10,
    min_probability: float = 0.0,
) -> tuple[list[MatchCandidate], MatchModel]:
    """``POST /match``: the best existing customers for a record in the create-request
    shape (incomplete records are fine: missing fields count as unknown)."""
    require(actor, Permission.CUSTOMER_READ)
    record = from_customer_dict({k: v for k, v in candidate.items() if k != "id"})
    with uow.read_only(autocommit=True):  # two independent reads: no transaction needed
        model = current_model(uow)
        found = match_features(
            uow,
            prepare(record),
            model=model,
            limit=min(limit, MAX_RESULTS),
            min_probability=min_probability,
        )
        return found, model


def explain(result: MatchResult) -> list[dict[str, Any]]:
    """The per-field explanation as JSON."""
    return [
        {
            "field": e.field,
            "level": e.level,
            "label": e.label,
            "weight": e.weight,
            "candidate_value": e.candidate_value,
            "existing_value": e.existing_value,
        }
        for e in result.explanation
    ]


def match_answer(
    uow: UnitOfWork,
    actor: Principal,
    candidate: Mapping[str, Any],
    limit: int = 10,
    min_score: float = 0.0,
) -> dict[str, Any]:
    """The answer of ``POST /match`` as JSON (the route, its fast path and the MCP tool
    give this one)."""
    found, model = find_matches(uow, actor, candidate, limit=limit, min_probability=min_score)
    items = [
        {
            "customer_id": str(c.customer_id),
            "number": c.number,
            "name": c.name,
            "score": c.result.probability,
            "match_weight": round(c.result.match_weight, 4),
            "decision": c.result.decision,
            "explanation": explain(c.result),
        }
        for c in found
    ]
    thresholds = {"auto_merge": model.thresholds.auto_merge, "review": model.thresholds.review}
    return {"items": items, "thresholds": thresholds}
