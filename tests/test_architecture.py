"""DESIGN.md §1: domain and matching import no framework and no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "custmaster"
FORBIDDEN = ("sqlalchemy", "fastapi", "starlette", "pydantic", "typer", "alembic", "yaml",
             "custmaster.services", "custmaster.persistence", "custmaster.api",
             "custmaster.cli", "custmaster.web", "custmaster.events")  # fmt: skip


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", ["domain", "matching"])
def test_inner_layers_import_no_framework(layer: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in sorted((SRC / layer).rglob("*.py"))
        if not path.name.startswith("splink")
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offenders == []
