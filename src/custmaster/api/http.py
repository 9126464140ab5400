"""HTTP conventions: ETag / If-Match, idempotent POST, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.services.idempotency import fingerprint, run_idempotent
from custmaster.services.ports import StoredResponse, UnitOfWork

MAX_LIMIT = 500


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` -> 3; absent or ``*`` -> no precondition."""
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise ValidationFailed(
            [FieldError("If-Match", "invalid_etag", "must be an ETag this API returned")]
        )
    return int(raw)


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
        if not decoded:
            raise ValueError(cursor)
        return decoded
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "is not a cursor this API returned")]
        ) from None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


async def request_json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else None


def idempotent(
    request: Request,
    uow: UnitOfWork,
    actor: Principal,
    body: Any,
    produce: Callable[[], StoredResponse],
) -> Response:
    """Run ``produce`` once per Idempotency-Key; a retry gets the stored answer."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        answer = produce()
    else:
        if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
            raise ValidationFailed([FieldError(
                "Idempotency-Key", "invalid", "must have 1-255 printable ASCII characters"
            )])  # fmt: skip
        print_ = fingerprint(request.method, request.url.path, body)
        answer = run_idempotent(uow, actor, key, print_, produce)
    return json_response(answer.status_code, answer.body, answer.headers)
