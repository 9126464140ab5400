"""Prompts for the common workflows: they walk an assistant through the right tools, in
the right order, and say what it may not do (approve)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from custmaster.agents.runtime import Runtime

_GUARDRAIL = (
    "You act for the signed-in user with their permissions. Every change you make is a "
    "proposal under the approval policy: report the change request id and the steps it "
    "waits for. You can never approve, reject or withdraw a change request; say so if "
    "asked, and name the roles that decide it."
)


def register(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the workflow prompts to ``server``."""

    @server.prompt(title="Onboard a customer")
    def onboard_customer(name: str, entity: str = "", details: str = "") -> str:
        """Create a new customer correctly: check duplicates and reference codes first,
        then propose it and report what happens next."""
        where = f" for legal entity {entity}" if entity else ""
        return (
            f"Onboard the customer '{name}'{where}. Details from the user: {details or '-'}\n"
            "1. Read custmaster://schema/customer and custmaster://approval-policy.\n"
            "2. Call match_record with what you know (name, tax_id, email, address). If a "
            "likely match exists (decision match or review), show it and ask the user "
            "before going on.\n"
            "3. Check every code you will use with lookup_reference (legal_entities, "
            "payment_terms, payment_methods, customer_groups, tax_codes).\n"
            "4. Call propose_create_customer with a new idempotency_key. If it is refused, "
            "fix the fields named in error.errors (use their allowed values) and retry with "
            "the same key only if the arguments are unchanged, else a new key.\n"
            "5. Report the outcome: the customer number if applied, otherwise the change "
            f"request id, lane and approval steps, and any warnings.\n{_GUARDRAIL}"
        )

    @server.prompt(title="Credit review")
    def credit_review(customer_id: str, entity: str = "") -> str:
        """Review a customer's credit terms: current limit and terms per entity, their
        history, the group they belong to; propose a change only if the user asks."""
        view = f" with entity={entity}" if entity else " (and per entity, from its overrides)"
        return (
            f"Review the credit of customer {customer_id}.\n"
            f"1. get_customer{view}: credit_limit, payment_terms, payment_method, currency.\n"
            "2. customer_history: how the limit and terms changed, who changed them and "
            "under which change request.\n"
            "3. customer_hierarchy (legal, view ancestors) and account_team: the group "
            "exposure and who owns the account.\n"
            "4. Summarise the findings and a recommendation. Only when the user asks, call "
            "propose_update_customer (the limit of one entity is an override: "
            '{"overrides": [{"action": "update", "entity": ..., "credit_limit": "..."}]}) '
            "with expected_version from step 1.\n"
            f"{_GUARDRAIL}"
        )

    @server.prompt(title="Duplicate clean-up")
    def duplicate_cleanup(limit: str = "10") -> str:
        """Work through the duplicate review queue: inspect each cluster and propose
        merges for the clear cases."""
        return (
            f"Clean up duplicates: call list_duplicates (status open, limit {limit}).\n"
            "For each cluster: get_customer on its members, compare them with the pairwise "
            "explanations, and decide. For a clear duplicate, call propose_merge with the "
            "cluster's proposed survivor (or the most complete record) as survivor_id and "
            "the others as absorbed_ids, a new idempotency_key each time, and choices only "
            "where a value should come from a specific record. Leave unclear clusters for a "
            "person and say why.\n"
            f"Finish with a table: cluster, survivor, outcome (applied / change request id).\n"
            f"{_GUARDRAIL}"
        )
