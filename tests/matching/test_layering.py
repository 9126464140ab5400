"""custmaster.matching stays a pure library: no web, ORM, services or Splink at run time."""

from __future__ import annotations

import ast
import doctest
import importlib
import sys
from pathlib import Path

import pytest

import custmaster.matching

PACKAGE_DIR = Path(custmaster.matching.__file__).parent
ALLOWED = {"rapidfuzz", "phonenumbers", "stdnum", "pycountry", "custmaster"}
OFFLINE_ONLY = {"splink_training"}  # training module: Splink/DuckDB/pyarrow allowed


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_imports_only_allowed_libraries(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    for name in imported:
        top = name.split(".")[0]
        if top == "custmaster":
            assert name.startswith("custmaster.matching"), name
        elif path.stem not in OFFLINE_ONLY:
            assert top in ALLOWED or top in _stdlib(), f"{path.name} imports {name}"


def _stdlib() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_docstring_examples(path: Path) -> None:
    module = importlib.import_module(f"custmaster.matching.{path.stem}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
