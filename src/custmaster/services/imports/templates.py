"""Mapping templates: the model, the YAML loader and its validation.

A template is a YAML file a user can copy and edit (see ``templates/README.md`` for the
full reference and the shipped templates). :func:`load_template` accepts the name of a
shipped template (``"salesforce"``) or of one in the operator's template directory, never
a path (:func:`load_template_file` is for the operator's own tools), and raises
:class:`TemplateError` listing every bad key by its location
(``fields.addresses[billing].citty: ...``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custmaster.services.imports.paths import (
    OVERRIDABLE_FIELDS,
    PathError,
    TargetPath,
    parse_target,
)
from custmaster.services.imports.transforms import TRANSFORMS, TransformContext, ValueMap

DEFAULT_REQUIRED = ("kind", "name", "email")
#: Fields a grouped row contributes to ``overrides[entity]`` unless the template says otherwise.
DEFAULT_ENTITY_FIELDS = tuple(sorted(OVERRIDABLE_FIELDS - {"addresses"}))
_TOP_KEYS = frozenset(
    {
        "name",
        "source_system",
        "description",
        "format",
        "source_id",
        "source_id_separator",
        "required",
        "defaults",
        "fields",
        "value_maps",
        "group_by",
        "related",
        "primary_role",
        "source_system_column",
    }
)
_FORMAT_KEYS = frozenset(
    {
        "encoding",
        "delimiter",
        "sheet",
        "decimal_separator",
        "thousands_separator",
        "date_formats",
        "datetime_formats",
        "unneutralise",
    }
)
_FIELD_KEYS = frozenset({"column", "columns", "join", "transforms", "value_map"})
_GROUP_KEYS = frozenset({"columns", "entity_column", "entity_map", "strategy", "entity_fields"})
_RELATED_KEYS = frozenset(
    {
        "target",
        "join_column",
        "references",
        "source_id",
        "source_id_separator",
        "primary",
        "email_to_master",
        "format",
        "fields",
    }
)
_MAP_KEYS = frozenset({"values", "on_unknown"})


class TemplateError(ValueError):
    """A template file is invalid; ``problems`` lists each bad key with what is wrong."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        super().__init__(f"invalid template {origin}:\n  " + "\n  ".join(problems))
        self.origin = origin
        self.problems = problems


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How to read a file: ``None``/``"auto"`` encoding or delimiter means detect."""

    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    decimal_separator: str = "."
    thousands_separator: str = ""
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    datetime_formats: tuple[str, ...] = ()
    unneutralise: bool = False


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """``target`` <- ``columns`` through ``steps`` (transform names or ``map:NAME``)."""

    target: str
    path: TargetPath
    columns: tuple[str, ...]
    steps: tuple[str, ...]
    join: str | None = None  # several columns: joined text, or a list when None


@dataclass(frozen=True, slots=True)
class IdSpec:
    """The source id: one column, or several joined (``demf/DE-0001``)."""

    columns: tuple[str, ...]
    separator: str = "/"


@dataclass(frozen=True, slots=True)
class GroupBy:
    """Rows of one customer across legal entities (D365) become one command.

    ``columns`` form the grouping key (compared ignoring case and spacing);
    ``entity_column`` names the legal entity of a row, translated by the value map
    ``entity_map``; ``entity_fields`` go to ``overrides[entity]``. ``strategy`` is
    ``spill`` (any order; rows are indexed in a temporary SQLite file) or ``adjacent``
    (rows of one customer must follow each other; nothing is stored).
    """

    columns: tuple[str, ...]
    entity_column: str
    entity_map: str | None
    strategy: str = "spill"
    entity_fields: tuple[str, ...] = DEFAULT_ENTITY_FIELDS


@dataclass(frozen=True, slots=True)
class Related:
    """A related file joined to the primary one (Salesforce contacts by AccountId)."""

    role: str
    target: str  # "contacts"
    join_column: str
    references: str
    source_id: IdSpec | None
    fields: tuple[FieldMapping, ...]
    format: FileFormat
    primary: str = "first"  # "first" | "none"
    email_to_master: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    """A validated mapping template (see the module docstring)."""

    name: str
    source_system: str
    description: str
    format: FileFormat
    source_id: IdSpec
    fields: tuple[FieldMapping, ...]
    value_maps: Mapping[str, ValueMap]
    defaults: tuple[tuple[str, TargetPath, Any], ...] = ()
    required: tuple[str, ...] = DEFAULT_REQUIRED
    group_by: GroupBy | None = None
    related: tuple[Related, ...] = ()
    primary_role: str = "primary"
    source_system_column: str | None = None  # per-row source system (own layout)
    origin: str = ""

    @property
    def sets_owning_entity(self) -> bool:
        """Whether the template gives rows their (required) owning entity: a mapped
        column, a default, or the legal entity of a grouped export's rows. Without it the
        job's ``entity`` option must name one."""
        return (
            any(m.target == "owning_entity" for m in self.fields)
            or any(target == "owning_entity" for target, _, _ in self.defaults)
            or (self.group_by is not None and bool(self.group_by.entity_column))
        )

    @property
    def roles(self) -> tuple[str, ...]:
        """File roles in the order positional sources are assigned to them."""
        return (self.primary_role, *(r.role for r in self.related))

    def context(self, fmt: FileFormat | None = None, *, native: bool = False) -> TransformContext:
        f = fmt or self.format
        return TransformContext(
            decimal_separator=f.decimal_separator,
            thousands_separator=f.thousands_separator,
            date_formats=f.date_formats,
            datetime_formats=f.datetime_formats,
            value_maps=self.value_maps,
            native=native,
        )

    def mapped_columns(self) -> set[str]:
        """Every column of the primary file the template reads."""
        columns = {c for m in self.fields for c in m.columns} | set(self.source_id.columns)
        if self.group_by:
            columns |= {*self.group_by.columns, self.group_by.entity_column}
        columns |= {r.references for r in self.related}
        if self.source_system_column:
            columns.add(self.source_system_column)
        return columns


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _unknown_keys(
    data: Mapping[str, Any], allowed: frozenset[str], where: str, problems: _Problems
) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                f"{where}.{key}" if where else str(key),
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )


