"""Tests for custmaster.services.imports.mapping."""

from __future__ import annotations

from typing import Any

from custmaster.services.imports.mapping import map_row, resolve_region
from custmaster.services.imports.records import FieldIssue, SourceRef
from custmaster.services.imports.sources import SourceRow
from custmaster.services.imports.templates import load_template, parse_template


def _row(values: dict[str, str], number: int = 1, **kwargs: Any) -> SourceRow:
    return SourceRow(number, values, **kwargs)


def test_legacy_row_german_formats_and_value_map() -> None:
    template = load_template("legacy_erp")
    record = map_row(
        _row(
            {
                "Kundennr": "82660",
                "Name1": "Müller  GmbH",
                "Strasse": "Hauptstr. 1",
                "PLZ": "50667",
                "Ort": "Köln",
                "Land": "DEU",
                "USt-IdNr": "de123",
                "Kreditlimit": "100.000,00",
                "Zahlungsbedingung": "30 Tage netto",
                "Angelegt am": "30.06.2023",
                "E-Mail": "ap@mueller.example",
            }
        ),
        template,
        entity="DE01",
    )
    assert record.ok
    assert record.command == {
        "kind": "organization",
        "name": "Müller GmbH",
        "email": "ap@mueller.example",
        "tax_id": "DE123",
        "credit_limit": "100000.00",
        "payment_terms": "NET30",
        "owning_entity": "DE01",
        "addresses": [
            {
                "type": "billing",
                "lines": ["Hauptstr. 1"],
                "postal_code": "50667",
                "city": "Köln",
                "country": "DE",
                "is_primary": True,
            }
        ],
        "metadata": {"legacy_created_on": "2023-06-30"},
        "source_refs": [{"source_system": "legacy_erp", "source_id": "82660"}],
    }
    assert record.source_refs == [SourceRef("legacy_erp", "82660")]


def test_mapping_errors_are_collected_per_field() -> None:
    template = load_template("legacy_erp")
    record = map_row(
        _row(
            {
                "Kundennr": "1",
                "Name1": "X",
                "Kreditlimit": "viel",
                "Zahlungsbedingung": "irgendwann",
                "Angelegt am": "gestern",
                "E-Mail": "x@y.example",
            }
        ),
        template,
    )
    assert {(e.field, e.code) for e in record.errors} == {
        ("credit_limit", "invalid_number"),
        ("payment_terms", "unknown_code"),
        ("metadata.legacy_created_on", "invalid_date"),
    }
    assert "Kreditlimit" in next(e.message for e in record.errors if e.field == "credit_limit")
    assert "credit_limit" not in record.command
    assert not record.ok


def test_missing_required_is_reported_never_invented() -> None:
    record = map_row(_row({"Record ID": "5", "Company name": "Acme"}), load_template("hubspot"))
    assert record.missing_required == ["email"]
    assert record.is_incomplete
    assert "email" not in record.command
    assert record.command == {  # no address in the row: no address default either
        "kind": "organization",
        "name": "Acme",
        "source_refs": [{"source_system": "hubspot", "source_id": "5"}],
    }


def test_empty_cells_and_missing_columns_are_left_out() -> None:
    template = load_template("custmaster")
    record = map_row(_row({"name": "Acme", "email": "", "phone": "  "}), template)
    assert record.command == {"kind": "organization", "name": "Acme"}
    assert record.missing_required == ["email"]


def test_own_layout_source_system_column_and_unneutralise() -> None:
    template = load_template("custmaster")
    record = map_row(
        _row(
            {
                "source_system": "sap",
                "source_id": "4711",
                "kind": "Organization",
                "name": "Acme",
                "email": "ap@acme.example",
                "phone": "'+1 415 555 0100",
                "credit_limit": "50000",
                "currency": "usd",
                "billing_street": "100 Market St\nSuite 300",
                "billing_region": "CA",
                "billing_country": "US",
                "contact_first_name": "Dana",
                "contact_email": "dana@acme.example",
            }
        ),
        template,
    )
    assert record.ok
    assert record.source_system == "sap"
    assert record.source_refs == [SourceRef("sap", "4711")]
    command = record.command
    assert command["phone"] == "+1 415 555 0100"
    assert command["currency"] == "USD"
    assert command["addresses"] == [
        {
            "type": "billing",
            "lines": ["100 Market St", "Suite 300"],
            "region": "US-CA",
            "country": "US",
            "is_primary": True,
        }
    ]
    assert command["contacts"] == [
        {"first_name": "Dana", "email": "dana@acme.example", "is_primary": True}
    ]


def test_malformed_row_becomes_an_error_record() -> None:
    problem = FieldIssue("row", "malformed_row", "expected 3 fields, found 5")
    record = map_row(
        _row({"id": "1"}, 7, problems=(problem,)),
        parse_template(
            {"name": "t", "source_system": "s", "source_id": "id", "fields": {"name": "n"}}
        ),
    )
    assert record.errors == [problem]
    assert record.row_numbers == [7]
    assert record.command == {}
    assert record.source_id == "1"


def test_missing_source_id_is_a_warning() -> None:
    record = map_row(_row({"name": "Acme"}), load_template("custmaster"))
    assert [w.code for w in record.warnings] == ["source_id_missing"]
    assert record.source_refs == []


def test_multi_column_fields() -> None:
    template = parse_template(
        {
            "name": "t",
            "source_system": "s",
            "source_id": "id",
            "fields": {
                "name": {"columns": ["N1", "N2"], "join": " "},
                "addresses[billing].lines": {"columns": ["S1", "S2", "S3"]},
            },
        }
    )
    record = map_row(
        _row({"id": "1", "N1": "Acme", "N2": "Corp", "S1": "a", "S2": " ", "S3": "c"}), template
    )
    assert record.command["name"] == "Acme Corp"
    assert record.command["addresses"] == [{"type": "billing", "lines": ["a", "c"]}]


def test_resolve_region() -> None:
    assert resolve_region("US", "NE") == "US-NE"
    assert resolve_region("US", "us-ca") == "US-CA"
    assert resolve_region("US", "California") == "US-CA"
    assert resolve_region("DE", "NE") == "NE"  # unknown for the country: kept as given
    assert resolve_region("GB", "Somewhere") == "Somewhere"
