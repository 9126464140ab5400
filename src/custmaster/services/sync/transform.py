"""A customer snapshot -> the record a target receives, by the mapping's field rules."""

from __future__ import annotations

from typing import Any

from custmaster.services.sync.mapping import FieldRule, SyncMapping


def _apply(value: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        if value is None:
            return None
        if step == "join_lines":
            value = "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
        elif step == "first_line":
            value = str(value[0]) if isinstance(value, list) and value else str(value)
        elif step == "upper":
            value = str(value).upper()
        elif step == "lower":
            value = str(value).lower()
        elif step == "string":
            value = str(value)
        elif step == "date":
            value = str(value)[:10]
    return value


def selected(mapping: SyncMapping, snapshot: dict[str, Any]) -> bool:
    """Whether the record filter lets the customer through."""
    for path, allowed in mapping.record_filter:
        value = path.read(snapshot)
        if value is None or str(value) not in allowed:
            return False
    return True


def external_id(mapping: SyncMapping, snapshot: dict[str, Any]) -> str:
    return str(mapping.key_source.read(snapshot))


def _sent(rule: FieldRule, creating: bool) -> bool:
    return rule.conflict == "custmaster" or creating


def outgoing(mapping: SyncMapping, snapshot: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The target's record: the upsert key and every outbound field (a field the
    target owns, ``conflict: target``, only when ``creating``)."""
    record: dict[str, Any] = {mapping.key_target: external_id(mapping, snapshot)}
    for rule in mapping.outbound():
        if _sent(rule, creating):
            record[rule.target] = _apply(rule.source.read(snapshot), rule.transform)
    return record


def unchanged(record: dict[str, Any], known: dict[str, Any]) -> bool:
    """The target holds every value of ``record`` already (nothing to send: this is
    also what keeps a change the target itself made from going back to it)."""
    return all(k in known and known[k] == v for k, v in record.items())
