"""Pairwise scoring with a per-field explanation (Fellegi-Sunter, no Splink at run time)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from custmaster.matching.compare import COMPARISONS, NULL_LEVEL
from custmaster.matching.frequencies import street_value
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare

__all__ = [
    "FieldExplanation",
    "MatchResult",
    "match_weight",
    "match_weight_filter",
    "probability_from_weight",
    "score",
]


@dataclass(frozen=True, slots=True)
class FieldExplanation:
    """How one comparison contributed to a score.

    Attributes:
        field: Comparison name (``name``, ``given_name``, ``family_name``, ``tax_id``,
            ``contact``, ``phone``, ``address``, ``country``).
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


_K = {c.name: k for k, c in enumerate(COMPARISONS)}
_NAME, _GIVEN, _FAMILY, _TAX, _CONTACT, _PHONE, _ADDRESS = (
    _K["name"],
    _K["given_name"],
    _K["family_name"],
    _K["tax_id"],
    _K["contact"],
    _K["phone"],
    _K["address"],
)


def _shared_tf(model: MatchModel, kind: str, values: set[str] | frozenset[str]) -> float:
    assert model.tf is not None
    return min((model.tf.tf(kind, v) for v in values), default=0.0)


def tf_adjustment(
    model: MatchModel, k: int, level: int, a: MatchFeatures, b: MatchFeatures
) -> float:
    """The term-frequency adjustment (<= 0) of comparison ``k`` at ``level``: the level's
    u is replaced by ``max(u, tf)`` of the value the records share (see
    :mod:`custmaster.matching.frequencies`); 0 without term frequencies.

    Example:
        >>> from custmaster.matching.frequencies import TermFrequencies
        >>> from custmaster.matching.record import MatchRecord
        >>> recs = [prepare(MatchRecord(str(i), phone="+12125550100")) for i in range(60)]
        >>> model = DEFAULT_MODEL.with_tf(TermFrequencies.from_features(recs))
        >>> round(tf_adjustment(model, _PHONE, 2, recs[0], recs[1]), 1)
        -14.3
    """
    tf = model.tf
    if tf is None:
        return 0.0
    freq = 0.0
    if k == _NAME:
        if level >= 4:
            # a common person name (or a typo of one: the more common of the two) is
            # weak evidence; an organisation's identical or near-identical name shared by
            # many records is mostly one company written many ways
            freq = max(tf.tf("name", a.name), tf.tf("name", b.name)) if a.kind == "person" else 0.0
        elif level == 3:
            freq = _shared_tf(model, "token", set(a.name_tokens) & set(b.name_tokens))
    elif k == _GIVEN:
        # identical or a typo apart: the more common of the two given names
        # (swapped: one of the two is the given name both records share)
        if level >= 4 and a.given and b.given:
            freq = max(tf.tf("given", a.given), tf.tf("given", b.given))
    elif k == _FAMILY:
        if level >= 3 and a.family and b.family:
            freq = max(tf.tf("family", a.family), tf.tf("family", b.family))
    elif k == _PHONE:
        if level == 2 and a.phone:
            freq = tf.tf("phone", a.phone)
    elif k == _CONTACT:
        if level == 3 and a.email:
            freq = tf.tf("email", a.email)
        elif level == 2:
            freq = _shared_tf(model, "domain", a.domains & b.domains)
    elif k == _ADDRESS and level >= 3:
        value = street_value(a)
        freq = tf.tf("street", value) if value else 0.0
    u = model.us[k][level]
    return math.log2(u / freq) if freq > u else 0.0


def _total(model: MatchModel, levels: list[int], weights: list[float]) -> float:
    """Prior plus the field weights; a pair whose names differ (both present; for two
    persons compared by name part: the family names differ and the given names differ
    or one is missing) and whose tax ids are not identical stays below the auto-merge
    threshold: a shared phone, mailbox, domain or address is never enough to merge
    different names unreviewed."""
    total = model.prior_weight + sum(weights)
    differ = levels[_NAME] == 0 or (levels[_FAMILY] == 0 and levels[_GIVEN] <= 0)
    if differ and levels[_TAX] != 2:
        total = min(total, model.review_cap)
    return total


