"""What the short paths in front of the framework (``api.*_lane``) share: reading a
request body they may hand on, replaying it to the route when they do, parsing it as the
route would, and the checks that decide whether a request is theirs at all."""

from __future__ import annotations

import json
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Message, Receive

M = TypeVar("M", bound=BaseModel)

#: Requests larger than this go the ordinary way (a lane keeps small bodies in memory).
MAX_BODY = 256 * 1024


async def read_body(receive: Receive, limit: int = MAX_BODY) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than ``limit`` or the client left) and the
    messages read, which are replayed to the route when the lane passes."""
    chunks: list[bytes] = []
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, messages
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the messages a lane read first, then the rest."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def json_request(request: Request) -> bool:
    """A JSON body the lane may parse as the route would: the app's dependencies are the
    app's own (a test or an embedding replaced none) and the body is declared JSON."""
    if request.app.dependency_overrides:
        return False
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/json"


def parsed(model: type[M], body: bytes) -> M | None:
    """``body`` as the route parses it (JSON, then the request model), or None when the
    route would refuse it (it then answers with its problem details)."""
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return None  # (deep JSON is refused before, by api.edge)


def canonical_uuid(raw: str) -> UUID | None:
    """``raw`` as a UUID when it is in the canonical 8-4-4-4-12 form (which the route's
    UUID parameter accepts too), else None."""
    if len(raw) != 36:
        return None
    try:
        value = UUID(raw)
    except ValueError:
        return None
    return value if str(value) == raw.lower() else None
