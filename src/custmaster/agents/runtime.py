"""Running a tool call: resolve who acts, call the services in a thread, shape the answer.

Every tool of every group (``agents.reads``, ``agents.proposals``, the living profile's
once it lands) runs its work through :meth:`Runtime.run` or :meth:`Runtime.propose`: the
work gets the acting principal (the user, marked as an agent) and a fresh unit of work,
and calls service functions only. A domain error becomes a structured refusal
(``agents.errors``); the result is a ``CallToolResult`` whose structured content is the
JSON body and whose text is the same JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent

from custmaster.agents.caller import Caller
from custmaster.agents.errors import refusal
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable
from custmaster.services.idempotency import fingerprint, run_idempotent
from custmaster.services.imports.jobs import FileStore, default_file_store
from custmaster.services.ports import StoredResponse, UnitOfWork
from custmaster.services.reference import get_reference, list_reference

#: the work of a call: (acting principal, unit of work) -> JSON body
Work = Callable[[Principal, UnitOfWork], dict[str, Any]]
#: how many reference codes a refusal lists as allowed values
ALLOWED_LIMIT = 100


def answer(body: dict[str, Any], *, error: bool = False) -> CallToolResult:
    text = json.dumps(body, ensure_ascii=False, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=body, is_error=error
    )


def json_body(value: Any) -> dict[str, Any]:
    """``value`` (a mapping of dates, UUIDs, decimals, enums, ...) as a JSON object."""
    body = jsonable(value)
    assert isinstance(body, dict)
    return body


def request_of(ctx: Context | None) -> Any:
    """The HTTP request behind a call (None over stdio and in process)."""
    if ctx is None:
        return None
    try:
        return ctx.request_context.request
    except ValueError:  # no request context: a call from inside the process
        return None


@dataclass(frozen=True)
class Runtime:
    container: Container
    caller: Caller
    #: where import files wait while they are validated
    files: FileStore = field(default_factory=default_file_store)

    def actor(self, ctx: Context | None) -> Principal:
        return self.caller.principal(request_of(ctx))

    async def run(
        self, ctx: Context | None, work: Work, *, argument: str | None = None
    ) -> CallToolResult:
        """Run ``work`` for the caller; ``argument``: the tool argument the services
        validate (refusals name fields under it)."""
        return await to_thread.run_sync(self._run, ctx, work, argument)

    async def propose(
        self,
        ctx: Context | None,
        tool: str,
        arguments: dict[str, Any],
        idempotency_key: str,
        work: Work,
        *,
        argument: str | None = None,
    ) -> CallToolResult:
        """Run a change once per idempotency key: a retried call with the same key and
        arguments gets the first answer; the same key with other arguments is refused."""
        print_ = fingerprint("MCP", f"tools/{tool}", arguments)

        def once(actor: Principal, uow: UnitOfWork) -> dict[str, Any]:
            def produce() -> StoredResponse:
                return StoredResponse(200, work(actor, uow))

            stored = run_idempotent(uow, actor, idempotency_key, print_, produce)
            body: dict[str, Any] = stored.body
            return body

        return await self.run(ctx, once, argument=argument)

    def _run(self, ctx: Context | None, work: Work, argument: str | None) -> CallToolResult:
        actor: Principal | None = None
        try:
            actor = self.actor(ctx)
            return answer(work(actor, self.container.uow()))
        except DomainError as exc:
            return answer(refusal(exc, self._lookup(actor), argument=argument), error=True)

    def _lookup(self, actor: Principal | None) -> Callable[[str, str | None], list[str] | None]:
        def allowed(kind: str, dimension_type: str | None) -> list[str] | None:
            if actor is None:
                return None
            try:
                if dimension_type is not None:
                    record = get_reference(self.container.uow(), actor, kind, dimension_type)
                    return [str(v["code"]) for v in record.get("values", [])]
                records = list_reference(
                    self.container.uow(), actor, kind, after=None, limit=ALLOWED_LIMIT
                )
                return [str(r["code"]) for r in records]
            except DomainError:  # the actor may not read them, or the type is unknown
                return None

        return allowed
