"""Tests for custmaster.services.imports.sources: detection and streaming readers."""

from __future__ import annotations

import codecs
import io
import itertools
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from custmaster.services.imports.sources import (
    ImportFileError,
    SourceReader,
    count_source_rows,
    detect_delimiter,
    detect_encoding,
)

TEXT = "Name;Ort;Kreditlimit\nMüller GmbH;Köln;100.000,00\nSørensen ApS;Århus;5,00\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-32"), "utf-32"),
        (TEXT.encode("cp1252"), "cp1252"),
        ("Name\nCafé\x81 x".encode("latin-1"), "latin-1"),
        (b"Name,City\nAcme,Boston\n", "utf-8"),
    ],
)
def test_detect_encoding(data: bytes, expected: str) -> None:
    assert detect_encoding(data) == expected


def test_truncated_utf8_sequence_is_fine_in_a_prefix_not_in_a_whole_file() -> None:
    data = "Name\nCafé".encode()[:-1]
    assert detect_encoding(data) == "utf-8"
    assert detect_encoding(data, complete=True) == "cp1252"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"]
)
def test_reader_decodes_generated_files(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "kunden.csv"
    data = TEXT.encode(encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(codecs.BOM_UTF8)
    path.write_bytes(data)
    reader = SourceReader(path)
    rows = list(reader)
    assert reader.info.delimiter == ";"
    assert reader.header == ("Name", "Ort", "Kreditlimit")
    assert [r.values["Ort"] for r in rows] == ["Köln", "Århus"]
    assert [r.row_number for r in rows] == [1, 2]
    assert not any(r.problems or r.notes for r in rows)


def test_utf8_prefix_with_later_cp1252_bytes_falls_back(tmp_path: Path) -> None:
    ascii_rows = "".join(f"{i},Acme {i}\n" for i in range(20_000))  # > detection prefix
    data = b"id,name\n" + ascii_rows.encode() + "99999,Müller\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    reader = SourceReader(path)
    assert reader.info.encoding == "utf-8"
    *_, last = reader
    assert last.values["name"] == "Müller"
    assert [n.code for n in last.notes] == ["encoding_fallback"]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('"Id","Name"\n"1","Acme, Inc."\n"2","Foo; Bar"\n', ","),
        ("Kundennr;Name1;Ort\n1;Müller, Hans;Köln\n2;Schmidt, Eva;Bonn\n", ";"),
        ("justonecolumn\nvalue\n", ","),
        ("", ","),
    ],
)
def test_detect_delimiter(sample: str, expected: str) -> None:
    assert detect_delimiter(sample) == expected


def test_malformed_rows_are_reported_not_fatal() -> None:
    data = b"id,name\n1,Acme\n2,Too,Many\n3\n\n4,Fine\n"
    rows = list(SourceReader(io.BytesIO(data)))
    assert [r.row_number for r in rows] == [1, 2, 3, 5]  # the blank line keeps its number
    assert [bool(r.problems) for r in rows] == [False, True, True, False]
    assert rows[1].problems[0].code == "malformed_row"


def test_oversized_field_is_a_malformed_row() -> None:
    data = b'id,name\n1,"' + b"x" * (2 * 1024 * 1024) + b'"\n2,Acme\n'
    rows = list(SourceReader(io.BytesIO(data)))
    assert rows[0].problems and rows[0].problems[0].code == "malformed_row"
    assert rows[-1].values == {"id": "2", "name": "Acme"}


@pytest.mark.parametrize(
    "data",
    [
        b"id,name\n1,Acme\n2,Too,Many\n3\n\n4,Fine\n",  # short, long and blank rows
        b'id,name\n1,"' + b"x" * (2 * 1024 * 1024) + b'"\n2,Acme\n',  # csv.Error
        b"id,name\n , \n1,Caf\xe9\x81\n2,Nul\x00\n\n\n",  # blank cells, repaired, NUL
        b"id,name\n",
    ],
)
def test_count_is_the_number_of_rows_read(data: bytes) -> None:
    """``count`` (a job's progress total, without building the rows) counts what
    iterating yields: malformed rows too, blank ones not."""
    assert SourceReader(io.BytesIO(data)).count() == len(list(SourceReader(io.BytesIO(data))))


def test_header_only_and_empty_files() -> None:
    assert list(SourceReader(io.BytesIO(b"id,name\n"))) == []
    with pytest.raises(ImportFileError, match="no header"):
        SourceReader(io.BytesIO(b""))


def test_duplicate_and_blank_header_names_are_made_unique() -> None:
    reader = SourceReader(io.BytesIO(b"Name,Name, ,x\n1,2,3,4\n"))
    assert reader.header == ("Name", "Name#2", "column_3", "x")


def test_caller_stream_is_left_open() -> None:
    stream = io.BytesIO(b"id\n1\n")
    list(SourceReader(stream))
    assert not stream.closed


class _Endless(io.RawIOBase):
    """A non-seekable stream of CSV rows that never ends."""

    def __init__(self) -> None:
        self._lines: Iterator[bytes] = itertools.chain(
            [b"id,name\n"], (f"{i},Acme {i}\n".encode() for i in itertools.count(1))
        )
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


def test_reader_streams_a_non_seekable_endless_source() -> None:
    reader = SourceReader(_Endless())  # type: ignore[arg-type]
    first = list(itertools.islice(reader, 3))
    reader.close()
    assert [r.values["name"] for r in first] == ["Acme 1", "Acme 2", "Acme 3"]


def _workbook(path: Path, rows: list[list[object]], title: str = "Sheet") -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_xlsx_rows_are_typed_and_canonical(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    _workbook(
        path,
        [
            ["Id", "Name", "Limit", "Since", "Flag"],
            ["A1", "Acme", 1500.5, date(2023, 6, 30), True],
            [None, None, None, None, None],
            [7, "Müller", 25000, datetime(2024, 1, 2, 3, 4), None],
        ],
    )
    reader = SourceReader(path)
    rows = list(reader)
    assert reader.info.kind == "xlsx"
    assert [r.row_number for r in rows] == [1, 3]
    assert rows[0].values == {
        "Id": "A1",
        "Name": "Acme",
        "Limit": "1500.5",
        "Since": "2023-06-30",
        "Flag": "true",
    }
    assert rows[0].native == {"Limit", "Since", "Flag"}
    assert rows[1].values["Id"] == "7"
    assert rows[1].values["Since"] == "2024-01-02T03:04:00"
    assert rows[1].values["Flag"] == ""


def test_xlsx_named_sheet_and_stream(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    _workbook(path, [["Id"], ["1"], ["2"]], title="Kunden")
    with path.open("rb") as stream:
        assert count_source_rows(stream, sheet="Kunden") == 2
    with pytest.raises(ImportFileError, match="no sheet"):
        SourceReader(path, sheet="Missing")


def test_xlsx_extra_cells_beyond_header_are_malformed(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    _workbook(path, [["Id", "Name"], ["1", "Acme", "stray"]])
    (row,) = SourceReader(path)
    assert row.problems[0].code == "malformed_row"


def test_corrupt_xlsx_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportFileError):
        SourceReader(path)


def test_explicit_encoding_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes("a\tb\nä\tö\n".encode("latin-1"))
    (row,) = SourceReader(path, encoding="latin-1", delimiter="\\t")
    assert row.values == {"a": "ä", "b": "ö"}
    with pytest.raises(ImportFileError, match="unknown encoding"):
        SourceReader(path, encoding="no-such-codec")
