"""The delivery worker: sends due deliveries with bounded concurrency, signs each
attempt (Standard Webhooks), follows no redirect, honours ``Retry-After``, retries on
the schedule of :mod:`.schedule`, disables a subscription on ``410 Gone`` or when it has
failed without a success for ``disable_after`` (an event ``custmaster.webhook.disabled``
says so), and logs every attempt.

The clock and the jitter's random source are parameters, so tests run the whole day's
schedule in a moment.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import httpx

from custmaster.domain.events import CloudEvent
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change
from custmaster.services.webhooks.fanout import WEBHOOKS_ACTOR, fan_out
from custmaster.services.webhooks.ports import (
    ACTIVE,
    DISABLED,
    FAILED,
    SUCCEEDED,
    Attempt,
    Delivery,
    Subscription,
)
from custmaster.services.webhooks.schedule import next_delay, retry_after
from custmaster.services.webhooks.signing import signature_header
from custmaster.services.webhooks.targets import TargetRefused, check_target

USER_AGENT = "custmaster-webhooks/1"


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    timeout_seconds: float = 10.0
    allow_private: bool = False
    concurrency: int = 8
    #: a subscription failing this long without one success is disabled
    disable_after: timedelta = timedelta(days=5)
    #: a claimed delivery is not taken by another worker for this long
    lease: timedelta = timedelta(minutes=5)
    batch: int = 100


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: str | None
    duration_ms: int


@dataclass
class RunReport:
    queued: int = 0
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)


def send(
    client: httpx.Client,
    subscription: Subscription,
    delivery: Delivery,
    now: datetime,
    config: DeliveryConfig,
) -> Outcome:
    """One attempt: POST the body with its signature headers."""
    started = time.monotonic()
    timestamp = int(now.timestamp())
    secrets = [s.secret for s in subscription.secrets_at(now)]
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, delivery.event_id, timestamp, delivery.body),
    }
    try:
        check_target(subscription.url, allow_private=config.allow_private)
        answer = client.post(subscription.url, content=delivery.body.encode(), headers=headers)
    except TargetRefused as exc:
        return Outcome(None, f"target refused: {exc}", None, _ms(started))
    except httpx.TimeoutException:
        return Outcome(None, "timed out", None, _ms(started))
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], None, _ms(started))
    error = None
    if answer.is_redirect:
        error = f"redirect to {answer.headers.get('location', '?')} not followed"[:500]
    return Outcome(answer.status_code, error, answer.headers.get("retry-after"), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def disabled_event(subscription: Subscription, reason: str, now: datetime) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        type="custmaster.webhook.disabled",
        subject=str(subscription.id),
        time=now,
        data={
            "id": str(subscription.id),
            "url": subscription.url,
            "owner_id": subscription.owner_id,
            "reason": reason,
        },
    )


def record_outcome(
    uow: UnitOfWork,
    delivery: Delivery,
    outcome: Outcome,
    now: datetime,
    rng: random.Random,
    config: DeliveryConfig,
) -> str | None:
    """Store an attempt's result; the reason when it disabled the subscription."""
    with uow:
        subscription = uow.webhooks.get(delivery.subscription_id, for_update=True)
        current = uow.webhooks.delivery(delivery.id, for_update=True)
        if subscription is None or current is None:
            return None  # deleted meanwhile
        current.attempts += 1
        current.last_status_code, current.last_error = outcome.status_code, outcome.error
        current.updated_at = now
        code = outcome.status_code
        disabled: str | None = None
        if code is not None and 200 <= code < 300:
            current.status, current.next_attempt_at = SUCCEEDED, None
            subscription.failing_since = None
        elif code == 410:
            current.status, current.next_attempt_at = FAILED, None
            disabled = "the endpoint answered 410 Gone"
        else:
            delay = next_delay(current.attempts, rng, retry_after(outcome.retry_after, now))
            if delay is None:
                current.status, current.next_attempt_at = FAILED, None
            else:
                current.next_attempt_at = now + delay
            subscription.failing_since = subscription.failing_since or now
            if now - subscription.failing_since >= config.disable_after:
                disabled = f"failing without a success since {subscription.failing_since}"
        uow.webhooks.add_attempt(
            current.id,
            Attempt(now, code, outcome.error, outcome.duration_ms, current.next_attempt_at),
        )
        uow.webhooks.save_delivery(current)
        if disabled is not None and subscription.status == ACTIVE:
            subscription.status, subscription.disabled_reason = DISABLED, disabled
            record_change(
                uow,
                WEBHOOKS_ACTOR,
                operation="disable",
                resource_type="webhook",
                resource_id=str(subscription.id),
                changes=[{"field": "status", "before": ACTIVE, "after": DISABLED}],
                event=disabled_event(subscription, disabled, now),
            )
        else:
            disabled = None
        subscription.updated_at = now
        uow.webhooks.save(subscription)
        return disabled


def deliver_due(
    make_uow: Callable[[], UnitOfWork],
    config: DeliveryConfig,
    *,
    now: Callable[[], datetime],
    rng: random.Random | None = None,
    client: httpx.Client | None = None,
) -> RunReport:
    """One pass: queue new events, then attempt every delivery due now (at most
    ``config.batch``), ``config.concurrency`` at a time."""
    rng = rng or random.Random()
    report = RunReport(queued=fan_out(make_uow(), now()))
    started = now()
    uow = make_uow()
    with uow:
        due = uow.webhooks.claim_due(started, started + config.lease, config.batch)
    if not due:
        return report
    own = client is None
    http = client or httpx.Client(follow_redirects=False, timeout=config.timeout_seconds)

    with make_uow().read_only() as reading:
        subscriptions = {i: reading.webhooks.get(i) for i in {d.subscription_id for d in due}}

    stopped: set[UUID] = set()  # disabled during this pass: send them nothing more

    def attempt(delivery: Delivery) -> tuple[Outcome, str | None]:
        subscription = subscriptions.get(delivery.subscription_id)
        if subscription is None or subscription.status != ACTIVE or subscription.id in stopped:
            return Outcome(None, "subscription not active", None, 0), None
        outcome = send(http, subscription, delivery, now(), config)
        disabled = record_outcome(make_uow(), delivery, outcome, now(), rng, config)
        if disabled is not None:
            stopped.add(subscription.id)
        return outcome, disabled

    try:
        with ThreadPoolExecutor(max_workers=max(1, config.concurrency)) as pool:
            for outcome, disabled in pool.map(attempt, due):
                report.attempted += 1
                if outcome.status_code is not None and 200 <= outcome.status_code < 300:
                    report.succeeded += 1
                else:
                    report.failed += 1
                if disabled:
                    report.disabled.append(disabled)
    finally:
        if own:
            http.close()
    return report


def run_worker(
    make_uow: Callable[[], UnitOfWork],
    config: DeliveryConfig,
    *,
    now: Callable[[], datetime],
    interval: float = 1.0,
    max_passes: int | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> RunReport:
    """Deliver until ``stop()`` (or ``max_passes``), pausing ``interval`` seconds when
    a pass found nothing to do."""
    total = RunReport()
    passes = 0
    with httpx.Client(follow_redirects=False, timeout=config.timeout_seconds) as client:
        while not stop() and (max_passes is None or passes < max_passes):
            passes += 1
            report = deliver_due(make_uow, config, now=now, client=client)
            total.queued += report.queued
            total.attempted += report.attempted
            total.succeeded += report.succeeded
            total.failed += report.failed
            total.disabled += report.disabled
            if not report.attempted and not report.queued:
                time.sleep(interval)
    return total
