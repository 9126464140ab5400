"""DESIGN.md §1: domain and matching import no framework and no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "custmaster"
FORBIDDEN = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "pydantic",
    "typer",
    "alembic",
    "yaml",
    "custmaster.services",
    "custmaster.persistence",
    "custmaster.api",
    "custmaster.cli",
    "custmaster.web",
)


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


#: the composition root: it builds the engine, the repositories and the unit of work
COMPOSITION_ROOT = "bootstrap.py"
#: modules of api/ and cli/ allowed to import persistence or SQLAlchemy, with the reason
OUTER_EXCEPTIONS: dict[str, str] = {}
OUTER_FORBIDDEN = ("sqlalchemy", "alembic", "custmaster.persistence")


@pytest.mark.parametrize("layer", ["api", "cli"])
def test_outer_layers_reach_persistence_only_through_the_composition_root(layer: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in sorted((SRC / layer).rglob("*.py"))
        if str(path.relative_to(SRC)) not in OUTER_EXCEPTIONS
        for name in _all_imports(path)
        if name.startswith(OUTER_FORBIDDEN)
    ]
    assert offenders == []


def _all_imports(path: Path) -> list[str]:
    """Every module ``path`` imports, also inside functions and ``TYPE_CHECKING`` blocks,
    with ``from a.b import c`` counted as ``a.b.c`` when that is a module."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {
            imported
            for imported in _all_imports(path)
            if imported in modules and imported != name and not name.startswith(f"{imported}.")
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_custmaster_modules() -> None:
    """Also through imports inside functions and TYPE_CHECKING blocks (a package's
    ``__init__`` importing its own modules does not count)."""
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _unit_of_work_uses(path: Path, root: Path = SRC) -> list[str]:
    """Where ``path`` reaches into a unit of work: an attribute of ``uow`` (``uow.users``,
    ``uow.read_only()``), of ``....uow()`` or a ``with uow:`` block."""
    found: list[str] = []

    def is_uow(node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id == "uow"
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "uow"
        )

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and is_uow(node.value):
            found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.With):
            found.extend(
                f"{path.relative_to(root)}:{node.lineno} with"
                for item in node.items
                if is_uow(item.context_expr)
            )
    return found


@pytest.mark.parametrize("layer", ["api", "web", "agents", "cli"])
def test_outer_layers_read_and_write_only_through_services(layer: str) -> None:
    """Routes, console pages, agent tools and commands hand the unit of work to a service
    function (which checks permissions and scope through ``services/governance/
    access.py``); they never reach its repositories themselves."""
    offenders = [
        found for path in sorted((SRC / layer).rglob("*.py")) for found in _unit_of_work_uses(path)
    ]
    assert offenders == []


def test_the_unit_of_work_scan_finds_direct_reads(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "with c.uow().read_only() as u:\n    u.users.get(x)\n"
        "with uow:\n    uow.customers.get(i)\nrun(uow)\n"
    )
    assert len(_unit_of_work_uses(module, tmp_path)) == 3
