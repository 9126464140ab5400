"""Sync mapping files: one YAML file per target (see ``docs/integration-hub.md`` and
the examples in ``targets/``).

::

    name: salesforce_account          # the target (its cursor, links, dead letters)
    system: salesforce                # the source system it is (inbound changes, echoes)
    object: Account
    adapter: {kind: http_upsert, base_url: "${ENV_VAR}", method: PATCH,
              path: "/sobjects/Account/CustMaster_Id__c/{external_id}", headers: {...}}
    upsert_key: {source: id, target: CustMaster_Id__c}
    record_filter: {status: [active]}  # snapshot path -> allowed values
    initial: {master: custmaster, batch_size: 200}
    retries: {attempts: 4, backoff_seconds: [1, 5, 30]}
    fields:
      Name: {from: name}                                    # target field <- custmaster path
      BillingStreet: {from: "addresses[billing].lines", transform: [join_lines]}
      Description: {from: notes, direction: outbound, conflict: target}

``direction``: ``both`` (default), ``outbound`` (custmaster masters it: sent, and ignored
in inbound changes) or ``inbound`` (only received). ``conflict``: ``custmaster``
(default: every change is sent) or ``target`` (sent only when the record is created in
the target; afterwards the target owns it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custmaster.services.imports.paths import PathError, TargetPath, get_path, parse_target

DIRECTIONS = frozenset({"both", "outbound", "inbound"})
CONFLICTS = frozenset({"custmaster", "target"})
MASTERS = frozenset({"custmaster", "target"})
TRANSFORMS = frozenset({"upper", "lower", "string", "join_lines", "first_line", "date"})
#: snapshot keys a path may name besides the fields of the create request
SNAPSHOT_KEYS = frozenset({"id", "number", "status", "version", "created_at", "updated_at"})
_ENV = re.compile(r"\$\{([A-Z0-9_]+)\}")
_TOP = frozenset(
    {
        "name",
        "system",
        "object",
        "adapter",
        "upsert_key",
        "record_filter",
        "initial",
        "retries",
        "fields",
        "description",
    }
)
_FIELD = frozenset({"from", "direction", "conflict", "transform"})


class MappingError(ValueError):
    """A mapping file is invalid; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class SourcePath:
    text: str
    path: TargetPath | None  # None: a snapshot key (SNAPSHOT_KEYS)

    def read(self, snapshot: dict[str, Any]) -> Any:
        if self.path is None:
            return snapshot.get(self.text)
        return get_path(snapshot, self.path)


@dataclass(frozen=True, slots=True)
class FieldRule:
    target: str
    source: SourcePath
    direction: str = "both"
    conflict: str = "custmaster"
    transform: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Adapter:
    kind: str
    base_url: str
    method: str = "PUT"
    path: str = "/{object}/{external_id}"
    headers: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class SyncMapping:
    name: str
    system: str
    object: str
    adapter: Adapter
    key_source: SourcePath
    key_target: str
    fields: tuple[FieldRule, ...]
    record_filter: tuple[tuple[SourcePath, tuple[str, ...]], ...] = ()
    master: str = "custmaster"
    batch_size: int = 200
    attempts: int = 3
    backoff_seconds: tuple[float, ...] = (1.0, 5.0)

    def outbound(self) -> tuple[FieldRule, ...]:
        return tuple(f for f in self.fields if f.direction != "inbound")

    def outbound_only(self) -> frozenset[str]:
        """Target fields custmaster masters: ignored when the target sends them."""
        return frozenset(f.target for f in self.fields if f.direction == "outbound")


def _source(text: Any, where: str, problems: list[str]) -> SourcePath:
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: must be a custmaster field path")
        return SourcePath("", None)
    if text in SNAPSHOT_KEYS:
        return SourcePath(text, None)
    try:
        return SourcePath(text, parse_target(text))
    except PathError as exc:
        problems.append(f"{where}: {exc}")
        return SourcePath(text, None)


