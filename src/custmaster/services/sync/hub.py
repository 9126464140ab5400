"""The configured sync targets (``CUSTMASTER_SYNC_TARGETS_DIR``)."""

from __future__ import annotations

from pathlib import Path

from custmaster.services.sync.mapping import SyncMapping, load_targets


def configured_targets(directory: Path | None) -> dict[str, SyncMapping]:
    return load_targets(directory) if directory is not None else {}
