"""Idempotent requests: a retry with the same key and body gets the first answer.

The key and the answer are stored in the same transaction as the change itself, so a
change is never applied twice and never stored without its answer. Concurrent twins of
a request wait for its answer (or answer 409 with Retry-After while it is in flight).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from custmaster.domain.errors import IdempotencyKeyReused
from custmaster.domain.permissions import Principal
from custmaster.services.ports import StoredResponse, UnitOfWork


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    uow: UnitOfWork,
    actor: Principal,
    key: str,
    request_fingerprint: str,
    operation: Callable[[], StoredResponse],
) -> StoredResponse:
    """Answer from the stored response, or run ``operation`` and store what it answers."""
    with uow:
        stored = uow.idempotency.claim(actor.user_id, key, request_fingerprint)
        if stored is not None:
            if stored.fingerprint != request_fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with another request body"
                )
            return stored
        response = replace(operation(), fingerprint=request_fingerprint)
        uow.idempotency.put(actor.user_id, key, response)
        return response
