"""Property tests: junk input never crashes the readers; it comes back as record errors."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmaster.services.imports import ImportFileError, read_records
from custmaster.services.imports.records import ImportRecord
from custmaster.services.imports.templates import Template, load_template

CELL = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["", "=1+1", "100.000,00", "30.06.2023", "DEU", "Net30", "\x00", '"', "\r\n"]
)
ROWS = st.lists(st.lists(CELL, max_size=14), max_size=12)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _with_delimiter(name: str, delimiter: str) -> Template:
    template = load_template(name)
    return replace(template, format=replace(template.format, delimiter=delimiter))


def _header(name: str) -> list[str]:
    template = load_template(name)
    return sorted(template.mapped_columns())


def _encode(header: list[str], rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


def _check(records: list[ImportRecord]) -> None:
    for record in records:
        assert isinstance(record, ImportRecord)
        assert record.row_numbers or record.related_rows
        for issue in [*record.errors, *record.warnings]:
            assert issue.field and issue.code and isinstance(issue.message, str)


@SETTINGS
@given(
    name=st.sampled_from(["custmaster", "legacy_erp", "hubspot", "d365"]),
    rows=ROWS,
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
def test_junk_rows_never_crash(
    name: str, rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    data = _encode(_header(name), rows, delimiter, encoding)
    with read_records(io.BytesIO(data), _with_delimiter(name, delimiter)) as records:
        _check(list(records))


@SETTINGS
@given(accounts=ROWS, contacts=ROWS)
def test_junk_related_files_never_crash(
    accounts: list[list[str]], contacts: list[list[str]]
) -> None:
    header = _header("salesforce")
    files = [
        io.BytesIO(_encode(header, accounts, ",", "utf-8")),
        io.BytesIO(_encode(["Id", "AccountId", "FirstName", "Email"], contacts, ",", "utf-8")),
    ]
    with read_records(files, _with_delimiter("salesforce", ",")) as records:
        _check(list(records))


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_after_a_header_never_crash(data: bytes) -> None:
    content = b"source_id,name,email\n" + data
    try:
        with read_records(io.BytesIO(content), "custmaster") as records:
            _check(list(records))
    except ImportFileError:
        pass  # the junk may decide the detected encoding (NULs look like UTF-16): no header


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_in_a_declared_encoding_never_crash(data: bytes) -> None:
    template = load_template("custmaster")
    fmt = replace(template.format, encoding="utf-8", delimiter=",")
    content = b"source_id,name,email\n" + data
    with read_records(io.BytesIO(content), replace(template, format=fmt)) as records:
        _check(list(records))
