"""The living profile's tools (issue 19): segment queries, the 360 profile, affinity.

Each tool calls the service function its REST route calls (``services/profile``) through
``runtime.run``, so the caller's permission and legal-entity scope apply exactly as over
HTTP: a user scoped to GB01 reads GB01's rows and figures only. A segment expression that
does not parse or type-check comes back as a refusal whose ``errors[0].field`` is
``expression``, with its ``line``, ``column`` and ``offset`` and the position in the
message.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from custmaster.agents.reads import READ, Cursor, CustomerId, Entity
from custmaster.agents.runtime import Runtime, json_body
from custmaster.domain.errors import ValidationFailed
from custmaster.domain.expressions.errors import ExpressionError, PositionedError
from custmaster.domain.permissions import Principal
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.affinity import customer_affinity
from custmaster.services.profile.reads import customer_profile
from custmaster.services.profile.segments import query_customers

Expression = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="a boolean segment expression over master fields, profile features "
        'and scores, e.g. tier == "strategic" && order_frequency_trend < 0 && '
        "open_quality_complaints > 0",
    ),
]
QueryLimit = Annotated[int, Field(ge=1, le=500, description="page size")]


def positioned(exc: ExpressionError) -> ValidationFailed:
    """The expression error with its position spelled out in the message too."""
    message = f"{exc.message} (at line {exc.line}, column {exc.column})"
    error = PositionedError(
        "expression", "invalid_expression", message, exc.offset, exc.line, exc.column
    )
    failed = ValidationFailed([error], exc.detail)
    failed.title = exc.title
    return failed


def register(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the living profile's tools to ``server``."""

    @server.tool(name="query_customers", annotations=READ)
    async def query_customers_tool(
        expression: Expression,
        ctx: Context,
        entity: Entity = None,
        cursor: Cursor = None,
        limit: QueryLimit = 50,
    ) -> CallToolResult:
        """Find the customers matching a segment expression (&&, ||, !, comparisons,
        ternaries, days_since(date)) over master fields (name, industry, account_tier,
        customer_group, ...), profile features (revenue_12m, order_frequency_trend,
        open_quality_complaints, avg_days_late, ...) and scores (tier, health_score,
        health_band, churn_band). Without entity the figures are over every legal entity
        the user sees; with entity, that entity's. Returns a page of items, the total
        (total_exact false: the database's estimate of a large total) and next_cursor
        (pass it back to read on). A type error names the position."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            try:
                found = query_customers(
                    uow, actor, expression, entity=entity, limit=limit, cursor=cursor
                )
            except ExpressionError as exc:
                raise positioned(exc) from None
            return json_body(found)

        return await runtime.run(ctx, work)

    @server.tool(name="get_customer_profile", annotations=READ)
    async def get_customer_profile_tool(
        customer_id: CustomerId, ctx: Context, entity: Entity = None
    ) -> CallToolResult:
        """The customer's 360 view: profile features, receivables with aging, 12-month
        sales (own and rolled up over its subtree), KPIs, open complaints and cases,
        contracts up for renewal within 90 days, and per legal entity the scores (tier,
        health score and band with its explanation, churn band) and next-best actions.
        Without entity: the entities the user sees; with entity: that one only."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            found = customer_profile(
                uow, actor, customer_id, runtime.container.profile, entity=entity
            )
            return json_body(found)

        return await runtime.run(ctx, work)

    @server.tool(name="get_customer_affinity", annotations=READ)
    async def get_customer_affinity_tool(customer_id: CustomerId, ctx: Context) -> CallToolResult:
        """Product groups the customer buys more than its peers (over) and products that
        similar customers buy which it does not (similar), ranked, from the last affinity
        run. Computed over every legal entity, so a user scoped to entities is refused."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return json_body(customer_affinity(uow, actor, customer_id))

        return await runtime.run(ctx, work)
