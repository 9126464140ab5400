"""Tests for custmaster.services.imports.templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from custmaster.services.imports.templates import (
    TemplateError,
    TemplateNameError,
    available_templates,
    load_template,
    load_template_file,
    parse_template,
    shipped_templates,
)

MINIMAL: dict[str, Any] = {
    "name": "mini",
    "source_system": "mini",
    "source_id": "id",
    "fields": {"name": "Name"},
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_all_shipped_templates_load() -> None:
    names = set(shipped_templates())
    assert names == {"custmaster", "salesforce", "hubspot", "d365", "legacy_erp"}
    for name in names:
        template = load_template(name)
        assert template.name == name
        assert template.source_system
        assert template.fields


def test_minimal_template_defaults() -> None:
    template = parse_template(MINIMAL)
    assert template.required == ("kind", "name", "email")
    assert template.format.encoding is None and template.format.delimiter is None
    assert template.fields[0].steps == ("strip",)
    assert template.roles == ("primary",)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (_with(fieldz={}), "fieldz: unknown key"),
        (_with(fields={"addresses[billing].citty": "Ort"}), "fields.addresses[billing].citty"),
        (_with(fields={"name": {"column": "N", "transforms": ["shout"]}}), "unknown transform"),
        (_with(fields={"name": {"column": "N", "value_map": "nope"}}), "no value map named"),
        (_with(fields={"name": {"column": "N", "colour": 1}}), "fields.name.colour"),
        (_with(fields={"name": {}}), "exactly one of 'column' or 'columns'"),
        (_with(format={"delimiter": ";;"}), "format.delimiter"),
        (_with(format={"decimal_separator": ",", "thousands_separator": ","}), "separators"),
        (_with(format={"encodng": "utf-8"}), "format.encodng"),
        (_with(value_maps={"m": {"values": {}, "on_unknown": "ignore"}}), "on_unknown"),
        (_with(defaults={"colour": "red"}), "defaults.colour"),
        (_with(group_by={"columns": ["A"]}), "group_by.entity_column"),
        (_with(group_by={"columns": ["A"], "entity_column": "E", "strategy": "x"}), "strategy"),
        (
            _with(group_by={"columns": ["A"], "entity_column": "E", "entity_fields": ["name"]}),
            "cannot be overridden",
        ),
        (
            _with(related={"contacts": {"fields": {"email": "Email"}}}),
            "related.contacts.join_column",
        ),
        (
            _with(related={"c": {"join_column": "A", "references": "B", "fields": {"x": "X"}}}),
            "related.c.fields.x",
        ),
        ({"fields": {"name": "N"}}, "name: required text"),
        ({**MINIMAL, "source_id": []}, "source_id"),
        ("just text", "expected a mapping"),
    ],
)
def test_invalid_templates_name_the_bad_key(data: Any, where: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(data, "t.yaml")
    assert where in str(info.value)


def test_all_problems_are_listed_at_once() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(_with(fieldz=1, fields={"nmae": "N", "name": "N"}, format=[]))
    assert len(info.value.problems) == 3


def test_load_template_from_copied_file(tmp_path: Path) -> None:
    source = shipped_templates()["legacy_erp"]
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["value_maps"]["zahlungsbedingungen"]["sofort"] = "DUE"
    path = tmp_path / "my_erp.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    template = load_template_file(path)
    assert template.value_maps["zahlungsbedingungen"].lookup("sofort") == "DUE"
    assert template.format.thousands_separator == "."


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="available"):
        load_template("no_such_template")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields: [unclosed SECRET", encoding="utf-8")
    with pytest.raises(TemplateError, match="not valid YAML at line 1") as info:
        load_template_file(bad)
    assert "SECRET" not in str(info.value)  # the problem and its place, never the text
    with pytest.raises(TemplateNameError):
        load_template(str(bad))
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template("bad", tmp_path)


def test_the_operator_directory_adds_templates_by_name(tmp_path: Path) -> None:
    data = yaml.safe_load(shipped_templates()["hubspot"].read_text(encoding="utf-8"))
    (tmp_path / "crm_two.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "not a name.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    assert set(available_templates(tmp_path)) == {*shipped_templates(), "crm_two"}
    assert load_template("crm_two", tmp_path).source_system == "hubspot"
    with pytest.raises(FileNotFoundError):
        load_template("crm_two")  # not without the directory
    for bad in ("../crm_two", "crm_two.yaml", "/etc/passwd", "", "a" * 65):
        with pytest.raises(TemplateNameError):
            load_template(bad, tmp_path)
