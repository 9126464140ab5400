"""An inbound record (create-request shape, as the import templates map it) -> the patch
of an existing customer: the master fields, metadata keys, addresses (by type) and
source references that differ. Contacts and legal-entity overrides of an existing
customer are not changed by inbound records (they change through the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custmaster.services.imports.paths import MASTER_FIELDS

#: set once, never by a source system's record of an existing customer
_FIXED = frozenset({"kind", "owning_entity"})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return list(a or []) == list(b or [])
    return ("" if a is None else str(a)) == ("" if b is None else str(b))


def _addresses(current: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = []
    for address in wanted:
        same_type = [a for a in current if a.get("type") == address.get("type")]
        if not same_type:
            actions.append({"action": "add", **address})
            continue
        existing = same_type[0]
        changed = {
            k: v for k, v in address.items() if k != "type" and not _same(existing.get(k), v)
        }
        if changed:
            actions.append({"action": "update", "id": existing["id"], **changed})
    return actions


def patch_for(current: Mapping[str, Any], command: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``command`` differs from the snapshot ``current``."""
    patch: dict[str, Any] = {}
    for name in sorted(MASTER_FIELDS - _FIXED):
        if name in command and not _same(current.get(name), command[name]):
            patch[name] = command[name]
    metadata = command.get("metadata")
    if isinstance(metadata, dict):
        old = dict(current.get("metadata") or {})
        if any(not _same(old.get(k), v) for k, v in metadata.items()):
            patch["metadata"] = {**old, **metadata}
    actions = _addresses(list(current.get("addresses") or []), list(command.get("addresses") or []))
    if actions:
        patch["addresses"] = actions
    known = {(r["source_system"], r["source_id"]) for r in current.get("source_refs") or []}
    refs = [
        {"action": "add", **r}
        for r in command.get("source_refs") or []
        if (r["source_system"], r["source_id"]) not in known
    ]
    if refs:
        patch["source_refs"] = refs
    return patch
