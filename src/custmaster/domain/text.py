"""Text that no column can hold alike on SQLite and PostgreSQL: a NUL character (which
PostgreSQL refuses and SQLite stores) and a lone UTF-16 surrogate (``"\\ud800"``: no
UTF-8 encoding exists; SQLite stored it escaped in JSON and every later read failed).
The API refuses it at the edge; the persistence layer refuses to write it."""

from __future__ import annotations

import re
from typing import Any

_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be stored (a NUL, a lone surrogate), or None."""
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains a lone surrogate: text that cannot be encoded as UTF-8"


def first_bad_text(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (or key) of a JSON-like value that cannot be stored, as
    ``(field path, why)`` (``addresses[0].city``); None when every string is fine."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            why = bad_text(item)
            if why:
                return where or "body", why
        elif isinstance(item, dict):
            for key, child in item.items():
                why = bad_text(str(key))
                if why:
                    return where or "body", f"a key {why}"
                stack.append((f"{where}.{key}" if where else str(key), child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None
