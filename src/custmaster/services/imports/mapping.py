"""One source row -> one customer create-command (the shape of DESIGN.md §4).

Only what the source really has goes into the command: empty cells are left out, and the
only values not read from the row are the template's configured ``defaults`` (and the
``owning_entity`` the operator chose for the job). The row's cross-reference goes into
the command's ``source_refs`` (``[{"source_system": ..., "source_id": ...}]``), which the
create request accepts. A required field the source lacks is
listed in ``missing_required``; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, cast

import pycountry

from custmaster.services.imports.paths import get_path, parent_exists, set_path
from custmaster.services.imports.records import FieldIssue, ImportRecord, JSONDict, SourceRef
from custmaster.services.imports.sources import SourceRow
from custmaster.services.imports.templates import FieldMapping, IdSpec, Template
from custmaster.services.imports.transforms import (
    TransformContext,
    TransformError,
    compile_steps,
    run_steps,
)


def _cell(values: Mapping[str, str], mapping: FieldMapping) -> Any:
    if len(mapping.columns) == 1:
        return values.get(mapping.columns[0])
    present = [c for c in mapping.columns if c in values]
    if not present:
        return None
    cells = [values[c].strip() for c in present if values[c].strip()]
    return mapping.join.join(cells) if mapping.join is not None else cells


def map_fields(
    values: Mapping[str, str],
    fields: Iterable[FieldMapping],
    ctx: TransformContext,
    native: frozenset[str] = frozenset(),
    *,
    field_prefix: str = "",
) -> tuple[JSONDict, list[FieldIssue]]:
    """Apply ``fields`` to one row's ``values``; returns (object, errors).

    A column absent from the file is skipped (the preflight reports it once per file);
    a value that fails its transforms becomes an error naming the target and the column.
    """
    target: JSONDict = {}
    errors: list[FieldIssue] = []
    native_ctx = replace(ctx, native=True) if native else ctx
    for mapping in fields:
        raw = _cell(values, mapping)
        if raw is None or raw == "" or raw == []:  # absent or empty: no value, as
            continue  # apply_transforms would answer, without running it
        is_native = len(mapping.columns) == 1 and mapping.columns[0] in native
        try:
            steps = compile_steps(mapping.steps)  # (a template's steps are all known)
            value = run_steps(raw, steps, native_ctx if is_native else ctx)
        except TransformError as exc:
            column = ", ".join(mapping.columns)
            errors.append(
                FieldIssue(f"{field_prefix}{mapping.target}", exc.code, f"{column}: {exc.message}")
            )
            continue
        if value is not None:
            path = mapping.path
            if len(path) == 1:  # a master field: what set_path does for it
                target[cast(str, path[0].value)] = value
            else:
                set_path(target, path, value)
    return target, errors


def source_id_of(values: Mapping[str, str], spec: IdSpec) -> str | None:
    """The source id of a row (``None`` when its columns are empty)."""
    parts = [values.get(column, "").strip() for column in spec.columns]
    if not any(parts):
        return None
    return spec.separator.join(parts)


@lru_cache(maxsize=4096)
def resolve_region(country: str, region: str) -> str:
    """ISO 3166-2 code of a region given as a code (``"CA"``) or a name, if known."""
    text = region.strip()
    candidates = (f"{country}-{text}".upper(), text.upper())
    for code in candidates:
        subdivision = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
        if subdivision is not None and subdivision.country_code == country:
            return str(subdivision.code)
    folded = text.casefold()
    subdivisions = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
    for subdivision in subdivisions or ():
        if str(subdivision.name).casefold() == folded:
            return str(subdivision.code)
    return text


def _addresses(command: JSONDict) -> Iterable[JSONDict]:
    yield from command.get("addresses", [])
    for override in command.get("overrides", {}).values():
        yield from override.get("addresses", [])


def normalise_regions(command: JSONDict) -> None:
    """Replace address regions by their ISO 3166-2 code where the country makes it known."""
    for address in _addresses(command):
        country, region = address.get("country"), address.get("region")
        if isinstance(country, str) and isinstance(region, str) and len(country) == 2:
            address["region"] = resolve_region(country, region)


def apply_defaults(command: JSONDict, template: Template, entity: str | None) -> None:
    """Fill the template's configured defaults where the row left a field empty.

    A default inside a child (``addresses[billing].is_primary``) only applies when the
    row created that child; ``entity`` is the job's legal entity (``owning_entity``).
    """
    for _, path, value in template.defaults:
        if get_path(command, path) is None and parent_exists(command, path):
            set_path(command, path, value)
    if entity and "owning_entity" not in command:
        command["owning_entity"] = entity


def missing_required(command: JSONDict, required: Iterable[str]) -> list[str]:
    """Required fields without a value in ``command``."""
    return [name for name in required if command.get(name) in (None, "", [], {})]


def map_row(row: SourceRow, template: Template, *, entity: str | None = None) -> ImportRecord:
    """Map one source row to an :class:`ImportRecord` (see the module docstring).

    Args:
        row: a row from :class:`~custmaster.services.imports.sources.SourceReader`.
        template: the mapping template.
        entity: the legal entity the operator imports into, used as ``owning_entity``
            when the template maps none.

    Example:
        >>> from custmaster.services.imports.templates import load_template
        >>> t = load_template("legacy_erp")
        >>> row = SourceRow(1, {"Kundennr": "7", "Name1": "Müller GmbH",
        ...                     "Kreditlimit": "100.000,00"})
        >>> map_row(row, t).command["credit_limit"]
        '100000.00'
    """
    source_id = source_id_of(row.values, template.source_id)
    system = template.source_system
    if template.source_system_column:
        system = row.values.get(template.source_system_column, "").strip() or system
    record = ImportRecord(
        row_numbers=[row.row_number],
        source_system=system,
        source_id=source_id,
        warnings=list(row.notes),
    )
    if source_id is not None:
        record.source_refs.append(SourceRef(system, source_id))
    if row.problems:
        record.errors.extend(row.problems)
        return record
    command, errors = map_fields(row.values, template.fields, template.context(), row.native)
    apply_defaults(command, template, entity)
    normalise_regions(command)
    if source_id is not None:
        command["source_refs"] = [{"source_system": system, "source_id": source_id}]
    record.command = command
    record.errors.extend(errors)
    record.missing_required = missing_required(command, template.required)
    if source_id is None:
        record.warnings.append(
            FieldIssue(
                ", ".join(template.source_id.columns),
                "source_id_missing",
                "the row has no source id; no cross-reference will be recorded",
            )
        )
    return record
