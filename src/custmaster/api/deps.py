"""Request dependencies: the container, the acting principal, a unit of work.

They are ``async def``: none of them blocks on the hot path (a cached API key, a new
unit of work that connects only when entered), so FastAPI runs them on the event loop
instead of handing each to the thread pool. What does block (an API key's database
look-up, a token's signature check) still runs in the thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from custmaster.bootstrap import Container
from custmaster.domain.errors import Unauthenticated
from custmaster.domain.permissions import Principal
from custmaster.services.auth import KEY_PREFIX, authenticate_key
from custmaster.services.ports import UnitOfWork


async def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


bearer = HTTPBearer(
    auto_error=False,
    description="an API key (`custmaster users add`) or an OIDC/JWT access token",
)


def _verified_key(found: Container, token: str) -> Principal:
    verified = authenticate_key(found.uow(), token)
    found.key_cache.put(token, verified)
    return verified


def _cached(found: Container, token: str) -> Principal | None:
    """The principal of an API key verified recently (None: verify it)."""
    if token.startswith(KEY_PREFIX) or found.token_verifier is None:
        return found.key_cache.get(token)
    return None


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <API key or JWT>`` (verified once per
    request: the route's authorisation and the route itself share it)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <API key or token>")
    found: Container = request.app.state.container
    token = credentials.credentials
    verified = _cached(found, token)
    if verified is None:
        if token.startswith(KEY_PREFIX) or found.token_verifier is None:
            verified = await run_in_threadpool(_verified_key, found, token)
        else:
            verified = await run_in_threadpool(found.token_verifier.verify, token)
    request.state.principal = verified
    return verified


def cached_bearer(found: Container, token: str) -> Principal | None:
    """The principal of an API key verified recently, decided without a thread or the
    database (None: call ``verify_bearer``)."""
    return _cached(found, token)


def verify_bearer(found: Container, token: str) -> Principal:
    """The principal of a bearer token (an API key or an OIDC/JWT access token), the way
    ``principal`` decides it; blocking (a database look-up or a signature check), so call
    it in a thread. The MCP endpoint authenticates with it."""
    cached = _cached(found, token)
    if cached is not None:
        return cached
    if token.startswith(KEY_PREFIX) or found.token_verifier is None:
        return _verified_key(found, token)
    return found.token_verifier.verify(token)


def cached_principal(request: Request) -> Principal | None:
    """What ``principal`` answers when the request names an API key verified recently
    (the common case, decided without a thread or a database); None otherwise."""
    authorization = request.headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        return None
    return _cached(request.app.state.container, token)


async def unit_of_work(request: Request) -> UnitOfWork:
    found: Container = request.app.state.container
    return found.uow()


ContainerDep = Annotated[Container, Depends(container)]
PrincipalDep = Annotated[Principal, Depends(principal)]
UowDep = Annotated[UnitOfWork, Depends(unit_of_work)]
