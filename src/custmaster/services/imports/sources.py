"""Streaming readers for CSV and XLSX sources, with encoding and delimiter detection.

Detection only ever looks at a bounded prefix (:data:`PREFIX_BYTES`) of a file; rows are
then read one at a time, so memory does not grow with the size of the file.

Encodings: a BOM decides (UTF-8, UTF-16 LE/BE, UTF-32); BOM-less UTF-16 is recognised by
its NUL bytes; otherwise the prefix is tried as strict UTF-8, then cp1252, then Latin-1.
A file detected as UTF-8 whose later bytes turn out not to be UTF-8 (a legacy export that
starts with pure ASCII) does not fail: those bytes are decoded as cp1252 and the row gets
an ``encoding_fallback`` warning (the decoder marks repaired text with a Unicode
noncharacter that the reader removes again). Undecodable bytes in other encodings become
U+FFFD, with the same warning.

Delimiters: :class:`csv.Sniffer` over the candidates ``, ; \\t |``, checked for
consistency against the first lines, with a field-count vote as fallback.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

import openpyxl

from custmaster.domain.text import bad_text
from custmaster.services.imports.records import FieldIssue

#: How many bytes detection reads from the start of a file.
PREFIX_BYTES = 64 * 1024
#: Candidate CSV delimiters, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: Largest CSV field accepted (bytes); a longer field is reported as a malformed row.
FIELD_SIZE_LIMIT = 1024 * 1024

Source = str | os.PathLike[str] | IO[bytes]

_FALLBACK_ERRORS = "custmaster-cp1252-fallback"
_XLSX_MAGIC = b"PK\x03\x04"
_XLSX_SUFFIXES = (".xlsx", ".xlsm")


class ImportFileError(Exception):
    """A source file cannot be read at all (wrong format, wrong template, missing key column)."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What detection found out about a source."""

    name: str
    kind: str  # "csv" | "xlsx"
    encoding: str | None
    delimiter: str | None
    header: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row of a source.

    Attributes:
        row_number: 1-based data row (the header is not counted; a blank line is).
        values: column name -> cell text (``""`` for an empty cell).
        native: columns holding typed spreadsheet cells (numbers, dates), rendered in
            canonical form (``"1500.5"``, ``"2023-06-30"``) instead of the file's locale.
        problems: errors that make the row unusable (wrong number of fields ...).
        notes: warnings about the row (decoder repaired bytes ...).
    """

    row_number: int
    values: dict[str, str]
    native: frozenset[str] = frozenset()
    problems: tuple[FieldIssue, ...] = ()
    notes: tuple[FieldIssue, ...] = ()


#: What no text column can hold (see ``custmaster.domain.text``).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: A Unicode noncharacter (reserved for internal use) marking text the decoder repaired.
_REPAIRED = "\ufdd0"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return _REPAIRED + bytes(bad).decode("cp1252", errors="replace"), exc.end


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def detect_encoding(prefix: bytes, *, complete: bool = False) -> str:
    """Guess the text encoding of a file from its first bytes.

    ``complete`` says that ``prefix`` is the whole file (a prefix may end inside a
    multi-byte UTF-8 sequence; a whole file may not).

    Returns a Python codec name: ``utf-8-sig``, ``utf-16``, ``utf-16-le``, ``utf-16-be``,
    ``utf-32``, ``utf-8``, ``cp1252`` or ``latin-1``.

    Example:
        >>> detect_encoding(b"\\xef\\xbb\\xbfName\\n")
        'utf-8-sig'
        >>> detect_encoding("Straße;Ort\\n".encode("cp1252"))
        'cp1252'
    """
    if prefix.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = prefix[:4096]
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        return "utf-16-le" if odd_nuls >= even_nuls else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(prefix, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        prefix.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _complete_lines(text: str, limit: int = 50) -> list[str]:
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a prefix may be cut off
    return [line for line in lines if line.strip()][:limit]


def _consistency(lines: list[str], delimiter: str) -> tuple[float, int]:
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return (0.0, 0)
    if not rows or len(rows[0]) < 2:
        return (0.0, 0)
    width = len(rows[0])
    agreeing = sum(1 for row in rows if len(row) == width)
    return (agreeing / len(rows), width)


def detect_delimiter(sample: str) -> str:
    """Guess the CSV delimiter of a decoded sample among ``, ; \\t |`` (``,`` if unsure).

    Example:
        >>> detect_delimiter("Kundennr;Name1;Ort\\n1;Müller, Hans;Köln\\n")
        ';'
    """
    lines = _complete_lines(sample)
    if not lines:
        return ","
    text = "\n".join(lines) + "\n"
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in DELIMITERS and _consistency(lines, sniffed)[0] >= 0.9:
        return sniffed
    best = max(DELIMITERS, key=lambda d: _consistency(lines, d))
    return best if _consistency(lines, best)[1] >= 2 else ","


def _source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


class _PrefixedStream(io.RawIOBase):
    """A binary stream that replays an already-read prefix before the rest of ``inner``."""

    def __init__(self, prefix: bytes, inner: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._prefix.nbytes:
            size = min(len(target), self._prefix.nbytes)
            target[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        data = self._inner.read(len(target))
        target[: len(data)] = data
        return len(data)


def _open_binary(source: Source, stack: ExitStack) -> tuple[IO[bytes], bytes]:
    """Open ``source`` and return (stream positioned at 0, prefix of up to PREFIX_BYTES)."""
    if isinstance(source, str | os.PathLike):
        stream: IO[bytes] = stack.enter_context(open(source, "rb"))  # noqa: SIM115
    else:
        stream = source
    if stream.seekable():
        start = stream.tell()
        prefix = stream.read(PREFIX_BYTES)
        stream.seek(start)
        return stream, prefix
    prefix = stream.read(PREFIX_BYTES)
    return io.BufferedReader(_PrefixedStream(prefix, stream)), prefix


def _is_xlsx(source: Source, prefix: bytes) -> bool:
    return prefix.startswith(_XLSX_MAGIC) or _source_name(source).lower().endswith(_XLSX_SUFFIXES)


def _cell_text(value: object) -> tuple[str, bool]:
    """Render a spreadsheet cell as text; the flag says whether it was a typed value."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)), True
        return format(Decimal(repr(value)), "f"), True
    if isinstance(value, Decimal):
        return format(value, "f"), True
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat(), True
        return value.isoformat(), True
    if isinstance(value, date | time):
        return value.isoformat(), True
    return str(value), False


