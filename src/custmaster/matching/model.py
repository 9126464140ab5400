"""Fellegi-Sunter model parameters as a plain, JSON-able structure.

The model holds, for every comparison of :data:`~custmaster.matching.compare.COMPARISONS`,
the m probability (P(level | match)) and u probability (P(level | non-match)) of each
level, the prior probability that two random records match, and the decision
thresholds. :data:`DEFAULT_MODEL` is a hand-set starting point; trained parameters
(Splink EM, see ``custmaster.matching.splink_training``) replace it via
:meth:`MatchModel.from_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from custmaster.matching.compare import COMPARISONS
from custmaster.matching.frequencies import TermFrequencies

__all__ = ["DEFAULT_MODEL", "LevelParams", "MatchModel", "Thresholds"]

_MIN_PROB = 1e-9


@dataclass(frozen=True, slots=True)
class LevelParams:
    """m and u probabilities of one comparison level."""

    label: str
    m: float
    u: float

    @property
    def bayes_factor(self) -> float:
        """m / u, clamped away from 0 and infinity."""
        return max(self.m, _MIN_PROB) / max(self.u, _MIN_PROB)

    @property
    def weight(self) -> float:
        """log2(m / u): the match weight this level adds."""
        return math.log2(self.bayes_factor)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds on the match probability.

    Attributes:
        auto_merge: At or above: merge without review.
        review: At or above (and below ``auto_merge``): send to a data steward.
    """

    auto_merge: float = 0.995
    review: float = 0.80

    def decide(self, probability: float) -> str:
        """Return ``"auto_merge"``, ``"review"`` or ``"no_match"`` for a probability.

        Example:
            >>> Thresholds(0.99, 0.8).decide(0.9)
            'review'
        """
        if probability >= self.auto_merge:
            return "auto_merge"
        if probability >= self.review:
            return "review"
        return "no_match"


_DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class MatchModel:
    """Parameters of the probabilistic model.

    Attributes:
        prior: Probability that two random records match (``probability_two_random_records_match``).
        levels: Comparison name -> parameters per level (index = level).
        thresholds: Decision thresholds.
        tf: Term frequencies of the population scored (None: no adjustment); see
            :mod:`custmaster.matching.frequencies`.

    Example:
        >>> model = MatchModel.from_dict(DEFAULT_MODEL.to_dict())
        >>> model == DEFAULT_MODEL
        True
    """

    prior: float
    levels: dict[str, tuple[LevelParams, ...]]
    thresholds: Thresholds = field(default_factory=Thresholds)
    tf: TermFrequencies | None = None
    weights: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)
    prior_weight: float = field(init=False, repr=False, compare=False)
    review_cap: float = field(init=False, repr=False, compare=False)
    us: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = []
        us = []
        for comp in COMPARISONS:
            params = self.levels.get(comp.name)
            if params is None or len(params) != comp.num_levels:
                raise ValueError(
                    f"model needs {comp.num_levels} levels for comparison {comp.name!r}"
                )
            if comp.name == "given_name":
                params = _swap_capped(params)
            table.append(tuple(p.weight for p in params))
            us.append(tuple(max(p.u, _MIN_PROB) for p in params))
        object.__setattr__(self, "weights", tuple(table))
        object.__setattr__(self, "us", tuple(us))
        prior = min(max(self.prior, _MIN_PROB), 1 - _MIN_PROB)
        object.__setattr__(self, "prior_weight", math.log2(prior / (1 - prior)))
        auto = min(max(self.thresholds.auto_merge, _MIN_PROB), 1 - _MIN_PROB)
        # just below the auto-merge threshold: the cap of pairs never enough to auto-merge
        object.__setattr__(self, "review_cap", math.log2(auto / (1 - auto)) - 1e-3)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to plain JSON types.

        Returns:
            ``{"prior": float, "thresholds": {...}, "comparisons": {name: [{"label",
            "m", "u"}, ...]}}``; level lists are ordered from level 0 upwards.
        """
        data: dict[str, Any] = {
            "prior": self.prior,
            "thresholds": {
                "auto_merge": self.thresholds.auto_merge,
                "review": self.thresholds.review,
            },
            "comparisons": {
                name: [{"label": p.label, "m": p.m, "u": p.u} for p in params]
                for name, params in self.levels.items()
            },
        }
        if self.tf is not None:
            data["term_frequencies"] = self.tf.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        """Load a model saved with :meth:`to_dict`.

        Args:
            data: The JSON-able dict.

        Returns:
            The model; a missing ``thresholds`` entry takes the defaults.
        """
        thr = data.get("thresholds") or {}
        tf = data.get("term_frequencies")
        stored = {
            name: tuple(LevelParams(str(p["label"]), float(p["m"]), float(p["u"])) for p in params)
            for name, params in data["comparisons"].items()
        }
        # a comparison added after the model was stored takes the default m and u
        levels = {c.name: DEFAULT_MODEL.levels[c.name] for c in COMPARISONS}
        levels.update({name: _upgraded(name, params) for name, params in stored.items()})
        return cls(
            prior=float(data["prior"]),
            levels=levels,
            thresholds=Thresholds(
                float(thr.get("auto_merge", _DEFAULT_THRESHOLDS.auto_merge)),
                float(thr.get("review", _DEFAULT_THRESHOLDS.review)),
            ),
            tf=TermFrequencies.from_dict(tf) if isinstance(tf, dict) else None,
        )

    def with_thresholds(self, thresholds: Thresholds) -> MatchModel:
        """A copy with other thresholds."""
        return MatchModel(self.prior, self.levels, thresholds, self.tf)

    def with_tf(self, tf: TermFrequencies | None) -> MatchModel:
        """A copy with other term frequencies."""
        return MatchModel(self.prior, self.levels, self.thresholds, tf)


#: Level of ``given_name`` for names swapped on one side, and of identical given names.
_SWAPPED, _IDENTICAL = 5, 6


def _swap_capped(params: tuple[LevelParams, ...]) -> tuple[LevelParams, ...]:
    """Given and family name swapped never weigh more than an identical given name
    (random pairs almost never show a swap, so its u alone would make it the strongest
    name evidence): its u is raised to ``m x u / m`` of the identical level when
    lower (term frequencies then weaken a swap of common names as they weaken the
    identical name)."""
    swapped, identical = params[_SWAPPED], params[_IDENTICAL]
    if swapped.weight <= identical.weight:
        return params
    u = max(swapped.m, _MIN_PROB) * max(identical.u, _MIN_PROB) / max(identical.m, _MIN_PROB)
    capped = LevelParams(swapped.label, swapped.m, u)
    return (*params[:_SWAPPED], capped, *params[_SWAPPED + 1 :])


def _upgraded(name: str, params: tuple[LevelParams, ...]) -> tuple[LevelParams, ...]:
    """The levels of a model stored before a comparison gained a level: matched by
    label, a new level takes the default model's m and u."""
    comp = next((c for c in COMPARISONS if c.name == name), None)
    if comp is None or len(params) == comp.num_levels:
        return params
    by_label = {p.label: p for p in params}
    default = DEFAULT_MODEL.levels[name]
    return tuple(by_label.get(label, default[k]) for k, label in enumerate(comp.labels))


def _levels(name: str, m: list[float], u: list[float]) -> tuple[LevelParams, ...]:
    labels = next(c.labels for c in COMPARISONS if c.name == name)
    return tuple(LevelParams(lb, mi, ui) for lb, mi, ui in zip(labels, m, u, strict=True))


DEFAULT_MODEL = MatchModel(
    prior=2e-6,
    levels={
        "name": _levels(
            "name",
            [0.03, 0.005, 0.04, 0.08, 0.15, 0.03, 0.665],
            [0.97, 0.005, 0.02, 0.004, 0.0008, 0.00005, 0.0002],
        ),
        # persons with given and family names of their own (the two together weigh
        # about as much as an identical full name)
        "given_name": _levels(
            "given_name",
            [0.03, 0.04, 0.02, 0.01, 0.08, 0.01, 0.81],
            [0.95, 0.02, 0.01, 0.002, 0.004, 0.0001, 0.02],
        ),
        "family_name": _levels(
            "family_name",
            [0.03, 0.02, 0.02, 0.08, 0.85],
            [0.985, 0.003, 0.004, 0.003, 0.005],
        ),
        "tax_id": _levels("tax_id", [0.03, 0.05, 0.92], [0.99998, 0.00001, 0.00001]),
        "contact": _levels("contact", [0.06, 0.04, 0.55, 0.35], [0.9, 0.0999, 0.0001, 0.00001]),
        "phone": _levels("phone", [0.12, 0.03, 0.85], [0.9999, 0.00005, 0.00005]),
        "address": _levels(
            "address",
            [0.12, 0.06, 0.08, 0.14, 0.60],
            [0.95, 0.045, 0.004, 0.00002, 0.00001],
        ),
        "country": _levels("country", [0.02, 0.98], [0.8, 0.2]),
    },
)
