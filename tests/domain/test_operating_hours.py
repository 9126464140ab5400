"""Tests of custmaster.domain.operating_hours: weekly hours with exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmaster.domain.errors import ValidationFailed
from custmaster.domain.operating_hours import (
    END_OF_DAY,
    HoursException,
    OpeningInterval,
    OperatingHours,
    parse_time,
    weekday_number,
)

MONDAY = date(2026, 11, 23)


def iv(text: str) -> OpeningInterval:
    return OpeningInterval.parse(text)


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def shop() -> OperatingHours:
    return OperatingHours.build(
        {
            "monday": [iv("13:00-17:00"), iv("08:00-12:00")],
            "tuesday": [iv("08:00-12:00"), iv("12:00-18:00")],
            5: [iv("09:00-24:00")],
        },
        [
            HoursException(MONDAY + timedelta(days=7), note="holiday"),
            HoursException(MONDAY + timedelta(days=8), (iv("10:00-11:00"),)),
        ],
        timezone="Europe/Berlin",
    )


def test_parsing_helpers() -> None:
    assert parse_time("24:00") == END_OF_DAY
    assert str(iv("08:00-24:00")) == "08:00-24:00"
    assert weekday_number("Sunday") == 6 and weekday_number(0) == 0
    for bad in ("noon", "8:00", "08:00:00.5"):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(ValueError):
        OpeningInterval.parse("08:00")
    with pytest.raises(ValueError):
        weekday_number(7)


def test_hours_on_uses_weekly_times_sorted_and_exceptions() -> None:
    hours = shop()
    assert hours.hours_on(MONDAY) == (iv("08:00-12:00"), iv("13:00-17:00"))
    assert hours.hours_on(MONDAY + timedelta(days=2)) == ()
    assert hours.hours_on(MONDAY + timedelta(days=7)) == ()  # closed exception
    assert hours.hours_on(MONDAY + timedelta(days=8)) == (iv("10:00-11:00"),)
    assert hours.exceptions[MONDAY + timedelta(days=7)].closed


def test_is_open_boundaries_and_time_zones() -> None:
    hours = shop()
    at = datetime.combine
    assert hours.is_open(at(MONDAY, time(8, 0)))
    assert not hours.is_open(at(MONDAY, time(12, 0)))  # closes is exclusive
    assert not hours.is_open(at(MONDAY, time(7, 59)))
    assert hours.is_open(at(MONDAY + timedelta(days=1), time(12, 0)))  # touching intervals
    assert hours.is_open(at(MONDAY + timedelta(days=5), time(23, 59, 59)))
    assert not hours.is_open(at(MONDAY + timedelta(days=7), time(9)))
    # 07:30 UTC is 08:30 in Berlin (CET)
    assert hours.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    no_zone = OperatingHours.build({"monday": [iv("08:00-09:00")]})
    assert no_zone.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))


def test_validation_names_fields() -> None:
    with pytest.raises(ValidationFailed) as exc:
        OperatingHours.build(
            {
                "monday": [iv("08:00-18:00"), iv("09:00-10:00"), iv("11:00-12:00")],
                "tuesday": [iv("12:00-08:00")],
            },
            timezone="Mars/Olympus",
        )
    assert codes(exc) == [
        ("weekly.monday[1]", "overlapping_intervals"),
        ("weekly.monday[2]", "overlapping_intervals"),
        ("weekly.tuesday[0].closes", "invalid_interval"),
        ("timezone", "unknown_timezone"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        OperatingHours.build({"someday": []}, [HoursException(MONDAY), HoursException(MONDAY)])
    assert codes(exc) == [
        ("weekly.someday", "invalid_weekday"),
        ("exceptions[1].date", "duplicate"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        OperatingHours.build({}, [HoursException(MONDAY, (iv("10:00-09:00"),))])
    assert codes(exc) == [("exceptions[0].hours[0].closes", "invalid_interval")]
    with pytest.raises(ValidationFailed) as exc:
        OperatingHours({9: ()})
    assert codes(exc) == [("weekly", "invalid_weekday")]


def test_json_round_trip() -> None:
    hours = shop()
    data = hours.to_dict()
    assert data["weekly"]["monday"] == ["08:00-12:00", "13:00-17:00"]
    assert data["weekly"]["saturday"] == ["09:00-24:00"]
    assert data["exceptions"][0] == {"date": "2026-11-30", "closed": True, "note": "holiday"}
    assert OperatingHours.from_dict(data) == hours
    parsed = OperatingHours.from_dict(
        {"weekly": {"friday": [{"opens": "08:00", "closes": "10:00"}]}}
    )
    assert parsed.hours_on(MONDAY + timedelta(days=4)) == (iv("08:00-10:00"),)


def test_from_dict_reports_every_problem() -> None:
    with pytest.raises(ValidationFailed) as exc:
        OperatingHours.from_dict(
            {
                "colour": "red",
                "weekly": {"monday": ["8-12"], "tuesday": "08:00-12:00"},
                "exceptions": [
                    {"date": "2026-13-01", "closed": True},
                    {"date": "2026-12-24", "closed": True, "hours": ["08:00-09:00"]},
                    {"date": "2026-12-25"},
                    "closed",
                ],
            }
        )
    assert codes(exc) == [
        ("colour", "unknown_field"),
        ("weekly.monday[0]", "invalid_time"),
        ("weekly.tuesday", "invalid_type"),
        ("exceptions[0].date", "invalid_date"),
        ("exceptions[1].hours", "conflict"),
        ("exceptions[2].hours", "required"),
        ("exceptions[3]", "invalid_type"),
    ]


minutes = st.integers(0, 24 * 60 - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(minutes, st.integers(1, 240)), max_size=5), minutes)
def test_is_open_agrees_with_the_accepted_intervals(
    spans: list[tuple[int, int]], probe: int
) -> None:
    def t(m: int) -> time:
        return END_OF_DAY if m >= 24 * 60 else time(m // 60, m % 60)

    intervals = [OpeningInterval(t(start), t(start + length)) for start, length in spans]
    try:
        hours = OperatingHours.build({"monday": intervals})
    except ValidationFailed:
        covered = [0] * (24 * 60)
        for start, length in spans:
            for m in range(start, min(start + length, 24 * 60)):
                covered[m] += 1
        assert max(covered) > 1  # refused only because two intervals overlap
        return
    expected = any(start <= probe < start + length for start, length in spans)
    assert hours.is_open(datetime.combine(MONDAY, t(probe))) == expected
