"""The tool groups a server is built from: the seam where new capabilities plug in.

A group is a function ``register(server, runtime)`` that adds tools (and resources or
prompts) to the server. Its tools call service functions through ``runtime.run`` (reads)
or ``runtime.propose`` (changes, under the approval policy and an idempotency key), so
authentication, the acting principal (marked as an agent), entity scopes, structured
refusals and paging work the same for every group.

The living profile (issue 19) is ``custmaster.agents.profile.register``: a query tool
over the segment expression language whose type errors come back as refusals
(``errors[].field = "expression"``, the position in the message); the 360 profile of a
customer (scores with their explanations and next-best actions included); affinity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

from custmaster.agents import profile, prompts, proposals, reads, resources
from custmaster.agents.runtime import Runtime

ToolGroup = Callable[[MCPServer[Any], Runtime], None]

#: every server's groups, in the order their tools are listed
DEFAULT_GROUPS: tuple[ToolGroup, ...] = (
    reads.register,
    proposals.register,
    profile.register,
    resources.register,
    prompts.register,
)
