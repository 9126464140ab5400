"""The fast path: the hottest requests answered without FastAPI's per-request
machinery (middleware layers, route matching, dependency solving, request-model round
trips), by the same code as their routes.

One table, :data:`FAST_PATHS`, says which requests it may answer: each entry names the
route it shadows (the route's endpoint function, its method and path template), how it
reads the query and the body, and the answer, which calls the same function as the route.
``api.app.create_app`` installs it in one place (``Settings.fast_path``, on by default);
the routers never import it.

An entry answers only what the route would answer the same way:

- the request is ordinary (no ``root_path``, no dependency overrides), its query and its
  body are exactly what the route accepts (else the route answers, body replayed, with its
  problem details);
- the caller is authenticated as the route's dependencies would (:func:`api.deps.
  verify_bearer`, the key cache when on) and holds the permission the route declares in
  :mod:`api.route_permissions` (else the route answers 401 or 403);
- the route's dependencies are the ones the fast path makes itself
  (:data:`CHECKED_DEPENDENCIES`): checked when the app serves its first request; a route
  with any other dependency (a rate limit, a scope added tomorrow) is never shadowed and a
  warning is logged;
- what the use case refuses (a domain error) is rendered by the app's own exception
  handler, as the route's would be: the use case runs once.

``tests/api/test_fast_path.py`` drives every entry of the table with the fast path on and
off and compares answers, headers and what was written.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from custmaster.api import deps
from custmaster.api.asgi_body import read_body, replay
from custmaster.api.http import json_response
from custmaster.api.query_params import refuse_unknown_query
from custmaster.api.route_permissions import PUBLIC, authorize, permissions_for
from custmaster.api.routers import customers, matching
from custmaster.api.routers import profile as profile_router
from custmaster.api.schemas.customers import CustomerPatch
from custmaster.api.schemas.matching import MatchRequest
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError
from custmaster.domain.permissions import Principal, require_any
from custmaster.services.customers.read import AsyncCustomerReads, get_effective_view
from custmaster.services.customers.read import read_effective_view as read_async
from custmaster.services.dedup.online import match_answer
from custmaster.services.profile import reads as profile_reads
from custmaster.services.profile.ports import AsyncProfileReads

log = logging.getLogger(__name__)

#: The dependencies whose checks the fast path makes itself, with the reason.
CHECKED_DEPENDENCIES: dict[Callable[..., Any], str] = {
    authorize: "the permission of api.route_permissions, checked by _permitted",
    refuse_unknown_query: "each entry's query parser accepts only the route's parameters",
    deps.bearer: "the Authorization header, read by _principal",
    deps.principal: "the same verification (api.deps.verify_bearer), by _principal",
    deps.container: "the app's container, handed to the answer",
    deps.unit_of_work: "container.uow(), made by the answer",
}

Query = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """What an entry's answer gets: everything already checked."""

    request: Request
    container: Container
    actor: Principal
    path: dict[str, str]
    query: Query
    body: Any


@dataclass(frozen=True)
class Entry:
    """One request the fast path may answer, and the route it shadows."""

    method: str
    path: str  # the route's path template, as in api.route_permissions
    shadows: Callable[..., Any]  # the route's endpoint
    query: Callable[[list[tuple[str, str]]], Query | None]  # None: the route's to answer
    path_params: Callable[[dict[str, str]], dict[str, Any] | None]
    body: type[BaseModel] | None
    answer: Callable[[Call], Awaitable[Response]]

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


# -- parsing the way the routes do, or declining ----------------------------------------


def canonical_uuid(raw: str) -> UUID | None:
    """``raw`` as a UUID when in the canonical 8-4-4-4-12 form (the route accepts other
    spellings too: those are the route's)."""
    if len(raw) != 36:
        return None
    try:
        value = UUID(raw)
    except ValueError:
        return None
    return value if str(value) == raw.lower() else None


def _customer_id(params: dict[str, str]) -> dict[str, Any] | None:
    found = canonical_uuid(params["customer_id"])
    return None if found is None else {"customer_id": found}


def _no_path(params: dict[str, str]) -> dict[str, Any] | None:
    return {}


def _no_query(items: list[tuple[str, str]]) -> Query | None:
    return {} if not items else None


def _entity_only(items: list[tuple[str, str]]) -> Query | None:
    """``entity`` given once, not empty, within the route's bound."""
    if len(items) != 1:
        return None
    name, value = items[0]
    if name != "entity" or not value or len(value) > customers.ENTITY_MAX_LENGTH:
        return None
    return {"entity": value}


