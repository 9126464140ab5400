"""The audit key and the checkpoint file: held outside the database.

The key (``CUSTMASTER_AUDIT_KEY_FILE``, made by ``custmaster audit keygen``) signs every
audit entry and every checkpoint of the chain head; the checkpoint file
(``CUSTMASTER_AUDIT_CHECKPOINT_FILE``) receives one JSON line per checkpoint, appended.
Keep both where the database's users cannot write (another host, another account)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from custmaster.domain.audit_signing import AuditKey, AuditKeyError, Checkpoint


class AuditFileError(ValueError):
    """An audit key or checkpoint file that cannot be used; the message names it."""


def load_key(path: Path) -> AuditKey:
    try:
        return AuditKey.from_text(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditFileError(f"audit key file {path}: {exc}") from None
    except AuditKeyError as exc:
        raise AuditFileError(f"audit key file {path}: {exc}") from None


def write_new_key(path: Path) -> AuditKey:
    """A new random key, written to ``path`` readable by its owner only; never over an
    existing file."""
    key = AuditKey.generate()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuditFileError(f"{path} exists already; a key is never overwritten") from None
    except OSError as exc:
        raise AuditFileError(f"audit key file {path}: {exc}") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.to_text())
    return key


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """One JSON line, appended in one write and flushed to disk."""
    line = json.dumps(checkpoint.as_dict(), sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in the file (none when it does not exist yet); ``AuditFileError``
    naming the first line that is not one."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditFileError(f"checkpoint file {path}: {exc}") from None
    checkpoints = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint.from_dict(json.loads(line)))
        except ValueError as exc:
            raise AuditFileError(f"checkpoint file {path} line {number}: {exc}") from None
    return checkpoints
