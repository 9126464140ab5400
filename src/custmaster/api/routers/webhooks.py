"""/api/v1/webhooks: subscriptions (the secret shown once), secret rotation, the
delivery log and manual redelivery. A subscription is its owner's: others get 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import Field

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import MAX_LIMIT, json_response
from custmaster.api.schemas.common import Strict, problems
from custmaster.services.webhooks.manage import (
    SubscriptionSpec,
    change_subscription,
    create_subscription,
    delete_subscription,
    get_delivery,
    get_subscription,
    list_deliveries,
    list_subscriptions,
    redeliver,
    rotate_secret,
)
from custmaster.services.webhooks.ports import Attempt, Delivery, Subscription

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_Pattern = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.*?-]+$")]
_Entity = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class WebhookIn(Strict):
    url: str = Field(min_length=8, max_length=2048)
    description: str = Field(default="", max_length=255)
    event_types: list[_Pattern] = Field(default=["*"], min_length=1, max_length=50)
    entities: list[_Entity] | None = Field(default=None, min_length=1, max_length=50)


class WebhookPatch(Strict):
    url: str | None = Field(default=None, min_length=8, max_length=2048)
    description: str | None = Field(default=None, max_length=255)
    event_types: list[_Pattern] | None = Field(default=None, min_length=1, max_length=50)
    entities: list[_Entity] | None = Field(default=None, min_length=1, max_length=50)
    enabled: bool | None = None


class RotateIn(Strict):
    keep_old_hours: float = Field(default=24, ge=0, le=24 * 7)


def _out(s: Subscription, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(s.id),
        "url": s.url,
        "description": s.description,
        "event_types": s.event_types,
        "entities": s.entities,
        "status": s.status,
        "disabled_reason": s.disabled_reason,
        "owner_id": s.owner_id,
        "created_at": s.created_at.isoformat(),
        "updated_at": s.updated_at.isoformat(),
        "secrets": [
            {
                "created_at": x.created_at.isoformat(),
                "expires_at": None if x.expires_at is None else x.expires_at.isoformat(),
            }
            for x in s.secrets
        ],
    }
    if secret is not None:
        body["secret"] = secret
    return body


def _delivery(d: Delivery, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(d.id),
        "webhook_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "seq": d.seq,
        "next_attempt_at": None if d.next_attempt_at is None else d.next_attempt_at.isoformat(),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
    }
    if attempts is not None:
        body["attempt_log"] = [
            {
                "attempted_at": a.attempted_at.isoformat(),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "next_attempt_at": None
                if a.next_attempt_at is None
                else a.next_attempt_at.isoformat(),
            }
            for a in attempts
        ]
    return body


@router.post(
    "",
    status_code=201,
    responses=problems(403, 422),
    summary="Subscribe an endpoint; the answer shows its signing secret, once",
)
def create(body: WebhookIn, actor: PrincipalDep, uow: UowDep, container: ContainerDep) -> Response:
    spec = SubscriptionSpec(
        url=body.url,
        description=body.description,
        event_types=tuple(body.event_types),
        entities=None if body.entities is None else tuple(body.entities),
    )
    made, secret = create_subscription(
        uow, actor, spec, allow_private=container.settings.webhooks_allow_private_targets
    )
    return json_response(201, _out(made, secret))


@router.get("", responses=problems(), summary="Your webhook subscriptions")
def listing(
    actor: PrincipalDep,
    uow: UowDep,
    after: Annotated[UUID | None, Query(description="the last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    found = list_subscriptions(uow, actor, after=after, limit=limit)
    return json_response(200, {"items": [_out(s) for s in found]})


@router.get("/{webhook_id}", responses=problems(404), summary="One subscription")
def read(webhook_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, _out(get_subscription(uow, actor, webhook_id)))


@router.patch(
    "/{webhook_id}",
    responses=problems(404, 422),
    summary="Change the URL, filters or description; enable or disable",
)
def change(
    webhook_id: UUID,
    body: WebhookPatch,
    actor: PrincipalDep,
    uow: UowDep,
    container: ContainerDep,
) -> Response:
    changes = body.model_dump(exclude_unset=True)
    if "entities" in changes and changes["entities"] is None:
        changes["entities"] = None
    changed = change_subscription(
        uow,
        actor,
        webhook_id,
        changes,
        allow_private=container.settings.webhooks_allow_private_targets,
    )
    return json_response(200, _out(changed))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    responses=problems(404),
    summary="Delete a subscription and its delivery log",
)
def remove(webhook_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    delete_subscription(uow, actor, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    responses=problems(404, 422),
    summary="A new signing secret (shown once); the old one signs too until it expires",
)
def rotate(
    webhook_id: UUID, actor: PrincipalDep, uow: UowDep, body: RotateIn | None = None
) -> Response:
    hours = (body or RotateIn()).keep_old_hours
    rotated, secret = rotate_secret(uow, actor, webhook_id, overlap=timedelta(hours=hours))
    return json_response(200, _out(rotated, secret))


@router.get(
    "/{webhook_id}/deliveries", responses=problems(404), summary="The delivery log, newest first"
)
def deliveries(
    webhook_id: UUID,
    actor: PrincipalDep,
    uow: UowDep,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    before: Annotated[int | None, Query(ge=0, lt=2**62, description="seq of the last item")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    found = list_deliveries(uow, actor, webhook_id, status=status, before=before, limit=limit)
    return json_response(200, {"items": [_delivery(d) for d in found]})


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    responses=problems(404),
    summary="One delivery with every attempt",
)
def delivery(webhook_id: UUID, delivery_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    found, attempts = get_delivery(uow, actor, webhook_id, delivery_id)
    return json_response(200, _delivery(found, attempts))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    responses=problems(404),
    summary="Send a delivery again, now",
)
def resend(webhook_id: UUID, delivery_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(202, _delivery(redeliver(uow, actor, webhook_id, delivery_id)))
