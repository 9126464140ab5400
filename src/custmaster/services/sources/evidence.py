"""Exact keys are evidence, not identity.

An e-mail or tax id an incoming record shares with a golden record says they are likely
the same company; other identity fields can say otherwise: a group's shared
accounts-payable mailbox is used by several companies, often in different countries.
:func:`disagreements` lists what contradicts the key; a record with any goes to review
(its own golden record plus a review cluster with the explanation) instead of updating.
"""

from __future__ import annotations

from typing import Any

from custmaster.matching.compare import compare_country, compare_name, compare_tax_id
from custmaster.matching.model import MatchModel
from custmaster.matching.record import MatchFeatures
from custmaster.matching.scoring import score
from custmaster.services.dedup.online import explain


def disagreements(incoming: MatchFeatures, golden: MatchFeatures) -> list[str]:
    """What contradicts an exact-key hit: a dissimilar name (the matcher's name level 0),
    another country, another tax id (more than a typo apart)."""
    reasons: list[str] = []
    if compare_name(incoming, golden) == 0:
        reasons.append(f"dissimilar name ({incoming.name!r} vs {golden.name!r})")
    if compare_country(incoming, golden) == 0:
        reasons.append(f"another country ({incoming.country} vs {golden.country})")
    if compare_tax_id(incoming, golden) == 0:
        reasons.append(f"another tax id ({incoming.tax_id} vs {golden.tax_id})")
    return reasons


def review_pair(
    a: MatchFeatures, b: MatchFeatures, model: MatchModel, reasons: list[str], key: str
) -> dict[str, Any]:
    """A review-cluster pair with the matcher's explanation and why it is queued."""
    result = score(a, b, model)
    return {
        "a": a.id,
        "b": b.id,
        "score": result.probability,
        "match_weight": round(result.match_weight, 4),
        "explanation": explain(result),
        "key": key,
        "reasons": reasons,
    }
