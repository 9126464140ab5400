"""Tests for custmaster.services.imports.transforms."""

from __future__ import annotations

import pytest

from custmaster.services.imports.transforms import (
    TransformContext,
    TransformError,
    ValueMap,
    apply_transforms,
    parse_decimal,
)

GERMAN = TransformContext(
    decimal_separator=",", thousands_separator=".", date_formats=("%d.%m.%Y",)
)
PLAIN = TransformContext()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100.000,00", "100000.00"),
        ("0,00", "0.00"),
        ("1.500.000,00", "1500000.00"),
        ("25.000", "25000"),
        ("-3,5", "-3.5"),
        (" 12 ", "12"),
        ("1 234,5", "1234.5"),
    ],
)
def test_german_decimal(text: str, expected: str) -> None:
    assert apply_transforms(text, ("strip", "decimal"), GERMAN) == expected


@pytest.mark.parametrize("text", ["1.00,0", "12,3,4", "abc", "1e5", "NaN", "1.5.0", "--1"])
def test_bad_german_decimal(text: str) -> None:
    with pytest.raises(TransformError) as info:
        apply_transforms(text, ("decimal",), GERMAN)
    assert info.value.code == "invalid_number"


def test_plain_decimal_and_native_cells() -> None:
    assert apply_transforms("50000", ("decimal",), PLAIN) == "50000"
    assert apply_transforms("9.50", ("decimal",), PLAIN) == "9.50"
    # a typed XLSX number is canonical whatever the file's locale
    native = TransformContext(decimal_separator=",", thousands_separator=".", native=True)
    assert apply_transforms("1500.5", ("decimal",), native) == "1500.5"
    assert parse_decimal("1,5", ",", "") == parse_decimal("1.5")


def test_integer() -> None:
    assert apply_transforms("686", ("integer",), PLAIN) == 686
    with pytest.raises(TransformError, match="whole number"):
        apply_transforms("1.5", ("integer",), PLAIN)


def test_dates() -> None:
    assert apply_transforms("30.06.2023", ("date",), GERMAN) == "2023-06-30"
    with pytest.raises(TransformError) as info:
        apply_transforms("31.02.2023", ("date",), GERMAN)
    assert info.value.code == "invalid_date"
    native = TransformContext(date_formats=("%d.%m.%Y",), native=True)
    assert apply_transforms("2023-06-30", ("date",), native) == "2023-06-30"


def test_datetimes() -> None:
    ctx = TransformContext(datetime_formats=("%Y-%m-%d %H:%M",))
    assert apply_transforms("2025-01-09 14:02", ("datetime",), ctx) == "2025-01-09T14:02:00"
    assert (
        apply_transforms("2024-03-14T09:21:07.000Z", ("datetime",), PLAIN)
        == "2024-03-14T09:21:07+00:00"
    )
    with pytest.raises(TransformError):
        apply_transforms("yesterday", ("datetime",), PLAIN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NLD", "NL"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("Netherlands", "NL"),
        ("United States", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Deutschland", "DE"),
        ("276", "DE"),
    ],
)
def test_country(text: str, expected: str) -> None:
    assert apply_transforms(text, ("strip", "country"), PLAIN) == expected


def test_unknown_country_and_currency() -> None:
    with pytest.raises(TransformError) as info:
        apply_transforms("Atlantis", ("country",), PLAIN)
    assert info.value.code == "unknown_country"
    assert apply_transforms("eur", ("currency",), PLAIN) == "EUR"
    with pytest.raises(TransformError) as info:
        apply_transforms("EURO", ("currency",), PLAIN)
    assert info.value.code == "unknown_currency"


def test_value_maps() -> None:
    maps = {
        "terms": ValueMap("terms", {"Net30": "NET30", "30 Tage netto": "NET30", "other": None}),
        "keep": ValueMap("keep", {"a": "A"}, on_unknown="keep"),
        "drop": ValueMap("drop", {"a": "A"}, on_unknown="drop"),
    }
    ctx = TransformContext(value_maps=maps)
    assert apply_transforms("Net30", ("map:terms",), ctx) == "NET30"
    assert apply_transforms("net30", ("map:terms",), ctx) == "NET30"
    assert apply_transforms("30  TAGE netto", ("map:terms",), ctx) == "NET30"
    assert apply_transforms("other", ("map:terms",), ctx) is None
    with pytest.raises(TransformError) as info:
        apply_transforms("Net31", ("map:terms",), ctx)
    assert info.value.code == "unknown_code"
    assert apply_transforms("b", ("map:keep",), ctx) == "b"
    assert apply_transforms("b", ("map:drop",), ctx) is None


def test_lines_url_bool_and_empty_values() -> None:
    assert apply_transforms(" 100 Market St\r\nSuite 300\n\n", ("strip", "lines"), PLAIN) == [
        "100 Market St",
        "Suite 300",
    ]
    assert apply_transforms("www.acme.example", ("url",), PLAIN) == "https://www.acme.example"
    assert apply_transforms("http://acme.example", ("url",), PLAIN) == "http://acme.example"
    assert apply_transforms("Ja", ("bool",), PLAIN) is True
    assert apply_transforms("no", ("bool",), PLAIN) is False
    assert apply_transforms("   ", ("strip", "decimal"), PLAIN) is None
    with pytest.raises(TransformError):
        apply_transforms("maybe", ("bool",), PLAIN)
