"""The edge guard: what neither a route nor the fast path (``api.fast_path``) should ever
see.

One ASGI middleware, outermost, in front of the routes and the fast path alike, so that both
answer the same (issue 12). It refuses, with RFC 9457 problem details:

- text that cannot be stored the same way on SQLite and PostgreSQL: a NUL character or
  a lone UTF-16 surrogate (``"\\ud800"``) in a JSON body, and a NUL or bytes that are not
  UTF-8 in the path or the query string (422, ``invalid_text``, naming the field);
- integers beyond 64 bits anywhere in a JSON body (422, ``out_of_range``): no column
  holds them, and a value that fails only when a change is applied fails forever;
- JSON nested deeper than :data:`MAX_JSON_DEPTH` (422, ``too_deep``), before any parser
  recurses into it;
- bodies over the configured size (413): ``CUSTMASTER_MAX_REQUEST_BYTES`` for JSON and
  form bodies, ``CUSTMASTER_MAX_UPLOAD_BYTES`` for multipart uploads (import files),
  :data:`MAX_MATCH_BYTES` for ``POST /api/v1/match``.

And it answers a request that found the database unusable (unreachable, refused, busy)
with a 503 problem and one log line, instead of a 500 and a traceback per request.

It costs a few byte scans per request: a JSON body is parsed here only when its bytes
hold a ``\\u0000`` or ``\\udXXX`` escape (to name the field), and its depth is walked
only when it holds more brackets than the limit.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custmaster.api.asgi_body import read_body, replay
from custmaster.api.problems import problem
from custmaster.bootstrap import describe_unavailable, is_unavailable
from custmaster.config import Settings
from custmaster.domain.text import bad_text, first_bad_text

log = logging.getLogger(__name__)
#: The deepest nesting of arrays and objects a JSON body may have.
MAX_JSON_DEPTH = 32
#: The largest body of ``POST /api/v1/match`` (one candidate record).
MAX_MATCH_BYTES = 64 * 1024
MATCH_PATH = "/api/v1/match"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: JSON escapes that may decode to such a character (checked by parsing when present).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
#: Digits -> "0", anything else -> " ": 19 zeros in a row are a number that may not fit
#: 64 bits (checked by parsing when present).
_DIGITS = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_NUMBER = b"0" * 19
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: Every byte but brackets and quotes (deleted to measure the depth of a JSON text).
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects deeper than ``limit``.

    Without recursion and at C speed: the brackets outside strings are kept (escaped
    backslashes and quotes dropped first, then everything but brackets and quotes, then
    what lies between quotes), and matching pairs are peeled one nesting level per round
    (a round cannot peel two). More than ``limit`` rounds, or an unbalanced rest with more
    than ``limit`` openers (``[[[[...``), is too deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = body.translate(None, _NOT_STRUCTURE)
    bare = skeleton.replace(b'""', b"")  # strings without brackets, in one C pass
    # quotes left: some string holds a bracket; keep what lies outside the strings
    skeleton = bare if b'"' not in bare else b"".join(skeleton.split(b'"')[::2])
    for _ in range(limit):
        peeled = skeleton.replace(b"[]", b"\0\0").replace(b"{}", b"\0\0").replace(b"\0", b"")
        if len(peeled) == len(skeleton):  # nothing pairs: the rest is unbalanced
            return skeleton.count(b"[") + skeleton.count(b"{") > limit
        if not peeled:
            return False
        skeleton = peeled
    return True


def query_problem(raw: bytes, where: str = "query") -> tuple[str, str] | None:
    """The first query parameter (or form field) whose name or value holds a NUL or
    bytes that are not UTF-8, as ``(name, why)``."""
    if b"%" not in raw and b"\x00" not in raw and raw.isascii():
        return None
    text = raw.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        for part in (name, value):
            why = bad_text(part)
            if why:
                label = name if bad_text(name) is None else where
                return label, why.replace("a lone surrogate", "bytes that are not UTF-8")
    return None


def _invalid(scope: Scope, field: str, code: str, message: str) -> JSONResponse:
    return problem(
        422,
        "Validation failed",
        "the request is not valid",
        instance=_instance(scope),
        errors=[{"field": field, "code": code, "message": message}],
    )


def _instance(scope: Scope) -> str:
    return str(scope.get("path", "")).replace("\x00", "\ufffd")


def _unavailable(scope: Scope) -> JSONResponse:
    return problem(
        503,
        "Service unavailable",
        "the database cannot be used now; retry later",
        instance=_instance(scope),
        headers={"Retry-After": "5"},
    )


def _too_large(scope: Scope, limit: int) -> JSONResponse:
    return problem(
        413,
        "Request body too large",
        f"the body may have at most {limit:,} bytes",
        instance=_instance(scope),
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """The body sizes the guard allows (bytes)."""

    max_request_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024
    max_match_bytes: int = MAX_MATCH_BYTES


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.max_request_bytes, settings.max_upload_bytes)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


#: on every answer: no content-type sniffing, no referrer leaving the API
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
#: on every answer of the API (customer data): never kept by a browser or a shared cache
_NO_STORE = (b"cache-control", b"no-store")


def _secured(scope: Scope, send: Send) -> Send:
    """``send`` with the security headers added to the response start (a header the
    answer set itself is kept)."""
    api = str(scope.get("path", "")).startswith("/api/")

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {bytes(name).lower() for name, _ in headers}
            headers += [h for h in _SECURITY_HEADERS if h[0] not in names]
            if api and _NO_STORE[0] not in names:
                headers.append(_NO_STORE)
            message = {**message, "headers": headers}
        await send(message)

    return secured


class EdgeGuard:
    """ASGI middleware: refuse what the module docstring lists, else hand on to ``app``."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _secured(scope, send)
        refused = self._check_target(scope)
        if refused is None and scope["method"] in _BODY_METHODS:
            refused, receive = await self._check_body(scope, receive)
        if refused is not None:
            await refused(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started or not is_unavailable(error):
                raise
            # one line, not a traceback per request, while the database is away
            log.warning(
                "%s %s: the database cannot be used: %s",
                scope["method"],
                _instance(scope),
                describe_unavailable(error),
            )
            await _unavailable(scope)(scope, receive, send)

    @staticmethod
    def _check_target(scope: Scope) -> JSONResponse | None:
        path: str = scope.get("path", "")
        why = bad_text(path)
        if why:
            return _invalid(scope, "path", "invalid_text", why)
        found = query_problem(scope.get("query_string", b""))
        if found:
            return _invalid(scope, found[0], "invalid_text", found[1])
        return None

    def _limit(self, scope: Scope, media_type: str) -> int:
        if scope["path"] == MATCH_PATH:
            return self.limits.max_match_bytes
        if media_type == "multipart/form-data":
            return self.limits.max_upload_bytes
        return self.limits.max_request_bytes

    async def _check_body(
        self, scope: Scope, receive: Receive
    ) -> tuple[JSONResponse | None, Receive]:
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        media_type = content_type.partition(";")[0].strip().lower()
        limit = self._limit(scope, media_type)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _too_large(scope, limit), receive
        if media_type == "multipart/form-data":
            return None, _counting(receive, limit)  # streamed: files may be large
        body, messages = await read_body(receive, limit)
        if body is None:
            if messages and messages[-1]["type"] == "http.disconnect":
                return None, replay(messages, receive)
            return _too_large(scope, limit), receive
        replayed = replay(messages, receive)
        if media_type == "application/x-www-form-urlencoded":
            found = query_problem(body, "body")
            if found:
                return _invalid(scope, found[0], "invalid_text", found[1]), replayed
            return None, replayed
        if media_type and not (media_type == "application/json" or media_type.endswith("+json")):
            return None, replayed
        return _check_json(scope, body), replayed


def _check_json(scope: Scope, body: bytes) -> JSONResponse | None:
    if too_deep(body):
        return _invalid(
            scope,
            "body",
            "too_deep",
            f"JSON may nest arrays and objects at most {MAX_JSON_DEPTH} levels deep",
        )
    suspect_text = b"\\u" in body and _SUSPECT_ESCAPE.search(body) is not None
    suspect_number = _LONG_NUMBER in body.translate(_DIGITS)
    if not (suspect_text or suspect_number):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None  # malformed: the route answers it
    found = first_bad_text(value) if suspect_text else None
    if found:
        return _invalid(scope, found[0], "invalid_text", found[1])
    number = first_huge_integer(value) if suspect_number else None
    if number:
        return _invalid(
            scope,
            number,
            "out_of_range",
            f"integers must lie within -2^63..2^63-1 ({INT64_MIN}..{INT64_MAX})",
        )
    return None


def first_huge_integer(value: Any, path: str = "") -> str | None:
    """The path of the first integer of a parsed JSON value beyond 64 bits, or None."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                return where or "body"
        elif isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that ends the body as a disconnect once it passed ``limit`` bytes (a
    streamed upload without Content-Length)."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return counted
