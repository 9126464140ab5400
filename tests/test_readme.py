"""A newcomer's first commands: the README's two opening commands name what the project
really has (the package, its `test` extra, the `custmaster` script, pytest-xdist), the
demo they start loads from a fresh directory through the script's entry point, and the
documents the README and docs/ link to are in the repository."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def _opening_commands() -> list[list[list[str]]]:
    """The commands of the README's first code block, each split at ``&&``."""
    block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        words = shlex.split(line, comments=True)
        parts: list[list[str]] = [[]]
        for word in words:
            if word == "&&":
                parts.append([])
            else:
                parts[-1].append(word)
        commands.append(parts)
    return commands


def test_the_opening_commands_name_what_the_project_has() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    demo, tests = _opening_commands()
    assert demo[0] == tests[0] == ["python3", "-m", "venv", ".venv"]
    assert demo[1] == [".venv/bin/pip", "install", "-e", "."]
    assert tests[1] == [".venv/bin/pip", "install", "-e", ".[test]"]
    assert "test" in project["optional-dependencies"]
    assert any(d.startswith("pytest-xdist") for d in project["optional-dependencies"]["test"])
    assert demo[2] == [".venv/bin/custmaster", "demo"]
    assert project["scripts"]["custmaster"] == "custmaster.cli.app:main"
    assert tests[2] == [".venv/bin/python", "-m", "pytest", "-n", "auto"]


def test_the_demo_loads_in_a_fresh_directory_through_the_script(tmp_path: Path) -> None:
    target = _pyproject()["project"]["scripts"]["custmaster"]  # type: ignore[index]
    module, function = str(target).split(":")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "80"}
    env.pop("CUSTMASTER_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from {module} import {function}; {function}()",
            "demo",
            "--no-serve",
            "--customers",
            "50",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created 50 customers" in result.stdout
    assert (tmp_path / "custmaster-demo.db").exists()


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|`(docs/[\w.-]+\.md)`")


def test_the_documents_linked_from_the_readme_and_docs_exist() -> None:
    missing = []
    for document in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for found in LINK.finditer(document.read_text()):
            link = found.group(1) or found.group(2)
            if "://" in link or link.startswith("mailto:"):
                continue
            base = ROOT if found.group(2) else document.parent
            if not (base / link).exists() and not (ROOT / link).exists():
                missing.append(f"{document.relative_to(ROOT)}: {link}")
    assert missing == []