def _entity_or_none(items: list[tuple[str, str]]) -> Query | None:
    """No query (every entity in scope), or ``entity`` as :func:`_entity_only` takes it."""
    return {"entity": None} if not items else _entity_only(items)


_INTEGER = re.compile(r"[0-9]{1,3}")
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,17})?")


def _match_query(items: list[tuple[str, str]]) -> Query | None:
    """``limit`` and ``min_score``, each absent or once in plain digits within bounds."""
    found: dict[str, str] = {}
    for name, value in items:
        if name not in ("limit", "min_score") or name in found:
            return None
        found[name] = value
    raw_limit, raw_score = found.get("limit", "10"), found.get("min_score", "0")
    if not _INTEGER.fullmatch(raw_limit) or not _DECIMAL.fullmatch(raw_score):
        return None
    limit, min_score = int(raw_limit), float(raw_score)
    low, high = matching.LIMIT_RANGE
    if not low <= limit <= high or not 0.0 <= min_score <= 1.0:
        return None
    return {"limit": limit, "min_score": min_score}


# -- the answers: the routes' own functions ---------------------------------------------


async def _effective_view(call: Call) -> Response:
    customer_id: UUID = call.path["customer_id"]  # type: ignore[assignment]
    entity: str = call.query["entity"]
    uow = call.container.uow()
    reads: AsyncCustomerReads | None = call.request.app.state.customer_reads
    if reads is None:  # SQLite: the synchronous read in a thread, as the route does
        customer, view = await run_in_threadpool(
            get_effective_view, uow, call.actor, customer_id, entity, None
        )
    else:
        customer, view = await read_async(reads, uow, call.actor, customer_id, entity)
    return customers.view_response(customer, view)


async def _patch(call: Call) -> Response:
    customer_id: UUID = call.path["customer_id"]  # type: ignore[assignment]
    return await run_in_threadpool(
        customers.patch_response,
        call.container,
        call.actor,
        call.container.uow(),
        customer_id,
        call.body,
        call.request.headers.get("if-match"),
    )


async def _match(call: Call) -> Response:
    candidate = call.body.model_dump(mode="json", exclude_unset=True)
    found = await run_in_threadpool(
        match_answer,
        call.container.uow(),
        call.actor,
        candidate,
        call.query["limit"],
        call.query["min_score"],
    )
    return json_response(200, found)


async def _profile(call: Call) -> Response:
    customer_id: UUID = call.path["customer_id"]  # type: ignore[assignment]
    entity: str | None = call.query["entity"]
    uow, config = call.container.uow(), call.container.profile
    reads: AsyncProfileReads | None = call.request.app.state.customer_reads
    if reads is None:  # SQLite: the synchronous read in a thread, as the route does
        body = await run_in_threadpool(
            partial(profile_reads.customer_profile, uow, call.actor, customer_id, config),
            entity=entity,
        )
    else:
        body = await profile_reads.read_customer_profile(
            reads, uow, call.actor, customer_id, config, entity=entity
        )
    return profile_router.profile_response(body)


_CUSTOMER = "/api/v1/customers/{customer_id}"

#: Every request the fast path may answer.
FAST_PATHS: tuple[Entry, ...] = (
    Entry("GET", _CUSTOMER, customers.read, _entity_only, _customer_id, None, _effective_view),
    Entry("PATCH", _CUSTOMER, customers.patch, _no_query, _customer_id, CustomerPatch, _patch),
    Entry("POST", "/api/v1/match", matching.match, _match_query, _no_path, MatchRequest, _match),
    Entry(
        "GET",
        f"{_CUSTOMER}/profile",
        profile_router.profile,
        _entity_or_none,
        _customer_id,
        None,
        _profile,
    ),
)


# -- the middleware ---------------------------------------------------------------------


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(regex)


