"""Tests for custmaster.matching.scoring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.matching.model import DEFAULT_MODEL
from custmaster.matching.record import MatchRecord, prepare
from custmaster.matching.scoring import match_weight, probability_from_weight, score

A = MatchRecord(
    "new",
    name="Stonefield Fasteners, LLC",
    phone="(486) 631-2560",
    email="ap@stonefieldfasteners.com",
    country="US",
    postal_code="72727",
    street="81590 Benjamin Mews",
    city="Jonesland",
)
B = MatchRecord(
    "C1",
    name="STONEFIELD FASTENERS LLC",
    phone="+14866312560",
    website="http://stonefieldfasteners.com",
    country="USA",
    postal_code="72727",
    street="81590 Benjamin Mews",
    city="Jonesland",
    tax_id="273039467",
)
SISTER = MatchRecord(
    "C2",
    name="Stonefield Packaging LLC",
    phone="+14866319999",
    website="stonefieldpackaging.com",
    country="US",
    postal_code="72727",
    street="81590 Benjamin Mews",
    city="Jonesland",
    tax_id="991234567",
)


def test_duplicate_scores_high_with_explanation() -> None:
    result = score(A, B)
    assert result.existing_id == "C1"
    assert result.decision == "auto_merge"
    fields = {e.field: e for e in result.explanation}
    assert list(fields) == [
        "name",
        "given_name",
        "family_name",
        "tax_id",
        "contact",
        "phone",
        "address",
        "country",
    ]
    assert fields["name"].label == "identical"
    assert fields["tax_id"].level == -1 and fields["tax_id"].weight == 0.0
    assert fields["contact"].label == "shared domain"
    assert fields["name"].candidate_value == "stonefield fasteners (llc)"
    assert sum(e.weight for e in result.explanation) + DEFAULT_MODEL.prior_weight == pytest.approx(
        result.match_weight, abs=1e-3
    )


def test_sister_company_is_not_a_match() -> None:
    assert score(A, SISTER).decision == "no_match"
    assert score(A, SISTER).probability < score(A, B).probability


def test_score_is_deterministic_and_symmetric() -> None:
    fa, fb = prepare(A), prepare(B)
    assert score(fa, fb) == score(A, B)
    assert score(fa, fb).match_weight == pytest.approx(score(fb, fa).match_weight)
    assert match_weight(fa, fb) == pytest.approx(score(fa, fb).match_weight)


@given(st.floats(min_value=-2000, max_value=2000))
def test_probability_from_weight(weight: float) -> None:
    p = probability_from_weight(weight)
    assert 0.0 <= p <= 1.0
    assert probability_from_weight(-weight) == pytest.approx(1 - p, abs=1e-12)
