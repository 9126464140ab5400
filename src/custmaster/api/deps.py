"""Request dependencies: the container, the acting principal, a unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from custmaster.bootstrap import Container
from custmaster.domain.permissions import Principal
from custmaster.persistence.uow import SqlUnitOfWork


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def principal(request: Request) -> Principal:
    """Until authentication exists, the API acts as the configured local principal."""
    return container(request).local_principal()


def unit_of_work(request: Request) -> SqlUnitOfWork:
    return container(request).uow()


ContainerDep = Annotated[Container, Depends(container)]
PrincipalDep = Annotated[Principal, Depends(principal)]
UowDep = Annotated[SqlUnitOfWork, Depends(unit_of_work)]