def _normalise_header(raw: list[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    names: list[str] = []
    for index, cell in enumerate(raw, start=1):
        name = cell.strip().lstrip("\ufeff").strip() or f"column_{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return tuple(names)


@dataclass
class _CsvSettings:
    encoding: str
    delimiter: str
    repair_errors: str = field(default="replace")


class SourceReader:
    """Streams the rows of one CSV or XLSX source.

    Use as an iterator (``for row in reader``) after construction; :attr:`info` holds what
    detection found. The reader closes the files it opened when iteration ends or on
    :meth:`close`.

    Args:
        source: a path or a binary file object.
        encoding: a codec name, or ``None``/``"auto"`` to detect.
        delimiter: a single character, or ``None``/``"auto"`` to detect.
        sheet: for XLSX, the worksheet name (default: the first sheet).
    """

    def __init__(
        self,
        source: Source,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self._stack = ExitStack()
        self._rows: Iterator[SourceRow]
        #: a CSV source's own reader (for :meth:`count`)
        self._csv: Any = None
        try:
            stream, prefix = _open_binary(source, self._stack)
            name = _source_name(source)
            if _is_xlsx(source, prefix):
                header, self._rows = self._open_xlsx(stream, sheet)
                self.info = SourceInfo(name, "xlsx", None, None, header)
            else:
                settings = self._settings(prefix, encoding, delimiter)
                header, self._rows = self._open_csv(stream, settings)
                self.info = SourceInfo(name, "csv", settings.encoding, settings.delimiter, header)
        except ImportFileError:
            self._stack.close()
            raise
        except Exception as exc:  # zipfile, openpyxl, codec lookup ...
            self._stack.close()
            raise ImportFileError(f"cannot read {_source_name(source)}: {exc}") from exc

    @property
    def header(self) -> tuple[str, ...]:
        return self.info.header

    def __iter__(self) -> Iterator[SourceRow]:
        try:
            yield from self._rows
        finally:
            self.close()

    def close(self) -> None:
        self._stack.close()

    def count(self) -> int:
        """How many rows iterating would yield (then closed): for CSV without building
        them (the blank rows skipped and the malformed ones counted as ``_csv_rows``
        does), a job's progress total read at a fraction of the cost of its rows."""
        if self._csv is None:
            return sum(1 for _ in self)
        try:
            return _csv_count(self._csv)
        finally:
            self.close()

    # -- CSV -------------------------------------------------------------------------
    @staticmethod
    def _settings(prefix: bytes, encoding: str | None, delimiter: str | None) -> _CsvSettings:
        if not encoding or encoding == "auto":
            encoding = detect_encoding(prefix, complete=len(prefix) < PREFIX_BYTES)
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ImportFileError(f"unknown encoding {encoding!r}") from exc
        repair = _FALLBACK_ERRORS if encoding in ("utf-8", "utf-8-sig") else "replace"
        if not delimiter or delimiter == "auto":
            text = codecs.getincrementaldecoder(encoding)("replace").decode(prefix, final=False)
            delimiter = detect_delimiter(text.lstrip("\ufeff"))
        elif delimiter in ("\\t", "tab"):
            delimiter = "\t"
        if len(delimiter) != 1:
            raise ImportFileError(f"delimiter must be one character, got {delimiter!r}")
        return _CsvSettings(encoding, delimiter, repair)

    def _open_csv(
        self, stream: IO[bytes], settings: _CsvSettings
    ) -> tuple[tuple[str, ...], Iterator[SourceRow]]:
        text = io.TextIOWrapper(
            stream, encoding=settings.encoding, errors=settings.repair_errors, newline=""
        )
        self._stack.callback(text.detach)  # never close a caller's stream through the wrapper
        reader = csv.reader(text, delimiter=settings.delimiter)
        header: tuple[str, ...] = ()
        try:
            for raw in reader:
                if any(cell.strip() for cell in raw):
                    header = _normalise_header([cell.replace(_REPAIRED, "") for cell in raw])
                    break
        except csv.Error as exc:
            raise ImportFileError(f"cannot read the header row: {exc}") from exc
        if not header:
            raise ImportFileError("the file has no header row")
        self._csv = reader
        return header, _csv_rows(reader, header)

    # -- XLSX ------------------------------------------------------------------------
    def _open_xlsx(
        self, stream: IO[bytes], sheet: str | None
    ) -> tuple[tuple[str, ...], Iterator[SourceRow]]:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        self._stack.callback(workbook.close)
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ImportFileError(f"workbook has no sheet {sheet!r}: {workbook.sheetnames}")
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        header: tuple[str, ...] = ()
        for raw in rows:
            cells = [_cell_text(value)[0] for value in raw]
            while cells and not cells[-1].strip():
                cells.pop()  # trailing empty cells of the sheet's dimension
            if cells:
                header = _normalise_header(cells)
                break
        if not header:
            raise ImportFileError("the worksheet has no header row")
        return header, _xlsx_rows(rows, header)


def _storable(
    header: tuple[str, ...], cells: list[str]
) -> tuple[list[str], tuple[FieldIssue, ...]]:
    """The cells with each NUL or lone surrogate replaced by U+FFFD, and one
    ``invalid_text`` problem per such cell: the row fails (nothing of it is written) and
    its report says which column, never storing what no database column can hold."""
    if not _UNSTORABLE.search("".join(cells)):
        return cells, ()
    problems = []
    for index, cell in enumerate(cells):
        why = bad_text(cell)
        if why:
            column = header[index] if index < len(header) else f"column {index + 1}"
            problems.append(FieldIssue(column, "invalid_text", f"the cell {why}"))
    return [_UNSTORABLE.sub("\ufffd", cell) for cell in cells], tuple(problems)


def _width_problem(found: int, expected: int) -> FieldIssue:
    return FieldIssue("row", "malformed_row", f"expected {expected} fields, found {found}")


def _csv_rows(reader: Any, header: tuple[str, ...]) -> Iterator[SourceRow]:
    old_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        number = 0
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield SourceRow(
                    number, {}, problems=(FieldIssue("row", "malformed_row", str(exc)),)
                )
                continue
            number += 1
            if not any(cell.strip() for cell in raw):
                continue
            notes: tuple[FieldIssue, ...] = ()
            if any(_REPAIRED in cell or "\ufffd" in cell for cell in raw):
                raw = [cell.replace(_REPAIRED, "") for cell in raw]
                notes = (
                    FieldIssue(
                        "row",
                        "encoding_fallback",
                        "bytes not valid in the file encoding were repaired",
                    ),
                )
            raw, problems = _storable(header, raw)
            if len(raw) != len(header):
                problems = (*problems, _width_problem(len(raw), len(header)))
            yield SourceRow(
                number, dict(zip(header, raw, strict=False)), problems=problems, notes=notes
            )
    finally:
        csv.field_size_limit(old_limit)


def _csv_count(reader: Any) -> int:
    """How many rows :func:`_csv_rows` yields from ``reader``: every malformed row and
    every row with a non-blank cell."""
    old_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        count = 0
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return count
            except csv.Error:
                count += 1
                continue
            if any(cell.strip() for cell in raw):
                count += 1
    finally:
        csv.field_size_limit(old_limit)


def _xlsx_rows(rows: Iterator[tuple[Any, ...]], header: tuple[str, ...]) -> Iterator[SourceRow]:
    for number, raw in enumerate(rows, start=1):
        values: dict[str, str] = {}
        native: set[str] = set()
        extra = 0
        for index, value in enumerate(raw):
            text, typed = _cell_text(value)
            if index >= len(header):
                extra += 1 if text.strip() else 0
                continue
            values[header[index]] = text
            if typed:
                native.add(header[index])
        if not any(v.strip() for v in values.values()) and not extra:
            continue
        for name in header:
            values.setdefault(name, "")
        cells, problems = _storable(header, [values[name] for name in header])
        values = dict(zip(header, cells, strict=True))
        if extra:
            problems = (*problems, _width_problem(len(header) + extra, len(header)))
        yield SourceRow(number, values, frozenset(native), problems)


def count_source_rows(
    source: Source,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> int:
    """Number of non-blank data rows of one source (a progress total; streams the file)."""
    return SourceReader(source, encoding=encoding, delimiter=delimiter, sheet=sheet).count()
