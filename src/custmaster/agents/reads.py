"""Read tools: customers (search, effective view, history), account structure (hierarchy,
relationships, account team), matching (match a record, the duplicate review queue),
reference data and change requests. Each calls the service function the REST route
calls, with the same permission and entity-scope checks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from custmaster.agents.runtime import Runtime
from custmaster.api.http import decode_cursor, encode_cursor
from custmaster.api.schemas.matching import MatchRequest
from custmaster.domain.effective import EffectiveView
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.model import CustomerStatus, CustomerType
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.customers.read import (
    customer_history,
    get_customer,
    get_effective_view,
    read_effective_view,
    search_customers,
)
from custmaster.services.dedup.online import match_answer
from custmaster.services.dedup.review import list_clusters
from custmaster.services.governance.access import visible_snapshot
from custmaster.services.governance.decide import get_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.reference import get_reference, list_reference
from custmaster.services.structure import hierarchies, org_units, relationships

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
#: the fields of a customer in a search result (the full record: get_customer)
SUMMARY_FIELDS = (
    "id",
    "number",
    "name",
    "kind",
    "status",
    "owning_entity",
    "customer_type",
    "customer_group",
    "relationship_status",
    "email",
    "tax_id",
    "version",
)
ReferenceKind = Literal[
    "legal_entities",
    "payment_terms",
    "payment_methods",
    "customer_groups",
    "tax_codes",
    "industries",
    "dimension_types",
]

CustomerId = Annotated[UUID, Field(description="the customer's id (a UUID from search_customers)")]
Entity = Annotated[
    str | None,
    Field(
        max_length=64,
        description="legal entity code, e.g. US01 (lookup_reference "
        "kind=legal_entities lists them)",
    ),
]
AsOf = Annotated[date | None, Field(description="ISO date (YYYY-MM-DD); default today")]
Cursor = Annotated[
    str | None, Field(max_length=512, description="next_cursor of the previous page")
]
Limit = Annotated[int, Field(ge=1, le=100, description="page size")]
HierarchyType = Literal["legal", "sales"]


def page(items: list[Any], limit: int, last: str | None) -> dict[str, Any]:
    """A page of results; ``next_cursor`` is set when more may follow."""
    next_cursor = encode_cursor(last) if last is not None and len(items) == limit else None
    return {"items": items, "next_cursor": next_cursor}


def _offset(cursor: str | None) -> int | None:
    decoded = decode_cursor(cursor)
    if decoded is None:
        return None
    if not decoded.isdigit() or len(decoded) > 18:
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "is not a cursor this server returned")]
        )
    return int(decoded)


def view_body(view: EffectiveView) -> dict[str, Any]:
    body: dict[str, Any] = jsonable(
        {**view.data, "entity": view.entity, "overridden_fields": view.overridden_fields}
    )
    return body


def register(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the read tools to ``server``."""

    @server.tool(name="search_customers", annotations=READ)
    async def search_customers_tool(
        ctx: Context,
        text: Annotated[
            str | None,
            Field(max_length=255, description="words of the name, or a number, email or tax id"),
        ] = None,
        entity: Entity = None,
        customer_type: CustomerType | None = None,
        country: Annotated[
            str | None, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
        ] = None,
        customer_group: Annotated[str | None, Field(max_length=64)] = None,
        include_inactive: bool = False,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CallToolResult:
        """Find customers by name, number, email or tax id, optionally within one legal
        entity (owned by or overridden for it), type, country or group. Returns summaries
        (id, number, name, status, owning entity, ...) a page at a time; pass next_cursor
        back to read on. Read a full record with get_customer."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            query = CustomerQuery(
                text=text or None,
                status=None if include_inactive else CustomerStatus.ACTIVE,
                customer_type=customer_type.value if customer_type else None,
                country=country,
                customer_group=customer_group,
                entity=entity,
                after_number=decode_cursor(cursor),
                limit=limit,
            )
            found = search_customers(uow, actor, query)
            items = [{k: v for k, v in snapshot(c).items() if k in SUMMARY_FIELDS} for c in found]
            return page(items, limit, found[-1].number if found else None)

        return await runtime.run(ctx, work)

    @server.tool(name="get_customer", annotations=READ)
    async def get_customer_tool(
        customer_id: CustomerId, ctx: Context, entity: Entity = None, as_of: AsOf = None
    ) -> CallToolResult:
        """Read one customer with its addresses, contacts, pricing tiers, tax profiles and
        source references. Without entity: the master record with the legal-entity
        overrides the user may see. With entity: the effective view for that legal entity
        (the master merged with its override; overridden_fields names what the override
        supplied, inherited what came from a parent in the legal hierarchy on as_of).
        version is what expected_version of a proposal refers to."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            if entity is None:
                return visible_snapshot(actor, snapshot(get_customer(uow, actor, customer_id)))
            return view_body(get_effective_view(uow, actor, customer_id, entity, as_of)[1])

        reads = runtime.reads
        if entity is None or reads is None:
            return await runtime.run(ctx, work)

        async def on_loop(actor: Principal) -> dict[str, Any]:  # as the REST API reads it
            uow = runtime.container.uow()
            _, view = await read_effective_view(reads, uow, actor, customer_id, entity, as_of)
            return view_body(view)

        return await runtime.run_async(ctx, on_loop)

    @server.tool(name="customer_history", annotations=READ)
    async def customer_history_tool(
        customer_id: CustomerId, ctx: Context, cursor: Cursor = None, limit: Limit = 20
    ) -> CallToolResult:
        """The audit trail of a customer, oldest first: who changed what (each field's
        value before and after), when, and under which change request. Entries made
        through an agent name the user with "(via MCP agent)"."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            after = _offset(cursor)
            entries = customer_history(uow, actor, customer_id, after_id=after, limit=limit)
            items = [
                jsonable(
                    {
                        "id": e.id,
                        "occurred_at": e.occurred_at,
                        "actor_id": e.actor_id,
                        "actor_name": e.actor_name,
                        "operation": e.operation,
                        "change_request_id": e.change_request_id,
                        "changes": e.changes,
                    }
                )
                for e in entries
            ]
            return page(items, limit, str(entries[-1].id) if entries else None)

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def customer_hierarchy(
        customer_id: CustomerId,
        ctx: Context,
        hierarchy_type: Annotated[
            HierarchyType,
            Field(description="legal: the corporate group; sales: the trade structure"),
        ] = "legal",
        view: Annotated[
            Literal["tree", "subtree", "ancestors", "descendants"],
            Field(description="tree: the whole tree from the customer's root"),
        ] = "tree",
        as_of: AsOf = None,
    ) -> CallToolResult:
        """The customer's place in a hierarchy on a date: the whole tree, the subtree
        below it, its ancestors (parent first) or its descendants."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            found = hierarchies.read_hierarchy(
                uow, actor, hierarchy_type, customer_id, view=view, as_of=as_of
            )
            body: dict[str, Any] = jsonable(found)
            return body

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def customer_relationships(
        customer_id: CustomerId,
        ctx: Context,
        as_of: Annotated[
            date | None, Field(description="only those active on this date; default every period")
        ] = None,
        relationship_type: Annotated[
            str | None, Field(max_length=50, description="e.g. bill_to, ship_to, payer")
        ] = None,
        direction: Annotated[
            Literal["outgoing", "incoming"],
            Field(description="incoming: where the customer is the related one"),
        ] = "outgoing",
    ) -> CallToolResult:
        """The customer's relationships to other customers (bill-to, ship-to, payer and
        user-defined types) with their periods and the related customer's number and
        name."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            found = relationships.customer_relationships(
                uow,
                actor,
                customer_id,
                as_of=as_of,
                relationship_type=relationship_type,
                incoming=direction == "incoming",
            )
            return {"items": jsonable(found)}

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def account_team(
        customer_id: CustomerId, ctx: Context, as_of: AsOf = None
    ) -> CallToolResult:
        """The effective account team of a customer on a date: each role's user, from a
        direct assignment or the nearest org unit above the customer's units."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            body: dict[str, Any] = jsonable(
                org_units.account_team(uow, actor, customer_id, as_of=as_of)
            )
            return body

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def match_record(
        record: Annotated[
            MatchRequest,
            Field(
                description="a candidate in the create shape; give what you know (name, "
                "tax_id, email, phone, addresses); nothing is required"
            ),
        ],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        min_score: Annotated[float, Field(ge=0, le=1, description="lowest probability")] = 0.0,
    ) -> CallToolResult:
        """Find existing customers that may be the same as a record, best first, each with
        a probability (score), a decision (match / review / non-match) and a per-field
        explanation. Call it before proposing a new customer to avoid duplicates."""
        candidate = record.model_dump(mode="json", exclude_unset=True)

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return match_answer(uow, actor, candidate, limit, min_score)

        return await runtime.run(ctx, work, argument="record")

    @server.tool(annotations=READ)
    async def list_duplicates(
        ctx: Context,
        status: Literal["open", "merged", "not_duplicate", "superseded", "all"] = "open",
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CallToolResult:
        """The duplicate review queue: clusters of customers the batch matcher found
        likely to be the same, with scores, pairwise explanations and a proposed
        survivor. Merge a cluster with propose_merge."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            found = list_clusters(
                uow,
                actor,
                status=None if status == "all" else status,
                after_id=_offset(cursor),
                limit=limit,
            )
            items = [
                jsonable(
                    {
                        "id": c.id,
                        "status": c.status,
                        "proposal": c.proposal,
                        "score": c.score,
                        "members": c.members,
                        "pairs": c.pairs,
                        "created_at": c.created_at,
                        "merge_id": c.merge_id,
                    }
                )
                for c in found
            ]
            return page(items, limit, str(found[-1].id) if found else None)

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def lookup_reference(
        kind: Annotated[ReferenceKind, Field(description="which reference data")],
        ctx: Context,
        code: Annotated[
            str | None, Field(max_length=64, description="one record by its code; omit to list")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> CallToolResult:
        """Reference data that customer fields must name by code: legal entities
        (owning_entity, overrides), payment terms, payment methods, customer groups, tax
        codes, industries and dimension types with their values. A code that does not
        exist here is refused by every proposal."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            if code is not None:
                found: dict[str, Any] = jsonable(get_reference(uow, actor, kind, code))
                return found
            records = list_reference(uow, actor, kind, after=decode_cursor(cursor), limit=limit)
            return page(jsonable(records), limit, records[-1]["code"] if records else None)

        return await runtime.run(ctx, work)

    @server.tool(annotations=READ)
    async def get_change_request(
        request_id: Annotated[UUID, Field(description="the id a proposal returned")],
        ctx: Context,
    ) -> CallToolResult:
        """A change request's state: pending (with the step waiting for a decision),
        applied, rejected, withdrawn or conflicted, with each step's decision. People
        decide change requests in custmaster; an agent only reads them."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return get_request(uow, actor, request_id).as_dict()

        return await runtime.run(ctx, work)
