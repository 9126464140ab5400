"""A short path for ``POST /api/v1/match``, the one call made on every keystroke of a
create form and by every importer: the ordinary answer without the framework's per-request
machinery (nested route matching, dependency solving, request-model round trips).

It answers only what it can vouch for: a JSON body that the request model accepts, query
parameters within their bounds, and an API key already verified and cached in this process.
Anything else (no or unknown credential, a token, a bad body or parameter, a refused
permission, an error) goes on, body replayed, to the FastAPI route, which gives the
documented answer, problem details included. Both produce the same body through the same
code (:func:`match_body`); the tests check that they agree.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from custmaster.api.deps import cached_principal
from custmaster.api.lanes import json_request, parsed, read_body, replay
from custmaster.api.schemas.matching import MatchRequest
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError
from custmaster.domain.permissions import Principal
from custmaster.services.matching.online import explain, find_matches

PATH = "/api/v1/match"
LIMIT_RANGE = (1, 50)


def match_body(
    container: Container, actor: Principal, candidate: dict[str, Any], limit: int,
    min_score: float,
) -> dict[str, Any]:  # fmt: skip
    """The answer of ``POST /match`` (the route and the lane both use this)."""
    found, model = find_matches(
        container.uow(), actor, candidate, limit=limit, min_probability=min_score
    )
    items = [
        {"customer_id": str(c.customer_id), "number": c.number, "name": c.name,
         "score": c.result.probability, "match_weight": round(c.result.match_weight, 4),
         "decision": c.result.decision, "explanation": explain(c.result)}
        for c in found
    ]  # fmt: skip
    thresholds = {"auto_merge": model.thresholds.auto_merge, "review": model.thresholds.review}
    return {"items": items, "thresholds": thresholds}


_INTEGER = re.compile(r"[0-9]{1,3}")
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,17})?")


def _query(raw: bytes) -> tuple[int, float] | None:
    """``limit`` and ``min_score`` when each is absent or given once in plain digits within
    its bounds; None for anything else (the route decides what other spellings mean)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in ("limit", "min_score") or name in found:
            return None
        found[name] = value
    raw_limit, raw_score = found.get("limit", "10"), found.get("min_score", "0")
    if not _INTEGER.fullmatch(raw_limit) or not _DECIMAL.fullmatch(raw_score):
        return None
    limit, min_score = int(raw_limit), float(raw_score)
    if not LIMIT_RANGE[0] <= limit <= LIMIT_RANGE[1] or not 0.0 <= min_score <= 1.0:
        return None
    return limit, min_score


class MatchLane:
    """ASGI middleware: the short path for ``POST /api/v1/match``, else ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        body, messages = await read_body(receive)
        answer = None if body is None else await self._answer(scope, body)
        if answer is None:
            await self.app(scope, replay(messages, receive), send)
            return
        await JSONResponse(answer)(scope, receive, send)

    async def _answer(self, scope: Scope, body: bytes) -> dict[str, Any] | None:
        request = Request(scope)
        if not json_request(request):
            return None
        actor = cached_principal(request)
        query = _query(scope.get("query_string", b""))
        if actor is None or query is None:
            return None
        payload = parsed(MatchRequest, body)
        if payload is None:
            return None
        candidate = payload.model_dump(mode="json", exclude_unset=True)
        container: Container = request.app.state.container
        try:
            answer: dict[str, Any] = await run_in_threadpool(
                match_body, container, actor, candidate, *query
            )
        except DomainError:
            return None  # the route answers it (403, ...) the documented way
        return answer
