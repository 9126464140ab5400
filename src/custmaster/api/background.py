"""What a serving process runs beside its requests: its thread limit, and the sealing of
the audit log.

Blocking work (writes, every call on SQLite) runs in at most
``CUSTMASTER_WORKER_THREADS`` threads per process; the rest waits on the event loop. More
threads than that would contend for the database pool and the interpreter's lock and
lengthen the slowest answers without adding throughput.

While the app serves, its writers' audit entries are sealed on a background thread about
``CUSTMASTER_AUDIT_SEAL_DELAY_SECONDS`` after their commit, many in one pass, instead of
in the request that wrote them (0: in the request, right after the commit; see
``persistence.audit.AuditSealer``).

A pass that failed (a lost database connection, say) leaves entries unsealed until the
next write or ``custmaster audit verify``. On a quiet server that could be long, so each
serving process also runs a catch-up pass every ``CUSTMASTER_AUDIT_SEAL_INTERVAL_SECONDS``
(0 turns it off). Passes of several processes take the chain's lock in turn; a pass with
nothing to seal is one query.

With an audit key, each serving process also publishes a signed checkpoint of the chain's
head every ``CUSTMASTER_AUDIT_CHECKPOINT_INTERVAL_SECONDS`` when the chain grew since its
last one (to the outbox and ``CUSTMASTER_AUDIT_CHECKPOINT_FILE``): entries removed from
the end later no longer reach it (``custmaster audit verify``).

Each serving process also checks tax-exemption certificates for expiry notices when it
starts and then every ``CUSTMASTER_CERTIFICATE_CHECK_INTERVAL_SECONDS`` (a day; 0 turns it
off), as ``custmaster certificates check`` does: every notice is sent once, however many
processes check (the check takes a lock and records what it sent).

With ``CUSTMASTER_RELAY_IN_SERVE``, each serving process also runs the outbox relay to NATS
JetStream (``services.relay``); the partitions' leases let one process publish each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from custmaster.bootstrap import Container, sealer_for
from custmaster.services.audit import publish_checkpoint, seal_audit
from custmaster.services.certificates.check import check_certificates
from custmaster.services.relay.runner import Relay

_LOG = logging.getLogger(__name__)


async def seal_periodically(container: Container, interval: float) -> None:
    """Seal what is committed and unsealed every ``interval`` seconds, until cancelled; a
    failed pass is logged and retried at the next interval."""
    actor = container.system_principal()
    while True:
        await asyncio.sleep(interval)
        try:
            sealed = await run_in_threadpool(seal_audit, container.uow(), actor)
        except Exception:
            _LOG.warning(
                "catch-up sealing of the audit log failed; retrying in %s s",
                interval,
                exc_info=True,
            )
        else:
            if sealed:
                _LOG.info("catch-up sealing: %d audit entries sealed", sealed)


async def checkpoint_periodically(container: Container, interval: float) -> None:
    """Publish a signed checkpoint every ``interval`` seconds when the chain grew, until
    cancelled; a failed one is logged and retried at the next interval."""
    key = container.audit_key
    assert key is not None
    actor, target = container.system_principal(), container.settings.audit_checkpoint_file
    last: int | None = None
    while True:
        await asyncio.sleep(interval)
        try:
            made = await run_in_threadpool(
                functools.partial(publish_checkpoint, unless_at=last),
                container.uow(),
                actor,
                key,
                target,
            )
        except Exception:
            _LOG.warning(
                "publishing an audit checkpoint failed; retrying in %s s", interval, exc_info=True
            )
        else:
            if made is not None:
                last = made.seq


async def check_certificates_periodically(container: Container, interval: float) -> None:
    """Send the certificate expiry notices due, now and every ``interval`` seconds, until
    cancelled; a failed check is logged and retried at the next interval."""
    actor = container.system_principal()
    while True:
        try:
            sent = await run_in_threadpool(check_certificates, container.uow(), actor)
        except Exception:
            _LOG.warning(
                "the certificate expiry check failed; retrying in %s s", interval, exc_info=True
            )
        else:
            if sent:
                _LOG.info("certificate expiry check: %d notices sent", len(sent))
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: the worker's thread limit is set; deferred sealing, the
    catch-up sealer, the daily certificate check and the MCP endpoint's session manager
    run while the app serves."""
    container: Container = app.state.container
    settings = container.settings
    # the event loop's default limiter: what run_in_threadpool and sync routes wait on
    to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
    interval = settings.audit_seal_interval_seconds
    with contextlib.ExitStack() as deferral:
        if settings.audit_seal_delay_seconds > 0:
            deferral.enter_context(
                sealer_for(container.engine).deferred(settings.audit_seal_delay_seconds)
            )
        tasks = [asyncio.create_task(seal_periodically(container, interval))] if interval else []
        every = settings.audit_checkpoint_interval_seconds
        if container.audit_key is not None and every:
            tasks.append(asyncio.create_task(checkpoint_periodically(container, every)))
        if settings.certificate_check_interval_seconds:
            tasks.append(
                asyncio.create_task(
                    check_certificates_periodically(
                        container, settings.certificate_check_interval_seconds
                    )
                )
            )
        if settings.relay_in_serve:  # the outbox relay (docs/integration.md)
            tasks.append(asyncio.create_task(Relay(container.uow, container.relay_config()).run()))
        mcp = getattr(app.state, "mcp", None)  # the MCP endpoint (agents.http), when mounted
        try:
            async with mcp.running() if mcp is not None else contextlib.nullcontext():
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # the final pass of the deferred sealer, off the event loop
            await run_in_threadpool(deferral.close)
