"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections import Counter

from fastapi import Depends, FastAPI

from custmaster import __version__
from custmaster.agents import http as agents_http
from custmaster.api import docs_pages, problems
from custmaster.api.background import lifespan
from custmaster.api.edge import EdgeGuard, limits_of
from custmaster.api.fast_path import FastPath
from custmaster.api.query_params import refuse_unknown_query
from custmaster.api.route_permissions import authorize
from custmaster.api.routers import (
    activities,
    change_requests,
    customers,
    events,
    exports,
    health,
    imports,
    inbound,
    matching,
    personal_data,
    profile,
    profile_rules,
    reference,
    relay,
    sources,
    sync,
    webhooks,
)
from custmaster.api.routers import structure as structure_routers
from custmaster.bootstrap import Container, async_reads, build_container
from custmaster.web import console


def create_app(container: Container | None = None, *, fast_path: bool | None = None) -> FastAPI:
    """The app over ``container``; ``fast_path`` (default: ``Settings.fast_path``) puts
    ``api.fast_path`` in front of the routes it shadows."""
    container = container or build_container()
    app = FastAPI(
        title="custmaster",
        version=__version__,
        summary="The customer master data hub: one trusted customer record.",
        description=(
            "Errors are RFC 9457 problem details. Customer responses carry an ETag; "
            "PATCH and state changes accept If-Match (412 when stale). POST accepts an "
            "Idempotency-Key. Lists use cursor pagination."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by api.docs_pages, without a CDN
        redoc_url=None,
        # every route: its function-level authorisation (api.route_permissions) first,
        # then a query parameter it does not declare is a 400, never ignored
        dependencies=[Depends(authorize), Depends(refuse_unknown_query)],
    )
    app.state.container = container
    # PostgreSQL: the effective view is read on the event loop (None on SQLite)
    app.state.customer_reads = async_reads(container.engine, container.settings.database_pool_size)
    problems.install(app)
    docs_pages.install(app)
    app.include_router(health.router)
    app.include_router(profile_rules.router)  # before customers: /customers/query
    app.include_router(customers.router)
    app.include_router(reference.router)
    app.include_router(events.router)
    relay.install(app)  # /api/v1/relay/status and /asyncapi.json
    app.include_router(imports.router)
    app.include_router(exports.router)
    app.include_router(change_requests.router)
    app.include_router(personal_data.router)
    app.include_router(sources.router)
    app.include_router(activities.router)
    app.include_router(profile.router)
    app.include_router(sources.clusters_router)
    app.include_router(webhooks.router)
    app.include_router(sync.router)
    app.include_router(inbound.router)
    matching.install(app)
    structure_routers.install(app)
    agents_http.install(app, container)  # the MCP server for AI agents at /mcp
    console.install(app)  # the steward console at /console (session cookie, web.auth)
    # requests answered by the fast path, per entry (the tests read it)
    app.state.fast_path_answers = Counter[str]()
    if container.settings.fast_path if fast_path is None else fast_path:
        app.add_middleware(FastPath, answered=app.state.fast_path_answers)
    # outermost: the routes and the fast path see only what it lets through
    app.add_middleware(EdgeGuard, limits=limits_of(container.settings))
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (``custmaster serve``, one or more workers)."""
    app = create_app()
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move what a serving process holds once started (modules, the app, its routes and
    schemas: some 200,000 objects) out of the cyclic garbage collector's reach. Its full
    collections would otherwise walk all of it each time, a pause of about 80 ms in which
    every request of the process waits; now they walk what serving created."""
    gc.collect()
    gc.freeze()