def _weights(
    model: MatchModel, a: MatchFeatures, b: MatchFeatures, levels: list[int]
) -> list[float]:
    out = []
    adjust = model.tf is not None
    for k, level in enumerate(levels):
        if level == NULL_LEVEL:
            out.append(0.0)
            continue
        w = model.weights[k][level]
        if adjust:
            w += tf_adjustment(model, k, level, a, b)
        out.append(w)
    return out


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
    levels = [comp.compare(a, b) for comp in COMPARISONS]
    return _total(model, levels, _weights(model, a, b, levels))


#: Comparisons evaluated first by :func:`match_weight_filter` (cheap ones first; the
#: rapidfuzz-based name and address comparisons last).
_FILTER_ORDER = (
    "contact",
    "phone",
    "tax_id",
    "country",
    "family_name",
    "given_name",
    "name",
    "address",
)
#: Slack for the rounding of the bound (summed in another order than the weight).
_BOUND_SLACK = 1e-6


def match_weight_filter(
    model: MatchModel, min_weight: float
) -> Callable[[MatchFeatures, MatchFeatures], float | None]:
    """A pair scorer that skips the pairs that cannot reach ``min_weight`` (batch fast
    path).

    Evaluates the cheap comparisons first and stops as soon as the weight gathered so
    far plus the largest weight the remaining comparisons could add stays below
    ``min_weight`` (term-frequency adjustments and the cap only lower a weight, so the
    bound holds). A pair that may reach it gets exactly :func:`match_weight`'s value.

    Args:
        model: Model parameters.
        min_weight: Smallest weight of interest.

    Returns:
        ``scorer(a, b)``: the match weight, or None for a pair certainly below
        ``min_weight``.

    Example:
        >>> from custmaster.matching.record import MatchRecord
        >>> a = prepare(MatchRecord("1", name="Acme GmbH", tax_id="DE464070231"))
        >>> b = prepare(MatchRecord("2", name="Other AG", tax_id="FR40303265045"))
        >>> scorer = match_weight_filter(DEFAULT_MODEL, 2.0)
        >>> scorer(a, a) == match_weight(a, a), scorer(a, b)
        (True, None)
    """
    names = [c.name for c in COMPARISONS]
    order = sorted(
        range(len(COMPARISONS)),
        key=lambda k: (
            _FILTER_ORDER.index(names[k]) if names[k] in _FILTER_ORDER else len(_FILTER_ORDER)
        ),
    )
    weights = model.weights
    # the most the comparisons after step s can still add (null adds 0)
    rest = [0.0] * (len(order) + 1)
    for s in range(len(order) - 1, -1, -1):
        rest[s] = rest[s + 1] + max(0.0, *weights[order[s]])
    steps = tuple(
        (k, COMPARISONS[k].compare, weights[k], min_weight - _BOUND_SLACK - rest[s + 1])
        for s, k in enumerate(order)
    )
    prior = model.prior_weight
    n = len(COMPARISONS)

    def scorer(a: MatchFeatures, b: MatchFeatures) -> float | None:
        levels = [NULL_LEVEL] * n
        partial = prior
        for k, compare, w, need in steps:
            level = compare(a, b)
            if level != NULL_LEVEL:
                levels[k] = level
                partial += w[level]
            if partial < need:
                return None
        return _total(model, levels, _weights(model, a, b, levels))

    return scorer


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
        >>> result.decision, [(e.field, e.label) for e in result.explanation
        ...                   if e.field in ("name", "tax_id")]
        ('auto_merge', [('name', 'identical'), ('tax_id', 'null')])
    """
    a = _features(candidate)
    b = _features(existing)
    levels = [comp.compare(a, b) for comp in COMPARISONS]
    weights = _weights(model, a, b, levels)
    total = _total(model, levels, weights)
    parts: list[FieldExplanation] = []
    for comp, level, weight in zip(COMPARISONS, levels, weights, strict=True):
        label = "null" if level == NULL_LEVEL else comp.labels[level]
        parts.append(
            FieldExplanation(
                comp.name, level, label, round(weight, 4), comp.value(a), comp.value(b)
            )
        )
    probability = probability_from_weight(total)
    return MatchResult(
        existing_id=b.id,
        probability=probability,
        match_weight=total,
        decision=model.thresholds.decide(probability),
        explanation=tuple(parts),
    )