def _expand(value: str, where: str, problems: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            problems.append(f"{where}: the environment variable {match.group(1)} is not set")
            return ""
        return found

    return _ENV.sub(one, value)


def _field(target: str, raw: Any, problems: list[str]) -> FieldRule:
    where = f"fields.{target}"
    if isinstance(raw, str):
        raw = {"from": raw}
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a path or a mapping")
        return FieldRule(target, SourcePath("", None))
    problems.extend(f"{where}.{k}: unknown key" for k in sorted(set(raw) - _FIELD))
    direction = str(raw.get("direction", "both"))
    conflict = str(raw.get("conflict", "custmaster"))
    transform = raw.get("transform", [])
    transform = [transform] if isinstance(transform, str) else list(transform)
    if direction not in DIRECTIONS:
        problems.append(f"{where}.direction: one of {', '.join(sorted(DIRECTIONS))}")
    if conflict not in CONFLICTS:
        problems.append(f"{where}.conflict: one of {', '.join(sorted(CONFLICTS))}")
    problems.extend(f"{where}.transform: unknown {t}" for t in transform if t not in TRANSFORMS)
    return FieldRule(
        target,
        _source(raw.get("from"), f"{where}.from", problems),
        direction,
        conflict,
        tuple(transform),
    )


def parse_mapping(data: Any, origin: str = "<mapping>", *, expand: bool = True) -> SyncMapping:
    """A mapping from parsed YAML; :class:`MappingError` lists every problem.
    ``expand``: replace ``${ENV}`` references (off to check a file without them)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: must be a mapping")
    problems.extend(f"{k}: unknown key" for k in sorted(set(data) - _TOP))
    for key in ("name", "system", "object"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{key}: required text")
    adapter_raw = data.get("adapter") or {}
    base_url = str(adapter_raw.get("base_url", ""))
    headers = {str(k): str(v) for k, v in (adapter_raw.get("headers") or {}).items()}
    if expand:
        base_url = _expand(base_url, "adapter.base_url", problems)
        headers = {k: _expand(v, f"adapter.headers.{k}", problems) for k, v in headers.items()}
    if adapter_raw.get("kind", "http_upsert") != "http_upsert":
        problems.append("adapter.kind: only http_upsert is known")
    adapter = Adapter(
        kind="http_upsert",
        base_url=base_url.rstrip("/"),
        method=str(adapter_raw.get("method", "PUT")).upper(),
        path=str(adapter_raw.get("path", "/{object}/{external_id}")),
        headers=headers,
        timeout_seconds=float(adapter_raw.get("timeout_seconds", 10)),
    )
    upsert = data.get("upsert_key") or {}
    fields_raw = data.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        problems.append("fields: at least one field")
        fields_raw = {}
    fields = tuple(_field(str(t), raw, problems) for t, raw in fields_raw.items())
    record_filter = tuple(
        (
            _source(path, f"record_filter.{path}", problems),
            tuple(str(v) for v in (allowed if isinstance(allowed, list) else [allowed])),
        )
        for path, allowed in (data.get("record_filter") or {}).items()
    )
    initial = data.get("initial") or {}
    master = str(initial.get("master", "custmaster"))
    if master not in MASTERS:
        problems.append("initial.master: custmaster or target")
    retries = data.get("retries") or {}
    mapping = SyncMapping(
        name=str(data.get("name", "")),
        system=str(data.get("system", "")),
        object=str(data.get("object", "")),
        adapter=adapter,
        key_source=_source(upsert.get("source", "id"), "upsert_key.source", problems),
        key_target=str(upsert.get("target", "")),
        fields=fields,
        record_filter=record_filter,
        master=master,
        batch_size=int(initial.get("batch_size", 200)),
        attempts=max(1, int(retries.get("attempts", 3))),
        backoff_seconds=tuple(float(s) for s in retries.get("backoff_seconds", [1, 5])),
    )
    if not mapping.key_target:
        problems.append("upsert_key.target: the target's external id field")
    if problems:
        raise MappingError(f"invalid sync mapping {origin}:\n  " + "\n  ".join(problems))
    return mapping


def load_mapping(path: Path, *, expand: bool = True) -> SyncMapping:
    return parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), str(path), expand=expand)


def shipped_examples() -> dict[str, Path]:
    folder = Path(str(resources.files("custmaster.services.sync") / "targets"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_targets(directory: Path) -> dict[str, SyncMapping]:
    """Every ``*.yaml`` mapping in ``directory``, by target name."""
    found: dict[str, SyncMapping] = {}
    for path in sorted(directory.glob("*.yaml")):
        mapping = load_mapping(path)
        if mapping.name in found:
            raise MappingError(f"{path}: target {mapping.name} is defined twice")
        found[mapping.name] = mapping
    return found
