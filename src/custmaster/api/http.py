"""HTTP conventions: ETag / If-Match, idempotent POST, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.domain.text import bad_text
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
        if not decoded or bad_text(decoded):  # "AAAA" is three NUL bytes
            raise ValueError(cursor)
        return decoded
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "is not a cursor this API returned")]
        ) from None


#: The largest value a 64-bit integer column holds.
INT64_MAX = 2**63 - 1


def bad_cursor(field: str = "cursor") -> ValidationFailed:
    return ValidationFailed(
        [FieldError(field, "invalid_cursor", "is not a cursor this API returned")]
    )


def int_cursor(raw: str, field: str = "cursor") -> int:
    """A decoded cursor holding a position: plain digits within 64 bits, else 422."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) > INT64_MAX:
        raise bad_cursor(field)
    return int(raw)


def time_cursor(raw: str, field: str = "cursor") -> datetime:
    """A decoded cursor holding a timestamp, else 422."""
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise bad_cursor(field) from None


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
            raise ValidationFailed(
                [
                    FieldError(
                        "Idempotency-Key", "invalid", "must have 1-255 printable ASCII characters"
                    )
                ]
            )
        print_ = fingerprint(request.method, request.url.path, body)
        answer = run_idempotent(uow, actor, key, print_, produce)
    return json_response(answer.status_code, answer.body, answer.headers)
