"""Building the MCP server: one ``AgentServer`` from the tool groups, for stdio (acting
as one user) or streamable HTTP (each request's own user, see ``agents.http``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from custmaster import __version__
from custmaster.agents.caller import AGENT_CHANNEL, Caller
from custmaster.agents.errors import invalid_arguments, unknown_tool
from custmaster.agents.groups import DEFAULT_GROUPS, ToolGroup
from custmaster.agents.runtime import Runtime, answer, request_of
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError
from custmaster.domain.permissions import Principal
from custmaster.services.customers.read import AsyncCustomerReads

CALLS = logging.getLogger("custmaster.agents.calls")
INSTRUCTIONS = """\
custmaster is the customer master: the one trusted record of every customer of a company \
with several legal entities. You act for the signed-in user, with their permissions and \
legal-entity scope.
Read before you act: custmaster://schema/customer (fields), custmaster://reference/{kind} or \
lookup_reference (the codes fields must name), custmaster://approval-policy (what needs \
whose approval). Find customers with search_customers and read them with get_customer \
(entity= gives a legal entity's effective view).
Every change is a proposal (propose_* tools, each with a new idempotency_key): a green \
change applies at once, anything else returns a pending change request that people \
approve in custmaster. You cannot approve, reject or withdraw change requests.
A refused call answers with error.errors: the argument path of each problem, a code, a \
message and, where the values are a closed set, the allowed values; fix those and retry.
Lists are paged: pass next_cursor back to read the next page."""


class AgentServer(MCPServer[Any]):
    """The SDK's server, with arguments that do not fit a tool's input schema and unknown
    tools answered as structured refusals (the shape of the services' validation errors),
    and every call logged (``custmaster.agents.calls``: tool, user, channel, outcome,
    milliseconds). Changes are in the audit trail besides; reads, as in the REST API, are
    not."""

    caller: Caller = Caller()

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        started = time.perf_counter()
        result = await self._answer(name, arguments, context)
        if CALLS.isEnabledFor(logging.INFO):
            CALLS.info(
                "tool=%s user=%s via=%s outcome=%s ms=%.1f",
                name,
                self._who(context),
                AGENT_CHANNEL,
                _outcome(result),
                (time.perf_counter() - started) * 1e3,
            )
        return result

    async def _answer(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return answer(invalid_arguments(exc.__cause__), error=True)
            if str(exc).startswith("Unknown tool"):
                known = sorted(tool.name for tool in await self.list_tools())
                return answer(unknown_tool(name, known), error=True)
            raise

    def _who(self, context: Context[Any, Any] | None) -> str:
        try:
            return self.caller.principal(request_of(context)).user_id
        except DomainError:
            return "-"


def _outcome(result: CallToolResult | InputRequiredResult) -> str:
    if not isinstance(result, CallToolResult) or not result.is_error:
        return "ok"
    error = (result.structured_content or {}).get("error")
    return f"refused:{error.get('code')}" if isinstance(error, dict) else "error"


def build_server(
    container: Container,
    *,
    principal: Principal | None = None,
    groups: Sequence[ToolGroup] = DEFAULT_GROUPS,
    reads: AsyncCustomerReads | None = None,
) -> AgentServer:
    """The MCP server over ``container``'s services. ``principal``: the user every call
    acts for (stdio, tests); ``None``: each HTTP request's authenticated user.
    ``reads``: point reads for the event loop (PostgreSQL), as the API has them."""
    server = AgentServer(
        "custmaster",
        title="custmaster customer master",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    runtime = Runtime(container, Caller(principal), reads=reads)
    server.caller = runtime.caller
    for register in groups:
        register(server, runtime)
    return server