def dependency_calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every callable a route's dependencies run (its own and the app's, nested)."""
    calls: set[Callable[..., Any]] = set()
    stack = list(dependant.dependencies)
    while stack:
        current = stack.pop()
        if current.call is not None:
            calls.add(current.call)
        stack.extend(current.dependencies)
    return calls


def _holds(route: BaseRoute, endpoints: set[Callable[..., Any]]) -> bool:
    """Whether ``route`` is, or an included router holds, a route of one of ``endpoints``
    (read from the routers as declared: nothing of the app's routing is built)."""
    included = getattr(route, "original_router", None)  # an included router
    if included is not None:
        return any(_holds(inner, endpoints) for inner in included.routes)
    return getattr(route, "endpoint", None) in endpoints


def shadowable(app: FastAPI, entries: Iterable[Entry]) -> list[Entry]:
    """The entries whose route exists as declared and depends on nothing the fast path
    does not check itself; a warning for each other one.

    Only the included routers holding a shadowed endpoint have their effective routes
    built (FastAPI builds an included router's routes, each with its dependencies and
    field models, when first asked for one of them: ~0.5 s of CPU for all of the app's)."""
    entries = list(entries)
    endpoints = {entry.shadows for entry in entries}
    routes = {
        (method, context.path_format, context.endpoint): context
        for context in iter_route_contexts([r for r in app.routes if _holds(r, endpoints)])
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    usable: list[Entry] = []
    for entry in entries:
        route = routes.get((entry.method, entry.path, entry.shadows))
        if route is None:
            log.warning("fast path %s: no such route with that endpoint; not taken", entry.name)
            continue
        unchecked = dependency_calls(route.dependant) - set(CHECKED_DEPENDENCIES)
        if unchecked:
            names = ", ".join(sorted(getattr(c, "__name__", repr(c)) for c in unchecked))
            log.warning("fast path %s: the route depends on %s; not taken", entry.name, names)
            continue
        usable.append(entry)
    return usable


class FastPath:
    """ASGI middleware: answers the requests of :data:`FAST_PATHS` it can vouch for and
    hands every other request, body replayed, to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        entries: tuple[Entry, ...] = FAST_PATHS,
        answered: Counter[str] | None = None,
    ) -> None:
        self.app = app
        self.entries = entries
        self.answered = answered if answered is not None else Counter()
        self._table: dict[str, list[tuple[re.Pattern[str], Entry]]] | None = None

    def _bound(self, app: FastAPI) -> dict[str, list[tuple[re.Pattern[str], Entry]]]:
        if self._table is None:
            table: dict[str, list[tuple[re.Pattern[str], Entry]]] = {}
            for entry in shadowable(app, self.entries):
                table.setdefault(entry.method, []).append((_pattern(entry.path), entry))
            self._table = table
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        candidates = self._bound(scope["app"]).get(scope["method"], ())
        for pattern, entry in candidates:
            found = pattern.fullmatch(scope["path"])
            if found is not None:
                await self._serve(entry, found.groupdict(), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, entry: Entry, raw_path: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope)
        body: Any = None
        if entry.body is not None and _json_request(request):
            raw, messages = await read_body(receive)
            receive = replay(messages, receive)
            body = None if raw is None else _parsed(entry.body, raw)
        call = await self._call(entry, request, raw_path, body)
        if call is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await entry.answer(call)
        except DomainError as error:  # refused by the use case: nothing was written
            response = await _handled(request, error)
        self.answered[entry.name] += 1
        await response(scope, receive, send)

    async def _call(
        self, entry: Entry, request: Request, raw_path: dict[str, str], body: Any
    ) -> Call | None:
        """Everything the route checks before its function runs, or None (the route's)."""
        if request.app.dependency_overrides or (entry.body is not None and body is None):
            return None
        query = entry.query(
            parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        )
        path = entry.path_params(raw_path)
        if query is None or path is None:
            return None
        container: Container = request.app.state.container
        actor = await _principal(request, container)
        if actor is None or not _permitted(actor, entry):
            return None
        return Call(request, container, actor, path, query, body)


def _json_request(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/json"


def _parsed(model: type[BaseModel], raw: bytes) -> BaseModel | None:
    """``raw`` as the route parses it (JSON, then the request model), or None."""
    try:
        return model.model_validate(json.loads(raw))
    except (ValueError, ValidationError, RecursionError):
        return None  # the route answers it (deep JSON is refused before, by api.edge)


async def _principal(request: Request, container: Container) -> Principal | None:
    """The caller as ``api.deps.principal`` finds it (None: the route answers 401)."""
    authorization = request.headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        return None
    cached = deps.cached_bearer(container, token)
    if cached is not None:
        return cached
    try:
        return await run_in_threadpool(deps.verify_bearer, container, token)
    except DomainError:
        return None


def _permitted(actor: Principal, entry: Entry) -> bool:
    """The route's first check (``api.route_permissions.authorize``)."""
    needed = permissions_for(entry.method, entry.path)
    if needed is PUBLIC or not needed:
        return True
    try:
        require_any(actor, needed)
    except DomainError:
        return False
    return True


async def _handled(request: Request, error: DomainError) -> Response:
    """The answer the app's exception handler gives ``error`` (as for the route)."""
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            if inspect.iscoroutinefunction(handler):
                response: Response = await handler(request, error)
            else:
                response = await run_in_threadpool(handler, request, error)
            return response
    raise error
