"""Resources an agent reads before it acts: every customer (``customer://{id}``), the
customer schema, reference data per kind and the approval policy in force."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from anyio import to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from custmaster.agents.errors import refusal
from custmaster.agents.runtime import Runtime, Work
from custmaster.api.schemas.customers import CustomerCreate, CustomerPatch
from custmaster.domain.approvals import Policy
from custmaster.domain.errors import DomainError, FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.customers.read import get_customer
from custmaster.services.governance.access import visible_snapshot
from custmaster.services.ports import UnitOfWork
from custmaster.services.reference import list_reference

JSON = "application/json"
REFERENCE_KINDS = (
    "legal_entities",
    "payment_terms",
    "payment_methods",
    "customer_groups",
    "tax_codes",
    "industries",
    "dimension_types",
)
#: at most this many records of a reference kind are in its resource (lookup_reference pages)
REFERENCE_LIMIT = 500


def plain(value: Any) -> Any:
    """Dataclasses, mappings, enums, sets and decimals as JSON-able values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def policy_document(policy: Policy) -> dict[str, Any]:
    document: dict[str, Any] = plain(policy)
    document["about"] = (
        "Each operation's lane and approving roles in order; rules escalate (or, green, "
        "relax) the lane of a change they match. green applies at once; yellow and red wait "
        "for one distinct person per step, never the submitter and never an agent."
    )
    return document


def schema_document() -> dict[str, Any]:
    return {
        "create": CustomerCreate.model_json_schema(),
        "update": CustomerPatch.model_json_schema(),
        "notes": [
            'decimals are strings ("50000.00"), dates ISO 8601 (YYYY-MM-DD)',
            "codes (owning_entity, payment_terms, payment_method, customer_group, tax_code, "
            "industry, dimension values, override entities) must exist: see "
            "custmaster://reference/{kind}",
            "overrides: per legal entity, credit_limit, payment_terms, payment_method, "
            "currency, tax_code, revenue_account, customer_group, dimensions and addresses",
            "server-owned fields (id, number, version, status, timestamps) are refused",
        ],
    }


async def read_as(runtime: Runtime, ctx: Context | None, work: Work) -> str:
    """Run ``work`` for the caller; a refusal raises the resource error the SDK answers
    with (its message is the refusal's JSON)."""

    def run() -> str:
        try:
            actor = runtime.actor(ctx)
            return json.dumps(work(actor, runtime.container.uow()), ensure_ascii=False)
        except DomainError as exc:
            text = json.dumps(refusal(exc, lambda kind, dim: None))
            if isinstance(exc, NotFound):
                raise ResourceNotFoundError(text) from None
            raise ResourceError(text) from None

    return await to_thread.run_sync(run)


def register(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the resources to ``server``."""

    @server.resource(
        "customer://{customer_id}",
        name="customer",
        mime_type=JSON,
        description="A customer's master record with its child records and "
        "the legal-entity overrides the user may see",
    )
    async def customer(customer_id: str, ctx: Context) -> str:
        try:
            wanted = UUID(customer_id)
        except ValueError:
            raise ResourceNotFoundError(
                json.dumps(
                    refusal(
                        ValidationFailed(
                            [
                                FieldError(
                                    "customer_id", "invalid_uuid", "is not a customer id (a UUID)"
                                )
                            ]
                        ),
                        lambda kind, dim: None,
                    )
                )
            ) from None

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return visible_snapshot(actor, snapshot(get_customer(uow, actor, wanted)))

        return await read_as(runtime, ctx, work)

    @server.resource(
        "custmaster://reference/{kind}",
        name="reference_data",
        mime_type=JSON,
        description="Reference data of one kind (legal_entities, payment_terms, "
        "payment_methods, customer_groups, tax_codes, industries, "
        "dimension_types): the codes customer fields may name",
    )
    async def reference(kind: str, ctx: Context) -> str:
        if kind not in REFERENCE_KINDS:
            raise ResourceNotFoundError(
                f"no reference data '{kind}'; one of: {', '.join(REFERENCE_KINDS)}"
            )

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            records = list_reference(uow, actor, kind, after=None, limit=REFERENCE_LIMIT)
            return {
                "kind": kind,
                "items": jsonable(records),
                "truncated": len(records) == REFERENCE_LIMIT,
            }

        return await read_as(runtime, ctx, work)

    @server.resource(
        "custmaster://schema/customer",
        name="customer_schema",
        mime_type=JSON,
        description="JSON Schemas of a new customer and of a partial update "
        "(action lists for child records and overrides)",
    )
    def customer_schema() -> str:
        return json.dumps(schema_document())

    @server.resource(
        "custmaster://approval-policy",
        name="approval_policy",
        mime_type=JSON,
        description="The approval policy in force: which changes apply at once "
        "and which wait for whose approval",
    )
    def approval_policy() -> str:
        return json.dumps(policy_document(runtime.container.policy))
