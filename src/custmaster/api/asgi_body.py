"""Reading a request body before the framework does, and replaying it afterwards: what
the edge guard (``api.edge``) and the fast path (``api.fast_path``) share."""

from __future__ import annotations

from starlette.types import Message, Receive

#: Requests larger than this are never held in memory ahead of the route.
MAX_BODY = 256 * 1024


async def read_body(receive: Receive, limit: int = MAX_BODY) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than ``limit`` or the client left) and the
    messages read, which are replayed to the route when it gets the request."""
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
    """``receive`` that gives the messages read first, then the rest."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
