"""Request dependencies: the container, the acting principal, a unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from custmaster.bootstrap import Container
from custmaster.domain.errors import Unauthenticated
from custmaster.domain.permissions import Principal
from custmaster.persistence.uow import SqlUnitOfWork
from custmaster.services.auth import KEY_PREFIX, authenticate_key


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


bearer = HTTPBearer(
    auto_error=False,
    description="an API key (`custmaster users add`) or an OIDC/JWT access token",
)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <API key or JWT>``."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <API key or token>")
    found = container(request)
    token = credentials.credentials
    if token.startswith(KEY_PREFIX) or found.token_verifier is None:
        cached = found.key_cache.get(token)
        if cached is not None:
            return cached
        verified = authenticate_key(found.uow(), token)
        found.key_cache.put(token, verified)
        return verified
    return found.token_verifier.verify(token)


def unit_of_work(request: Request) -> SqlUnitOfWork:
    return container(request).uow()


ContainerDep = Annotated[Container, Depends(container)]
PrincipalDep = Annotated[Principal, Depends(principal)]
UowDep = Annotated[SqlUnitOfWork, Depends(unit_of_work)]
