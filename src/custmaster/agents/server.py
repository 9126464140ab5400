"""Building the MCP server: one ``AgentServer`` from the tool groups, for stdio (acting
as one user) or streamable HTTP (each request's own user, see ``agents.http``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from custmaster import __version__
from custmaster.agents.caller import Caller
from custmaster.agents.errors import invalid_arguments
from custmaster.agents.groups import DEFAULT_GROUPS, ToolGroup
from custmaster.agents.runtime import Runtime, answer
from custmaster.bootstrap import Container
from custmaster.domain.permissions import Principal

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
    """The SDK's server, with arguments that do not fit a tool's input schema answered
    as a structured refusal (the same shape as the services' validation errors)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return answer(invalid_arguments(exc.__cause__), error=True)
            raise


def build_server(
    container: Container,
    *,
    principal: Principal | None = None,
    groups: Sequence[ToolGroup] = DEFAULT_GROUPS,
) -> AgentServer:
    """The MCP server over ``container``'s services. ``principal``: the user every call
    acts for (stdio, tests); ``None``: each HTTP request's authenticated user."""
    server = AgentServer(
        "custmaster", title="custmaster customer master", version=__version__,
        instructions=INSTRUCTIONS, log_level="WARNING",
    )  # fmt: skip
    runtime = Runtime(container, Caller(principal))
    for register in groups:
        register(server, runtime)
    return server
