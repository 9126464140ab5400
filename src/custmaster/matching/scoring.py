"""Pairwise scoring with a per-field explanation (Fellegi-Sunter, no Splink at run time)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from custmaster.matching.compare import COMPARISONS, NULL_LEVEL
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare

__all__ = [
    "FieldExplanation",
    "MatchResult",
    "match_weight",
    "probability_from_weight",
    "score",
]


@dataclass(frozen=True, slots=True)
class FieldExplanation:
    """How one comparison contributed to a score.

    Attributes:
        field: Comparison name (``name``, ``tax_id``, ``contact``, ``phone``,
            ``address``, ``country``).
        level: Comparison level, -1 when a value is missing on either side.
        label: Human description of the level (``"null"`` for -1).
        weight: log2 Bayes factor added to the match weight (0 for null).
        candidate_value: Normalised value of the candidate.
        existing_value: Normalised value of the existing record.
    """

    field: str
    level: int
    label: str
    weight: float
    candidate_value: str | None
    existing_value: str | None


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Score of a candidate against an existing record.

    Attributes:
        existing_id: Id of the existing record.
        probability: Match probability in [0, 1].
        match_weight: log2 odds of a match (prior included).
        decision: ``"auto_merge"``, ``"review"`` or ``"no_match"`` per the model thresholds.
        explanation: One :class:`FieldExplanation` per comparison.
    """

    existing_id: str
    probability: float
    match_weight: float
    decision: str
    explanation: tuple[FieldExplanation, ...]


def probability_from_weight(weight: float) -> float:
    """Convert a match weight (log2 odds) to a probability.

    Example:
        >>> probability_from_weight(0.0)
        0.5
    """
    if weight >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -weight))
    odds = math.pow(2.0, weight)
    return odds / (1.0 + odds)


def match_weight(a: MatchFeatures, b: MatchFeatures, model: MatchModel = DEFAULT_MODEL) -> float:
    """The match weight of a pair without building an explanation (batch fast path).

    Args:
        a: Features of one record.
        b: Features of the other record.
        model: Model parameters.

    Returns:
        Prior weight plus the weight of every non-null comparison level.

    Example:
        >>> from custmaster.matching.record import MatchRecord
        >>> a = prepare(MatchRecord("1", name="Acme GmbH", tax_id="DE464070231"))
        >>> match_weight(a, a) > 0
        True
    """
    total = model.prior_weight
    for comp, weights in zip(COMPARISONS, model.weights, strict=True):
        level = comp.compare(a, b)
        if level != NULL_LEVEL:
            total += weights[level]
    return total


def _features(rec: MatchRecord | MatchFeatures) -> MatchFeatures:
    return rec if isinstance(rec, MatchFeatures) else prepare(rec)


def score(
    candidate: MatchRecord | MatchFeatures,
    existing: MatchRecord | MatchFeatures,
    model: MatchModel = DEFAULT_MODEL,
) -> MatchResult:
    """Score a candidate record against an existing one and explain every field.

    Deterministic and fast (tens of microseconds with prepared features). Pass
    :class:`MatchFeatures` from :func:`~custmaster.matching.record.prepare` to avoid
    normalising the same record again for every pair.

    Args:
        candidate: The incoming record.
        existing: A stored record.
        model: Model parameters (m/u per level, prior, thresholds).

    Returns:
        A :class:`MatchResult`.

    Example:
        >>> from custmaster.matching.record import MatchRecord
        >>> a = MatchRecord("new", name="Stonefield Fasteners, LLC", phone="(486) 631-2560",
        ...                 country="US", postal_code="72727", street="81590 Benjamin Mews")
        >>> b = MatchRecord("C1", name="STONEFIELD FASTENERS LLC", phone="+14866312560",
        ...                 country="USA", postal_code="72727", street="81590 Benjamin Mews")
        >>> result = score(a, b)
        >>> result.decision, [(e.field, e.label) for e in result.explanation][:2]
        ('auto_merge', [('name', 'identical'), ('tax_id', 'null')])
    """
    a = _features(candidate)
    b = _features(existing)
    total = model.prior_weight
    parts: list[FieldExplanation] = []
    for comp, weights in zip(COMPARISONS, model.weights, strict=True):
        level = comp.compare(a, b)
        if level == NULL_LEVEL:
            label, weight = "null", 0.0
        else:
            label, weight = comp.labels[level], weights[level]
        total += weight
        parts.append(
            FieldExplanation(comp.name, level, label, round(weight, 4), comp.value(a),
                             comp.value(b))
        )
    probability = probability_from_weight(total)
    return MatchResult(
        existing_id=b.id,
        probability=probability,
        match_weight=total,
        decision=model.thresholds.decide(probability),
        explanation=tuple(parts),
    )
