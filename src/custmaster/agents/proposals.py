"""Proposal tools: every change an agent makes runs through the approval policy exactly
like the REST API's (the same ``submit_*`` service functions). A green change applies
at once; anything else opens a change request that people approve in custmaster, and the
tool answers with it (id, lane, steps, diff, warnings). Nothing here approves, rejects or
withdraws a change request.

Each tool takes an ``idempotency_key``: a retried call with the same key and arguments
answers as the first did, without a second change (``services.idempotency``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from custmaster.agents.reads import CustomerId, HierarchyType
from custmaster.agents.runtime import Runtime, json_body
from custmaster.api.schemas.customers import CustomerCreate, CustomerPatch
from custmaster.domain.approvals import ChangeRequest, Operation
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.customers.create import create_customer
from custmaster.services.customers.lifecycle import change_lifecycle
from custmaster.services.customers.outcome import Outcome
from custmaster.services.customers.update import update_customer
from custmaster.services.governance.merges import submit_merge, submit_unmerge
from custmaster.services.imports.jobs import Upload, job_rows, run_job, submit_job
from custmaster.services.imports.store import ImportOptions
from custmaster.services.imports.store import Outcome as RowOutcome
from custmaster.services.imports.templates import shipped_templates
from custmaster.services.ports import UnitOfWork
from custmaster.services.structure import hierarchies
from custmaster.services.structure.governed import submit as submit_structure

PROPOSE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="a new unique value (e.g. a UUID) for "
        "each intended change; send the same value again only to retry this very call",
    ),
]
ExpectedVersion = Annotated[
    int | None,
    Field(
        ge=1,
        description="the version get_customer returned; the change is refused if "
        "the record changed since (omit to skip the check)",
    ),
]
#: how many failed rows of an import validation are returned
ROW_SAMPLE = 50


def _warnings(warnings: list[ChangeWarning]) -> list[dict[str, Any]]:
    return [jsonable(w.as_dict()) for w in warnings]


def pending(request: ChangeRequest, warnings: list[ChangeWarning]) -> dict[str, Any]:
    """The answer of a change waiting for approval."""
    data = request.as_dict()
    proposed: Mapping[str, Any] = data["change"]["payload"].get("proposed", {})
    base = data["change"]["base_values"]
    diff = [
        {"field": f, "before": base.get(f), "after": proposed.get(f)}
        for f in data["change"]["fields"]
    ]
    roles = " then ".join(step["role"] for step in data["steps"])
    request_body = {
        key: data[key]
        for key in (
            "id",
            "operation",
            "customer_id",
            "lane",
            "status",
            "reasons",
            "entities",
            "steps",
        )
    }
    return json_body(
        {
            "outcome": "pending_approval",
            "change_request": {**request_body, "diff": diff},
            "warnings": _warnings(warnings),
            "next": f"waiting for approval by {roles}; people decide it in custmaster (this agent "
            "cannot). Follow it with get_change_request.",
        }
    )


def outcome_body(outcome: Outcome) -> dict[str, Any]:
    if outcome.request is not None:
        return pending(outcome.request, outcome.warnings)
    if outcome.result is None:
        return {"outcome": "applied"}
    customer = outcome.result.snapshot or snapshot(outcome.result.customer)
    return {
        "outcome": "applied",
        "customer": jsonable(customer),
        "warnings": _warnings(outcome.result.warnings),
    }


def register(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the proposal tools to ``server``."""
    container = runtime.container
    settings = container.service_settings

    @server.tool(annotations=PROPOSE)
    async def propose_create_customer(
        customer: Annotated[
            CustomerCreate,
            Field(
                description="the new customer; codes (owning_entity, payment_terms, currency, "
                "...) must exist (lookup_reference); overrides: legal entity -> fields"
            ),
        ],
        idempotency_key: IdempotencyKey,
        ctx: Context,
    ) -> CallToolResult:
        """Propose a new customer (organization or person) with its addresses, contacts,
        pricing tiers, tax profiles and per-legal-entity overrides. Under the approval
        policy it either applies at once (outcome applied, with the customer) or waits
        for people to approve it (outcome pending_approval, with the change request's
        id, lane, steps and diff). Run match_record first to avoid a duplicate;
        warnings (e.g. a similar customer exists) never block."""
        data = customer.model_dump(mode="json", exclude_unset=True)

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return outcome_body(create_customer(uow, actor, container.policy, data, settings))

        return await runtime.propose(
            ctx,
            "propose_create_customer",
            {"customer": data},
            idempotency_key,
            work,
            argument="customer",
        )

    @server.tool(annotations=PROPOSE)
    async def propose_update_customer(
        customer_id: CustomerId,
        changes: Annotated[
            CustomerPatch,
            Field(
                description="fields present change, absent ones stay, null clears an optional "
                'field; child records by action lists: {"addresses": [{"action": "add", '
                '...}, {"action": "update", "id": ..., ...}, {"action": "delete", '
                '"id": ...}]}; overrides: [{"action": "add", "entity": "DE01", ...}]'
            ),
        ],
        idempotency_key: IdempotencyKey,
        ctx: Context,
        expected_version: ExpectedVersion = None,
    ) -> CallToolResult:
        """Propose changes to a customer: master fields, child records and legal-entity
        overrides in one all-or-nothing change. Answers applied (with the customer) or
        pending_approval (with the change request). A user scoped to legal entities
        changes only those entities' overrides; finance fields (credit_limit,
        payment_terms, ...) need a finance role."""
        data = changes.model_dump(mode="json", exclude_unset=True)

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            return outcome_body(
                update_customer(
                    uow,
                    actor,
                    container.policy,
                    customer_id,
                    data,
                    settings,
                    expected_version=expected_version,
                )
            )

        arguments = {
            "customer_id": str(customer_id),
            "changes": data,
            "expected_version": expected_version,
        }
        return await runtime.propose(
            ctx, "propose_update_customer", arguments, idempotency_key, work, argument="changes"
        )

    def lifecycle(name: str, operation: Operation, summary: str) -> None:
        async def propose_status(
            customer_id: CustomerId,
            idempotency_key: IdempotencyKey,
            ctx: Context,
            expected_version: ExpectedVersion = None,
        ) -> CallToolResult:
            def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
                return outcome_body(
                    change_lifecycle(
                        uow,
                        actor,
                        container.policy,
                        operation,
                        customer_id,
                        expected_version=expected_version,
                    )
                )

            arguments = {"customer_id": str(customer_id), "expected_version": expected_version}
            return await runtime.propose(ctx, name, arguments, idempotency_key, work)

        server.tool(name=name, description=summary, annotations=PROPOSE)(propose_status)

    lifecycle(
        "propose_deactivate_customer",
        Operation.DEACTIVATE,
        "Propose to deactivate a customer (a soft delete: hidden from default searches, "
        "everything kept, reversible with propose_reactivate_customer). Answers applied or "
        "pending_approval with the change request.",
    )
    lifecycle(
        "propose_reactivate_customer",
        Operation.REACTIVATE,
        "Propose to reactivate a deactivated customer. Answers applied or pending_approval "
        "with the change request.",
    )

    @server.tool(annotations=PROPOSE)
    async def propose_merge(
        survivor_id: Annotated[UUID, Field(description="the customer that stays")],
        absorbed_ids: Annotated[
            list[UUID],
            Field(min_length=1, max_length=50, description="the duplicates merged into it"),
        ],
        idempotency_key: IdempotencyKey,
        ctx: Context,
        choices: Annotated[
            dict[str, dict[str, Any]] | None,
            Field(
                description='per field, which value survives: {"email": {"from": "<customer '
                'id>"}} or {"notes": {"value": "..."}}; default: the survivorship rules'
            ),
        ] = None,
        expected_version: ExpectedVersion = None,
    ) -> CallToolResult:
        """Propose merging duplicate customers into one (e.g. a cluster of
        list_duplicates). The absorbed records' ids keep pointing at the survivor; a merge
        can be undone with propose_unmerge. Answers applied (with merge_id and the
        survivor) or pending_approval with the change request."""
        picked = jsonable(choices or {})

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            outcome = submit_merge(
                uow,
                actor,
                container.policy,
                survivor_id,
                absorbed_ids,
                picked,
                expected_version=expected_version,
            )
            if outcome.request is not None:
                return pending(outcome.request, [])
            assert outcome.merge is not None
            merge = outcome.merge
            return json_body(
                {
                    "outcome": "applied",
                    "merge_id": merge.merge_id,
                    "customer": snapshot(merge.customer),
                    "absorbed_ids": merge.absorbed_ids,
                    "warnings": _warnings(merge.warnings),
                }
            )

        arguments = {
            "survivor_id": str(survivor_id),
            "absorbed_ids": jsonable(absorbed_ids),
            "choices": picked,
            "expected_version": expected_version,
        }
        return await runtime.propose(
            ctx, "propose_merge", arguments, idempotency_key, work, argument="choices"
        )

    @server.tool(annotations=PROPOSE)
    async def propose_unmerge(
        merge_id: Annotated[UUID, Field(description="the merge_id a merge answered with")],
        idempotency_key: IdempotencyKey,
        ctx: Context,
    ) -> CallToolResult:
        """Propose undoing a merge: the absorbed customers come back, later changes to the
        survivor stay. Answers applied or pending_approval with the change request."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            outcome = submit_unmerge(uow, actor, container.policy, merge_id)
            if outcome.request is not None:
                return pending(outcome.request, [])
            assert outcome.unmerge is not None
            done = outcome.unmerge
            return json_body(
                {
                    "outcome": "applied",
                    "merge_id": done.merge_id,
                    "customer": snapshot(done.customer),
                    "restored": [snapshot(c) for c in done.restored],
                }
            )

        return await runtime.propose(
            ctx, "propose_unmerge", {"merge_id": str(merge_id)}, idempotency_key, work
        )

    def structure_change(
        actor: Principal,
        uow: UnitOfWork,
        operation: Operation,
        action: dict[str, Any],
        key: str,
        shape: Callable[[Any], dict[str, Any]],
    ) -> dict[str, Any]:
        """Submit a structure change under the approval policy, as the REST routes do:
        the pending change request, or what the change made (``key``: ``shape(result)``)."""
        outcome = submit_structure(uow, actor, container.policy, operation, action)
        if outcome.request is not None:
            return pending(outcome.request, [])
        return json_body({"outcome": "applied", key: shape(outcome.result)})

    @server.tool(annotations=PROPOSE)
    async def propose_hierarchy_link(
        parent_id: Annotated[UUID, Field(description="the parent customer")],
        child_id: Annotated[UUID, Field(description="the customer placed under it")],
        valid_from: Annotated[date, Field(description="first day of the link (YYYY-MM-DD)")],
        idempotency_key: IdempotencyKey,
        ctx: Context,
        hierarchy_type: HierarchyType = "legal",
        valid_to: Annotated[
            date | None, Field(description="the day the link ends (exclusive); omit for open-ended")
        ] = None,
    ) -> CallToolResult:
        """Link a customer under a parent in a hierarchy for a period (no cycles, one
        parent of a type at a time). Runs through the same service as the REST API and
        answers with the link it made."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            action = {
                "hierarchy_type": hierarchy_type,
                "parent_id": str(parent_id),
                "child_id": str(child_id),
                "valid_from": valid_from.isoformat(),
                "valid_to": valid_to.isoformat() if valid_to else None,
            }
            return structure_change(
                actor, uow, Operation.HIERARCHY_LINK, action, "link", hierarchies.link_dict
            )

        arguments = jsonable(
            {
                "parent_id": parent_id,
                "child_id": child_id,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "hierarchy_type": hierarchy_type,
            }
        )
        return await runtime.propose(
            ctx, "propose_hierarchy_link", arguments, idempotency_key, work
        )

    @server.tool(annotations=PROPOSE)
    async def propose_hierarchy_move(
        customer_id: CustomerId,
        effective_date: Annotated[date, Field(description="the move's first day")],
        idempotency_key: IdempotencyKey,
        ctx: Context,
        new_parent_id: Annotated[
            UUID | None, Field(description="the new parent; omit or null to detach the customer")
        ] = None,
        hierarchy_type: HierarchyType = "legal",
    ) -> CallToolResult:
        """Move a customer and its subtree under a new parent from a date (reads before
        that date keep the old structure). Answers with the link changes made."""

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            action = {
                "hierarchy_type": hierarchy_type,
                "customer_id": str(customer_id),
                "new_parent_id": str(new_parent_id) if new_parent_id else None,
                "effective_date": effective_date.isoformat(),
            }
            return structure_change(
                actor, uow, Operation.HIERARCHY_MOVE, action, "move", hierarchies.move_dict
            )

        arguments = jsonable(
            {
                "customer_id": customer_id,
                "effective_date": effective_date,
                "new_parent_id": new_parent_id,
                "hierarchy_type": hierarchy_type,
            }
        )
        return await runtime.propose(
            ctx, "propose_hierarchy_move", arguments, idempotency_key, work
        )

    templates = ", ".join(sorted(shipped_templates()))

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
        description=(
            "Validate an import file without importing anything: every record is read "
            "through the template, validated like a proposal and checked for duplicates; "
            "the answer counts the outcomes and lists the failing rows with their field "
            f"errors. Templates shipped: {templates}. Nothing in the master changes (the "
            "validation report is kept as a validate-only import job)."
        ),
    )
    async def validate_import_file(
        template: Annotated[
            str,
            Field(
                min_length=1,
                max_length=255,
                description="a shipped template's name (see the tool's description)",
            ),
        ],
        filename: Annotated[
            str,
            Field(min_length=1, max_length=255, description="the file's name, e.g. accounts.csv"),
        ],
        content: Annotated[
            str, Field(min_length=1, max_length=5_000_000, description="the file's text (CSV)")
        ],
        ctx: Context,
        entity: Annotated[
            str | None,
            Field(
                max_length=64,
                description=(
                    "the legal entity the file's records belong to, if the template needs one"
                ),
            ),
        ] = None,
    ) -> CallToolResult:
        raw = content.encode("utf-8")

        def work(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            options = ImportOptions(validate_only=True, entity=entity)
            job = submit_job(
                uow,
                actor,
                template=template,
                uploads=[Upload(filename, io.BytesIO(raw))],
                options=options,
                files=runtime.files,
            )
            done = run_job(runtime.container.uow, job.id, settings, files=runtime.files)
            failed = job_rows(
                runtime.container.uow(),
                actor,
                job.id,
                limit=ROW_SAMPLE,
                outcomes=[RowOutcome.FAILED],
            )
            rows = [
                {
                    "record": r.seq,
                    "rows": r.row_numbers,
                    "source_id": r.source_id,
                    "errors": r.errors,
                    "warnings": r.warnings,
                }
                for r in failed
            ]
            return json_body(
                {
                    "job_id": done.id,
                    "status": done.status,
                    "summary": done.summary,
                    "failed_rows": rows,
                    "failed_rows_shown": len(rows),
                }
            )

        return await runtime.run(ctx, work)
