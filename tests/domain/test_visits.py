"""Tests of custmaster.domain.visits: visit frequency and preferred days."""

from __future__ import annotations

import pytest

from custmaster.domain.errors import ValidationFailed
from custmaster.domain.operating_hours import OpeningInterval, OperatingHours
from custmaster.domain.visits import VisitSettings, closed_preferred_days


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def test_valid_settings_normalise_days() -> None:
    visits = VisitSettings.of("biweekly", ["Thursday", 1])
    assert visits.preferred_days == (1, 3)
    assert visits.visits_per_year == 26
    assert visits.to_dict() == {"frequency": "biweekly", "preferred_days": ["tuesday", "thursday"]}
    assert VisitSettings.from_dict(visits.to_dict()) == visits
    assert VisitSettings("monthly").preferred_days == ()


def test_invalid_settings_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        VisitSettings("daily", (1, 1, 9))
    assert codes(exc) == [
        ("frequency", "invalid_choice"),
        ("preferred_days[1]", "duplicate"),
        ("preferred_days[2]", "invalid_weekday"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        VisitSettings.of("weekly", ["funday"])
    assert codes(exc) == [("preferred_days[0]", "invalid_weekday")]
    with pytest.raises(ValidationFailed) as exc:
        VisitSettings.from_dict({"preferred_days": "monday", "extra": 1})
    assert codes(exc) == [
        ("extra", "unknown_field"),
        ("frequency", "required"),
        ("preferred_days", "invalid_type"),
    ]


def test_closed_preferred_days() -> None:
    hours = OperatingHours.build({"monday": [OpeningInterval.parse("08:00-12:00")]})
    visits = VisitSettings.of("weekly", ["monday", "sunday"])
    assert closed_preferred_days(visits, hours) == ["sunday"]
