"""Entry points for the import job: sources + template -> a stream of ImportRecords.

Example::

    from custmaster.services.imports import count_rows, read_records

    total = count_rows(["accounts.csv", "contacts.csv"], "salesforce")  # progress total
    with read_records(["accounts.csv", "contacts.csv"], "salesforce", entity="US01") as records:
        for record in records:
            ...  # record.errors -> report; record.missing_required -> draft; else create

Memory: non-grouped templates map one row at a time. Grouped templates (D365) and related
files (Salesforce contacts) go through a temporary SQLite file (see
:mod:`~custmaster.services.imports.grouping` and :mod:`~custmaster.services.imports.joining`),
so memory does not grow with the number of rows either.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeAlias, cast

from custmaster.services.imports.grouping import grouped_records
from custmaster.services.imports.joining import RelatedIndex
from custmaster.services.imports.mapping import map_row
from custmaster.services.imports.records import ImportRecord
from custmaster.services.imports.sources import (
    ImportFileError,
    Source,
    SourceInfo,
    SourceReader,
)
from custmaster.services.imports.templates import FileFormat, Template, load_template

Sources: TypeAlias = Source | Sequence[Source] | Mapping[str, Source]
TemplateRef: TypeAlias = Template | str


def resolve_template(template: TemplateRef) -> Template:
    """A :class:`Template` as is, or a shipped one loaded by its name (never a path)."""
    return template if isinstance(template, Template) else load_template(template)


def _is_single(sources: Sources) -> bool:
    return isinstance(sources, str | os.PathLike) or hasattr(sources, "read")


def assign_roles(sources: Sources, template: Template) -> dict[str, Source]:
    """Map the given sources to the template's file roles.

    One source is the primary file; a sequence is assigned in the order of
    :attr:`Template.roles` (``accounts``, then ``contacts`` for Salesforce); a mapping is
    taken by role name. Related files are optional.
    """
    roles = template.roles
    if isinstance(sources, Mapping):
        unknown = set(sources) - set(roles)
        if unknown:
            raise ImportFileError(f"unknown file roles {sorted(unknown)} (expected {list(roles)})")
        assigned = dict(sources)
    elif _is_single(sources):
        assigned = {roles[0]: cast(Source, sources)}
    else:
        items = list(cast(Sequence[Source], sources))
        if len(items) > len(roles):
            raise ImportFileError(f"{len(items)} files given; template expects {list(roles)}")
        assigned = dict(zip(roles, items, strict=False))
    if roles[0] not in assigned:
        raise ImportFileError(f"the {roles[0]!r} file is required")
    return assigned


def _open(source: Source, fmt: FileFormat) -> SourceReader:
    return SourceReader(source, encoding=fmt.encoding, delimiter=fmt.delimiter, sheet=fmt.sheet)


def _require(info: SourceInfo, columns: Sequence[str], role: str) -> None:
    missing = [c for c in columns if c and c not in info.header]
    if missing:
        raise ImportFileError(
            f"{role} file {info.name} lacks the key column(s) {missing}; "
            f"found {list(info.header)} - is this the right template?"
        )


class ImportStream(Iterator[ImportRecord]):
    """The records of one import, streamed; closes its files and temporary stores when
    exhausted, on :meth:`close` or at the end of a ``with`` block.

    Attributes:
        template: the template in use.
        sources: what detection found, by file role (encoding, delimiter, header).
    """

    def __init__(self, sources: Sources, template: TemplateRef, entity: str | None) -> None:
        self.template = resolve_template(template)
        self.entity = entity
        self._stack = ExitStack()
        try:
            assigned = assign_roles(sources, self.template)
            primary = _open(assigned[self.template.primary_role], self.template.format)
            self._stack.callback(primary.close)
            self.sources: dict[str, SourceInfo] = {self.template.primary_role: primary.info}
            keys = list(self.template.source_id.columns)
            if self.template.group_by:
                keys += [*self.template.group_by.columns, self.template.group_by.entity_column]
            keys += [r.references for r in self.template.related if r.role in assigned]
            _require(primary.info, keys, self.template.primary_role)
            self._indexes = [
                self._index(assigned, related.role)
                for related in self.template.related
                if related.role in assigned
            ]
            self._records = self._generate(primary)
        except BaseException:
            self._stack.close()
            raise

    def _index(self, assigned: Mapping[str, Source], role: str) -> RelatedIndex:
        related = next(r for r in self.template.related if r.role == role)
        reader = _open(assigned[role], related.format)
        self._stack.callback(reader.close)
        self.sources[role] = reader.info
        _require(reader.info, [related.join_column], role)
        index = RelatedIndex(related, self.template, reader)
        self._stack.callback(index.close)
        return index

    def _generate(self, primary: SourceReader) -> Generator[ImportRecord, None, None]:
        if self.template.group_by is not None:
            yield from grouped_records(primary, self.template, entity=self.entity)
            return
        for row in primary:
            record = map_row(row, self.template, entity=self.entity)
            for index in self._indexes:
                index.attach(record, row.values)
            yield record
        for index in self._indexes:
            yield from index.leftovers()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ImportRecord:
        try:
            return next(self._records)
        except StopIteration:
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        records = getattr(self, "_records", None)
        if records is not None:
            records.close()
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_records(
    sources: Sources, template: TemplateRef, *, entity: str | None = None
) -> ImportStream:
    """Read ``sources`` through ``template`` and stream one :class:`ImportRecord` per customer.

    Args:
        sources: a path or binary file (the primary file), a sequence in the order of the
            template's file roles, or a mapping role -> source
            (``{"accounts": ..., "contacts": ...}``). CSV or XLSX, detected per file.
        template: a :class:`Template`, the name of a shipped template (``custmaster``,
            ``salesforce``, ``hubspot``, ``d365``, ``legacy_erp``) or a template path.
        entity: the legal entity code the job imports into: the ``owning_entity`` when the
            source has none; for D365, the entity whose row owns a grouped customer.

    Raises:
        ImportFileError: at once, when a file cannot be read or lacks a key column.
        TemplateError: when the template is invalid.

    Malformed rows never raise: they come back as records with ``errors``.
    """
    return ImportStream(sources, template, entity)


def count_rows(sources: Sources, template: TemplateRef) -> int:
    """Non-blank data rows of the primary file: the progress total of a job (streams it)."""
    tpl = resolve_template(template)
    fmt = tpl.format
    with ExitStack() as stack:
        reader = _open(assign_roles(sources, tpl)[tpl.primary_role], fmt)
        stack.callback(reader.close)
        return reader.count()


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """Preflight of one file: detection results and template columns missing from it."""

    role: str
    info: SourceInfo
    missing_columns: tuple[str, ...]


def inspect_sources(sources: Sources, template: TemplateRef) -> list[SourceCheck]:
    """Detect format and header of each file and list the template columns it lacks
    (shown to the operator before the job starts; reads only the header)."""
    tpl = resolve_template(template)
    checks = []
    for role, source in assign_roles(sources, tpl).items():
        related = next((r for r in tpl.related if r.role == role), None)
        reader = _open(source, related.format if related else tpl.format)
        try:
            if related is None:
                wanted = tpl.mapped_columns()
            else:
                wanted = {c for m in related.fields for c in m.columns} | {related.join_column}
            missing = tuple(sorted(wanted - set(reader.header)))
            checks.append(SourceCheck(role, reader.info, missing))
        finally:
            reader.close()
    return checks


__all__ = [
    "ImportStream",
    "SourceCheck",
    "Sources",
    "assign_roles",
    "count_rows",
    "inspect_sources",
    "read_records",
    "resolve_template",
]
