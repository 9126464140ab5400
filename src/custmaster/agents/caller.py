"""Who a tool call acts for.

Over stdio the server acts as the user whose API key it was started with; over HTTP each
request carries its own bearer token, which ``agents.http`` verifies and leaves in the
request's state. Either way the principal is the user's own (roles, entity scope) marked
as an agent (``via="mcp"``, its name suffixed): the audit trail and change requests show
that the change came through an agent, and the approval rules refuse it as an approver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custmaster.domain.errors import Unauthenticated
from custmaster.domain.permissions import Principal

AGENT_CHANNEL = "mcp"
#: the key under which ``agents.http`` leaves the verified principal in the ASGI state
STATE_KEY = "custmaster.principal"


def as_agent(principal: Principal) -> Principal:
    """The user's principal as an agent acting for them."""
    return principal.through(AGENT_CHANNEL)


def request_principal(request: Any) -> Principal | None:
    """The principal ``agents.http`` verified for this HTTP request (None: none)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    found = (scope.get("state") or {}).get(STATE_KEY)
    return found if isinstance(found, Principal) else None


@dataclass(frozen=True)
class Caller:
    """Resolves the acting principal of a call: the request's (HTTP), else ``fixed``
    (stdio, in-process)."""

    fixed: Principal | None = None

    def principal(self, request: Any) -> Principal:
        found = request_principal(request) if request is not None else None
        if found is None:
            found = self.fixed
        if found is None:
            raise Unauthenticated("send Authorization: Bearer <API key or token>")
        return as_agent(found)
