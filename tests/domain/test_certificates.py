"""Certificate expiry rules: which notice is due on which day, the filter's duration,
and the effective view without expired certificates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.domain.certificates import (
    EXPIRED,
    EXPIRING_7,
    EXPIRING_30,
    due_notice,
    lapse_exemptions,
    parse_within,
)
from custmaster.domain.errors import ValidationFailed

END = date(2027, 3, 31)


@pytest.mark.parametrize(
    ("days_before_end", "notice"),
    [
        (31, None),
        (30, EXPIRING_30),
        (8, EXPIRING_30),
        (7, EXPIRING_7),
        (0, EXPIRING_7),
        (-1, EXPIRED),
        (-30, EXPIRED),
        (-31, None),
    ],
)
def test_the_notice_due_on_each_day(days_before_end: int, notice: str | None) -> None:
    assert due_notice(END, END - timedelta(days=days_before_end)) == notice


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_each_notice_is_due_on_one_run_of_days_in_order(end: date) -> None:
    """Walking the days up to and past any end date, each notice is due on one contiguous
    run of days, in the order 30-day, 7-day, expired."""
    seen = [due_notice(end, end + timedelta(days=d)) for d in range(-40, 40)]
    runs = [n for i, n in enumerate(seen) if i == 0 or seen[i - 1] != n]
    assert runs == [None, EXPIRING_30, EXPIRING_7, EXPIRED, None]


def test_durations() -> None:
    assert parse_within("30d") == 30 and parse_within(" 0d ") == 0
    for bad in ("30", "d", "3.5d", "-1d", "99999d", "30w"):
        with pytest.raises(ValidationFailed):
            parse_within(bad)


def test_lapsed_certificates_leave_the_view_with_warnings() -> None:
    data = {
        "tax_code": "EXEMPT",
        "tax_profiles": [
            {"tax_code": "EXEMPT", "certificate_number": "A", "effective_to": "2027-03-31"},
            {"tax_code": "OTHER", "certificate_number": "B", "effective_to": None},
        ],
    }
    same, none = lapse_exemptions(data, END)
    assert same is data and none == []
    lapsed, warnings = lapse_exemptions(data, END + timedelta(days=1))
    assert lapsed["tax_code"] is None
    assert [p["certificate_number"] for p in lapsed["tax_profiles"]] == ["B"]
    assert [w.field for w in warnings] == ["tax_profiles", "tax_code"]
    renewed = {
        **data,
        "tax_profiles": [
            *data["tax_profiles"],
            {"tax_code": "EXEMPT", "certificate_number": "C", "effective_to": "2028-03-31"},
        ],
    }
    kept, warnings = lapse_exemptions(renewed, END + timedelta(days=1))
    assert kept["tax_code"] == "EXEMPT" and [w.field for w in warnings] == ["tax_profiles"]