def _mapping(value: Any, where: str, problems: _Problems) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(where, "expected a mapping")
        return {}
    return value


def _str_list(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    problems.add(where, "expected a column name or a non-empty list of column names")
    return ()


def _parse_format(
    data: Any, where: str, problems: _Problems, base: FileFormat | None = None
) -> FileFormat:
    raw = _mapping(data, where, problems)
    _unknown_keys(raw, _FORMAT_KEYS, where, problems)
    base = base or FileFormat()

    def text(key: str, default: str | None) -> str | None:
        value = raw.get(key, default)
        if value is not None and not isinstance(value, str):
            problems.add(f"{where}.{key}", "expected text")
            return default
        return value

    encoding = text("encoding", base.encoding)
    delimiter = text("delimiter", base.delimiter)
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if delimiter not in (None, "auto") and len(delimiter or "") != 1:
        problems.add(f"{where}.delimiter", "expected one character or 'auto'")
    decimal = text("decimal_separator", base.decimal_separator) or "."
    thousands = text("thousands_separator", base.thousands_separator) or ""
    if decimal == thousands or len(decimal) != 1 or len(thousands) > 1:
        problems.add(f"{where}.decimal_separator", "separators must be single, distinct characters")
    dates = raw.get("date_formats", list(base.date_formats))
    datetimes = raw.get("datetime_formats", list(base.datetime_formats))
    unneutralise = raw.get("unneutralise", base.unneutralise)
    if not isinstance(unneutralise, bool):
        problems.add(f"{where}.unneutralise", "expected true or false")
        unneutralise = False
    return FileFormat(
        encoding=None if encoding == "auto" else encoding,
        delimiter=None if delimiter == "auto" else delimiter,
        sheet=text("sheet", base.sheet),
        decimal_separator=decimal,
        thousands_separator=thousands,
        date_formats=_str_list(dates, f"{where}.date_formats", problems),
        datetime_formats=tuple(datetimes)
        if datetimes == []
        else _str_list(datetimes, f"{where}.datetime_formats", problems),
        unneutralise=unneutralise,
    )


def _parse_value_maps(data: Any, problems: _Problems) -> dict[str, ValueMap]:
    maps: dict[str, ValueMap] = {}
    for name, spec in _mapping(data, "value_maps", problems).items():
        where = f"value_maps.{name}"
        spec = _mapping(spec, where, problems)
        if "values" in spec or "on_unknown" in spec:
            _unknown_keys(spec, _MAP_KEYS, where, problems)
            values = _mapping(spec.get("values"), f"{where}.values", problems)
            on_unknown = spec.get("on_unknown", "error")
        else:
            values, on_unknown = spec, "error"
        if on_unknown not in ("error", "keep", "drop"):
            problems.add(f"{where}.on_unknown", "expected error, keep or drop")
        maps[str(name)] = ValueMap(
            str(name), {str(k): v for k, v in values.items()}, str(on_unknown)
        )
    return maps


def _parse_field(
    target: str,
    spec: Any,
    root: str,
    fmt: FileFormat,
    maps: Mapping[str, Any],
    where: str,
    problems: _Problems,
) -> FieldMapping | None:
    try:
        path = parse_target(target, root=root)
    except PathError as exc:
        problems.add(where, str(exc))
        return None
    if isinstance(spec, str):
        spec = {"column": spec}
    spec = _mapping(spec, where, problems)
    _unknown_keys(spec, _FIELD_KEYS, where, problems)
    if ("column" in spec) == ("columns" in spec):
        problems.add(where, "give exactly one of 'column' or 'columns'")
        return None
    columns = _str_list(spec.get("column", spec.get("columns")), where, problems)
    transforms = spec.get("transforms", [])
    if isinstance(transforms, str):
        transforms = [transforms]
    if not isinstance(transforms, list):
        problems.add(f"{where}.transforms", "expected a list of transform names")
        transforms = []
    if "value_map" in spec:
        transforms = [*transforms, f"map:{spec['value_map']}"]
    for step in transforms:
        if not isinstance(step, str):
            problems.add(f"{where}.transforms", f"bad transform {step!r}")
        elif step.startswith("map:"):
            if step[4:] not in maps:
                problems.add(f"{where}.transforms", f"no value map named {step[4:]!r}")
        elif step not in TRANSFORMS:
            problems.add(
                f"{where}.transforms",
                f"unknown transform {step!r} (known: {', '.join(sorted(TRANSFORMS))})",
            )
    prefix = ("unneutralise", "strip") if fmt.unneutralise else ("strip",)
    join = spec.get("join")
    if join is not None and not isinstance(join, str):
        problems.add(f"{where}.join", "expected text")
        join = None
    return FieldMapping(target, path, columns, (*prefix, *map(str, transforms)), join)


def _parse_fields(
    data: Any, where: str, root: str, fmt: FileFormat, maps: Mapping[str, Any], problems: _Problems
) -> tuple[FieldMapping, ...]:
    out = []
    for target, spec in _mapping(data, where, problems).items():
        mapping = _parse_field(str(target), spec, root, fmt, maps, f"{where}.{target}", problems)
        if mapping is not None:
            out.append(mapping)
    if not out:
        problems.add(where, "no field mappings")
    return tuple(out)


def _parse_id(data: Any, separator: Any, where: str, problems: _Problems) -> IdSpec:
    columns = _str_list(data, where, problems)
    if not isinstance(separator, str):
        problems.add(f"{where}_separator", "expected text")
        separator = "/"
    return IdSpec(columns, separator)


def _parse_group(data: Any, maps: Mapping[str, Any], problems: _Problems) -> GroupBy | None:
    if data is None:
        return None
    raw = _mapping(data, "group_by", problems)
    _unknown_keys(raw, _GROUP_KEYS, "group_by", problems)
    columns = _str_list(raw.get("columns"), "group_by.columns", problems)
    entity_column = raw.get("entity_column")
    if not isinstance(entity_column, str) or not entity_column:
        problems.add("group_by.entity_column", "expected the column naming the legal entity")
        entity_column = ""
    entity_map = raw.get("entity_map")
    if entity_map is not None and entity_map not in maps:
        problems.add("group_by.entity_map", f"no value map named {entity_map!r}")
    strategy = raw.get("strategy", "spill")
    if strategy not in ("spill", "adjacent"):
        problems.add("group_by.strategy", "expected spill or adjacent")
    fields = raw.get("entity_fields", list(DEFAULT_ENTITY_FIELDS))
    entity_fields = _str_list(fields, "group_by.entity_fields", problems)
    for name in entity_fields:
        if name not in OVERRIDABLE_FIELDS:
            problems.add(
                "group_by.entity_fields",
                f"{name!r} cannot be overridden (allowed: {sorted(OVERRIDABLE_FIELDS)})",
            )
    return GroupBy(columns, entity_column, entity_map, str(strategy), entity_fields)


def _parse_related(
    data: Any, fmt: FileFormat, maps: Mapping[str, Any], problems: _Problems
) -> tuple[Related, ...]:
    out = []
    for role, spec in _mapping(data, "related", problems).items():
        where = f"related.{role}"
        raw = _mapping(spec, where, problems)
        _unknown_keys(raw, _RELATED_KEYS, where, problems)
        if raw.get("target", "contacts") != "contacts":
            problems.add(f"{where}.target", "only 'contacts' can be joined from a related file")
        for key in ("join_column", "references"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                problems.add(f"{where}.{key}", "expected a column name")
        related_fmt = _parse_format(raw.get("format"), f"{where}.format", problems, base=fmt)
        source_id = (
            _parse_id(
                raw["source_id"],
                raw.get("source_id_separator", "/"),
                f"{where}.source_id",
                problems,
            )
            if "source_id" in raw
            else None
        )
        primary = raw.get("primary", "first")
        if primary not in ("first", "none"):
            problems.add(f"{where}.primary", "expected first or none")
        email_to_master = raw.get("email_to_master", False)
        if not isinstance(email_to_master, bool):
            problems.add(f"{where}.email_to_master", "expected true or false")
        fields = _parse_fields(
            raw.get("fields"), f"{where}.fields", "contact", related_fmt, maps, problems
        )
        out.append(
            Related(
                str(role),
                "contacts",
                str(raw.get("join_column", "")),
                str(raw.get("references", "")),
                source_id,
                fields,
                related_fmt,
                str(primary),
                bool(email_to_master),
            )
        )
    return tuple(out)


def _parse_defaults(data: Any, problems: _Problems) -> tuple[tuple[str, TargetPath, Any], ...]:
    out = []
    for target, value in _mapping(data, "defaults", problems).items():
        try:
            out.append((str(target), parse_target(str(target)), value))
        except PathError as exc:
            problems.add(f"defaults.{target}", str(exc))
    return tuple(out)


def _optional_text(raw: Mapping[str, Any], key: str, problems: _Problems) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        problems.add(key, "expected a column name")
        return None
    return value


def parse_template(data: Any, origin: str = "<template>") -> Template:
    """Validate a parsed YAML document and build the :class:`Template`."""
    problems = _Problems()
    raw = _mapping(data, "template", problems)
    _unknown_keys(raw, _TOP_KEYS, "", problems)
    for key in ("name", "source_system"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            problems.add(key, "required text")
    fmt = _parse_format(raw.get("format"), "format", problems)
    maps = _parse_value_maps(raw.get("value_maps"), problems)
    if "source_id" not in raw:
        problems.add("source_id", "required: the column(s) holding the source's customer id")
    source_id = _parse_id(
        raw.get("source_id", "id"), raw.get("source_id_separator", "/"), "source_id", problems
    )
    required = raw.get("required", list(DEFAULT_REQUIRED))
    template = Template(
        name=str(raw.get("name", "")),
        source_system=str(raw.get("source_system", "")),
        description=str(raw.get("description", "")).strip(),
        format=fmt,
        source_id=source_id,
        fields=_parse_fields(raw.get("fields"), "fields", "customer", fmt, maps, problems),
        value_maps=maps,
        defaults=_parse_defaults(raw.get("defaults"), problems),
        required=_str_list(required, "required", problems) if required != [] else (),
        group_by=_parse_group(raw.get("group_by"), maps, problems),
        related=_parse_related(raw.get("related"), fmt, maps, problems),
        primary_role=str(raw.get("primary_role", "primary")),
        source_system_column=_optional_text(raw, "source_system_column", problems),
        origin=origin,
    )
    if template.group_by is not None and template.related:
        problems.add("related", "a grouped template (group_by) cannot join related files")
    if problems.items:
        raise TemplateError(origin, problems.items)
    return template


def _shipped_dir() -> Path:
    return Path(str(resources.files("custmaster.services.imports").joinpath("templates")))


#: What a template name looks like: never a path (no ``/``, ``\\``, ``.`` or ``..``).
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class TemplateNameError(ValueError):
    """A template was asked for by something other than a name (a path, say)."""


def _named_files(folder: Path) -> dict[str, Path]:
    return {
        p.stem: p
        for p in sorted(folder.glob("*.yaml"))
        if TEMPLATE_NAME.fullmatch(p.stem) and p.is_file()
    }


def shipped_templates() -> dict[str, Path]:
    """Name -> path of the templates shipped with custmaster."""
    return _named_files(_shipped_dir())


def available_templates(directory: Path | None = None) -> dict[str, Path]:
    """Name -> file of every template a job may use: the shipped ones and the ``*.yaml``
    files of the operator's ``directory`` (``CUSTMASTER_IMPORT_TEMPLATE_DIR``), which win
    over a shipped template of the same name. Files whose name is not a valid template
    name (:data:`TEMPLATE_NAME`) are not offered."""
    found = shipped_templates()
    if directory is not None and directory.is_dir():
        found.update(_named_files(directory))
    return found


def check_template_name(name: str, directory: Path | None = None) -> None:
    """Refuse anything but a template name (a client never chooses a file by its path).

    Raises:
        TemplateNameError: ``name`` is not of the form of :data:`TEMPLATE_NAME`.
    """
    if not TEMPLATE_NAME.fullmatch(name):
        names = ", ".join(available_templates(directory))
        raise TemplateNameError(
            f"a template is chosen by name ({names}), never by a path; an operator adds "
            "templates to the directory CUSTMASTER_IMPORT_TEMPLATE_DIR"
        )


def load_template(name: str, directory: Path | None = None) -> Template:
    """Load a template by name: a shipped one (``"d365"``) or one of the operator's
    ``directory`` (see :func:`available_templates`). Never a path.

    Raises:
        TemplateNameError: ``name`` is not a template name.
        FileNotFoundError: no template of that name.
        TemplateError: the file is not valid YAML or not a valid template.
    """
    check_template_name(name, directory)
    available = available_templates(directory)
    path = available.get(name)
    if path is None:
        raise FileNotFoundError(f"no template {name!r} (available: {', '.join(available)})")
    return _load(path, name)


def load_template_file(path: str | os.PathLike[str]) -> Template:
    """Load a template file by path: for the operator's own tools and tests, never for a
    name or path a client sent (use :func:`load_template`).

    Raises:
        TemplateError: the file is not valid YAML or not a valid template.
        FileNotFoundError: no such file.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no template file {os.fspath(path)!r}")
    return _load(file, str(file))


def _load(path: Path, origin: str) -> Template:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise TemplateError(origin, [f"not UTF-8 text (byte {exc.start})"]) from None
    except yaml.YAMLError as exc:
        # the problem and its position only: never the text around it
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed"
        raise TemplateError(origin, [f"not valid YAML{where}: {problem}"]) from None
    return parse_template(data, origin)


def template_columns_present(template: Template, header: tuple[str, ...]) -> float:
    """Share (0..1) of the template's primary columns present in ``header``."""
    wanted = template.mapped_columns()
    return len(wanted & set(header)) / len(wanted) if wanted else 0.0
