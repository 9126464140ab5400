"""/api/v1/sync/targets: the outbound sync targets' status, pause and resume, and
their dead-letter lists (operators: ``integration.manage``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import MAX_LIMIT, json_response
from custmaster.api.schemas.common import problems
from custmaster.domain.errors import NotFound
from custmaster.domain.snapshot import jsonable
from custmaster.services.sync.hub import configured_targets
from custmaster.services.sync.run import dead_letters, set_paused, target_status

router = APIRouter(prefix="/api/v1/sync/targets", tags=["sync"])
_Target = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _known(container: ContainerDep, target: str) -> None:
    if target not in configured_targets(container.settings.sync_targets_dir):
        raise NotFound(f"no sync target {target}")


def _status(status: Any) -> dict[str, Any]:
    return jsonable(asdict(status))  # type: ignore[no-any-return]


@router.get("", responses=problems(), summary="Every configured target and where it stands")
def listing(actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    names = sorted(configured_targets(container.settings.sync_targets_dir))
    return json_response(200, {"items": [_status(target_status(uow, actor, n)) for n in names]})


@router.get("/{target}", responses=problems(404), summary="One target")
def read(target: _Target, actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    _known(container, target)
    return json_response(200, _status(target_status(uow, actor, target)))


@router.post("/{target}/pause", responses=problems(404), summary="Stop sending; keep the cursor")
def pause(target: _Target, actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    _known(container, target)
    return json_response(200, _status(set_paused(uow, actor, target, True)))


@router.post(
    "/{target}/resume",
    responses=problems(404),
    summary="Send again; the next run catches up from the cursor",
)
def resume(target: _Target, actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    _known(container, target)
    return json_response(200, _status(set_paused(uow, actor, target, False)))


@router.get(
    "/{target}/dead-letters",
    responses=problems(404),
    summary="Changes the target refused or never acknowledged",
)
def letters(
    target: _Target,
    actor: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
    all: Annotated[bool, Query(description="resolved ones too")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    _known(container, target)
    found = dead_letters(uow, actor, target, open_only=not all, limit=limit)
    return json_response(200, {"items": [jsonable(asdict(d)) for d in found]})
