"""Grouped formats (D365 Customers V3): the rows of one customer become one command.

The grouping key is the template's ``group_by.columns`` compared ignoring case and
spacing. Two strategies bound memory differently:

``spill`` (default)
    Every row is written to a temporary SQLite file keyed by its group key, then read back
    group by group in the order of each group's first row. Works whatever the row order;
    memory is SQLite's page cache plus the rows of one group; disk is about the file size.
``adjacent``
    Rows of one customer must follow each other (export sorted by the grouping columns);
    nothing is stored beyond the current group. A customer whose rows are not adjacent
    becomes several commands (the matcher then finds them as duplicates).

Either way a group holds at most :data:`MAX_GROUP_ROWS` rows in memory (a larger one is
merged in chunks, each with a ``group_too_large`` warning).

Merging a group: the owning row is the row of the job's entity if the group has one, else
the first row; ``owning_entity`` is that row's entity. The master takes the owning row's
fields, and fields it lacks from the other rows (a value differing beyond case and spacing is a
``conflicting_values`` warning). ``overrides[entity]`` holds each row's
``group_by.entity_fields`` (credit limit, payment terms, currency, customer group ...);
addresses that differ from the master's go to the override of their entity as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from custmaster.services.imports.mapping import map_row, missing_required
from custmaster.services.imports.records import FieldIssue, ImportRecord, JSONDict, SourceRef
from custmaster.services.imports.sources import SourceRow
from custmaster.services.imports.spill import RowStore
from custmaster.services.imports.templates import GroupBy, Template
from custmaster.services.imports.transforms import TransformError

#: Most rows merged into one customer; a larger group (a grouping key shared by unrelated
#: rows, e.g. a placeholder name) is split into chunks that each carry a warning.
MAX_GROUP_ROWS = 200

_CHILD_FIELDS = frozenset(
    {"addresses", "contacts", "overrides", "metadata", "dimensions", "source_refs"}
)


def group_key(values: dict[str, str], columns: Iterable[str]) -> str | None:
    """The normalised grouping key of a row, or ``None`` when all its columns are empty."""
    parts = [" ".join(values.get(column, "").split()).casefold() for column in columns]
    return "\x1f".join(parts) if any(parts) else None


def _keyed(rows: Iterable[SourceRow], group: GroupBy) -> Iterator[tuple[str, SourceRow]]:
    for row in rows:
        key = None if row.problems else group_key(row.values, group.columns)
        # malformed or keyless rows are never merged with anything
        yield (key if key is not None else f"\x00{row.row_number}"), row


def _adjacent(rows: Iterable[SourceRow], group: GroupBy) -> Iterator[list[SourceRow]]:
    for _, members in itertools.groupby(_keyed(rows, group), key=lambda item: item[0]):
        chunk: list[SourceRow] = []
        for _, row in members:
            chunk.append(row)
            if len(chunk) == MAX_GROUP_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _spilled(rows: Iterable[SourceRow], group: GroupBy) -> Iterator[list[SourceRow]]:
    store = RowStore()
    try:
        for key, row in _keyed(rows, group):
            store.add(key, row)
        store.index()
        yield from store.groups(max_rows=MAX_GROUP_ROWS)
    finally:
        store.close()


@dataclass
class _Member:
    row: SourceRow
    record: ImportRecord
    entity: str | None


def _entity(
    row: SourceRow, template: Template, group: GroupBy
) -> tuple[str | None, FieldIssue | None]:
    raw = row.values.get(group.entity_column, "").strip()
    if not raw:
        return None, FieldIssue(
            group.entity_column, "missing_entity", "the row names no legal entity"
        )
    if group.entity_map is None:
        return raw, None
    try:
        code = template.value_maps[group.entity_map].lookup(raw)
    except TransformError as exc:
        return None, FieldIssue(group.entity_column, exc.code, exc.message)
    return (str(code) if code else None), None


def _prefixed(issues: Iterable[FieldIssue], row_number: int, grouped: bool) -> list[FieldIssue]:
    if not grouped:
        return list(issues)
    return [FieldIssue(i.field, i.code, f"row {row_number}: {i.message}") for i in issues]


def _fold(value: object) -> object:
    return " ".join(value.split()).casefold() if isinstance(value, str) else value


def _merge_shared(master: JSONDict, member: _Member, group: GroupBy, out: ImportRecord) -> None:
    for key, value in member.record.command.items():
        if key in group.entity_fields or key in _CHILD_FIELDS or key == "owning_entity":
            continue
        if key not in master:
            master[key] = value
        elif _fold(master[key]) != _fold(value):
            out.warnings.append(
                FieldIssue(
                    key,
                    "conflicting_values",
                    f"row {member.row.row_number} has {value!r}; kept {master[key]!r}",
                )
            )
    for key in ("metadata", "dimensions"):
        extra = member.record.command.get(key)
        if extra:
            master.setdefault(key, {})
            for name, value in extra.items():
                master[key].setdefault(name, value)
    for contact in member.record.command.get("contacts", []):
        if contact not in master.setdefault("contacts", []):
            master["contacts"].append(contact)


def _override(master: JSONDict, member: _Member, group: GroupBy) -> JSONDict:
    command = member.record.command
    override = {f: command[f] for f in group.entity_fields if f in command}
    addresses = command.get("addresses")
    if addresses and "addresses" not in override and addresses != master.get("addresses"):
        override["addresses"] = addresses
    return override


def merge_group(
    rows: list[SourceRow], template: Template, *, entity: str | None = None
) -> ImportRecord:
    """Merge the rows of one customer into one :class:`ImportRecord` (see module docs)."""
    group = template.group_by
    assert group is not None
    members: list[_Member] = []
    for row in rows:
        record = map_row(row, template)
        code, issue = (None, None) if row.problems else _entity(row, template, group)
        if issue is not None:
            record.errors.append(issue)
        members.append(_Member(row, record, code))
    if len(members) == 1 and members[0].row.problems:
        return members[0].record
    owning = next((m for m in members if entity and m.entity == entity), None)
    owning = owning or next((m for m in members if m.entity), members[0])
    grouped = len(members) > 1
    master = owning.record.command  # a fresh dict per row: the owning row's is reused
    out = ImportRecord(
        row_numbers=[m.row.row_number for m in members],
        source_system=owning.record.source_system,
        source_id=owning.record.source_id,
    )
    if len(members) >= MAX_GROUP_ROWS:
        out.warnings.append(
            FieldIssue(
                ", ".join(group.columns),
                "group_too_large",
                f"more than {MAX_GROUP_ROWS - 1} rows share this grouping key; merged in chunks "
                f"of {MAX_GROUP_ROWS}",
            )
        )
    overrides: dict[str, JSONDict] = {}
    seen_refs: set[SourceRef] = set()
    for member in members:
        out.errors.extend(_prefixed(member.record.errors, member.row.row_number, grouped))
        out.warnings.extend(_prefixed(member.record.warnings, member.row.row_number, grouped))
        for ref in member.record.source_refs:
            if ref not in seen_refs:
                seen_refs.add(ref)
                out.source_refs.append(ref)
        if member is not owning:
            _merge_shared(master, member, group, out)
        if member.entity is None:
            continue
        if member.entity in overrides:
            out.warnings.append(
                FieldIssue(
                    group.entity_column,
                    "duplicate_entity_row",
                    f"row {member.row.row_number}: a second account in {member.entity} for "
                    "this customer; its entity values were not used",
                )
            )
            continue
        overrides[member.entity] = _override(master, member, group)
    overrides = {code: values for code, values in overrides.items() if values}
    if overrides:
        master["overrides"] = overrides
    if out.source_refs:
        master["source_refs"] = [
            {"source_system": ref.source_system, "source_id": ref.source_id}
            for ref in out.source_refs
        ]
    if owning.entity:
        master["owning_entity"] = owning.entity
    elif entity:
        master.setdefault("owning_entity", entity)
    out.command = master
    out.missing_required = missing_required(master, template.required)
    return out


def grouped_records(
    rows: Iterable[SourceRow], template: Template, *, entity: str | None = None
) -> Iterator[ImportRecord]:
    """Group ``rows`` per the template's ``group_by`` and yield one record per customer."""
    group = template.group_by
    if group is None:
        raise ValueError(f"template {template.name!r} has no group_by")
    groups = _adjacent(rows, group) if group.strategy == "adjacent" else _spilled(rows, group)
    for members in groups:
        yield merge_group(members, template, entity=entity)
