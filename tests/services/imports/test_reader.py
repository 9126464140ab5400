"""Tests for custmaster.services.imports.reader: roles, key columns, XLSX, streaming."""

from __future__ import annotations

import io
import itertools
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from custmaster.services.imports import (
    ImportFileError,
    count_rows,
    inspect_sources,
    read_records,
)
from custmaster.services.imports.reader import assign_roles
from custmaster.services.imports.templates import load_template

LEGACY_HEADER = [
    "Kundennr",
    "Name1",
    "Strasse",
    "PLZ",
    "Ort",
    "Land",
    "USt-IdNr",
    "Kreditlimit",
    "Zahlungsbedingung",
    "Angelegt am",
    "E-Mail",
]


def test_xlsx_through_a_template_uses_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "kunden.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(LEGACY_HEADER)
    sheet.append(
        [
            82660,
            "Müller GmbH",
            "Weg 1",
            "50667",
            "Köln",
            "DE",
            "DE1",
            100000.5,
            "30 Tage netto",
            date(2023, 6, 30),
            "ap@mueller.example",
        ]
    )
    sheet.append(
        [
            82661,
            "Text GmbH",
            "Weg 2",
            "50667",
            "Köln",
            "DE",
            "DE2",
            "1.500,00",
            "45 Tage netto",
            "01.02.2019",
            "ap@text.example",
        ]
    )
    book.save(path)
    with read_records(path, "legacy_erp") as records:
        first, second = records
        assert records.sources["primary"].kind == "xlsx"
    assert first.source_id == "82660"
    assert first.command["credit_limit"] == "100000.5"  # a number cell, not German text
    assert first.command["metadata"] == {"legacy_created_on": "2023-06-30"}
    assert second.command["credit_limit"] == "1500.00"  # text cell: the file's locale
    assert second.command["metadata"] == {"legacy_created_on": "2019-02-01"}
    assert count_rows(path, "legacy_erp") == 2


def test_utf16_export_reads_like_the_original(tmp_path: Path) -> None:
    text = "Record ID\tCompany name\tCountry/Region\n1\tÅrhus Bådebyggeri\tDenmark\n"
    path = tmp_path / "hubspot.csv"
    path.write_bytes(text.encode("utf-16"))
    with read_records(path, "hubspot") as records:
        (record,) = records
        assert records.sources["primary"].encoding == "utf-16"
        assert records.sources["primary"].delimiter == "\t"
    assert record.command["name"] == "Århus Bådebyggeri"
    assert record.command["addresses"][0]["country"] == "DK"


def test_missing_key_column_fails_at_once() -> None:
    with pytest.raises(ImportFileError, match=r"lacks the key column\(s\) \['Kundennr'\]"):
        read_records(io.BytesIO(b"Id,Name\n1,Acme\n"), "legacy_erp")


def test_role_assignment() -> None:
    template = load_template("salesforce")
    a, c = io.BytesIO(b"Id\n"), io.BytesIO(b"AccountId\n")
    assert assign_roles(a, template) == {"accounts": a}
    assert assign_roles([a, c], template) == {"accounts": a, "contacts": c}
    assert assign_roles({"contacts": c, "accounts": a}, template)["contacts"] is c
    with pytest.raises(ImportFileError, match="unknown file roles"):
        assign_roles({"leads": a}, template)
    with pytest.raises(ImportFileError, match="3 files"):
        assign_roles([a, c, a], template)
    with pytest.raises(ImportFileError, match="'accounts' file is required"):
        assign_roles({"contacts": c}, template)


def test_inspect_sources_lists_missing_columns() -> None:
    accounts = io.BytesIO(b"Id,Name,Phone\n1,Acme,\n")
    contacts = io.BytesIO(b"Id;AccountId;Email\n1;1;a@b.example\n")
    checks = inspect_sources([accounts, contacts], "salesforce")
    assert [c.role for c in checks] == ["accounts", "contacts"]
    assert "BillingCity" in checks[0].missing_columns and "Name" not in checks[0].missing_columns
    assert checks[1].info.delimiter == ";"
    assert checks[1].missing_columns == ("FirstName", "LastName", "Phone", "Title")


class _EndlessCsv(io.RawIOBase):
    def __init__(self, header: bytes) -> None:
        rows = (f"{i},Company {i},ap{i}@x.example\n".encode() for i in itertools.count(1))
        self._lines = itertools.chain([header], rows)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(buffer):
            self._buffer += next(self._lines)
        size = len(buffer)
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def test_records_stream_from_an_endless_source() -> None:
    stream = _EndlessCsv(b"source_id,name,email\n")
    with read_records(stream, "custmaster", entity="US01") as records:  # type: ignore[arg-type]
        first = list(itertools.islice(records, 3))
    assert [r.source_id for r in first] == ["1", "2", "3"]
    assert all(r.ok and r.command["owning_entity"] == "US01" for r in first)


def test_stream_closes_files_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "own.csv"
    path.write_text("source_id,name,email\n1,Acme,a@acme.example\n2,B,b@b.example\n")
    records = read_records(path, "custmaster")
    next(records)
    records.close()
    with pytest.raises(StopIteration):
        next(records)
