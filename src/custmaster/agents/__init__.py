"""The MCP server for AI agents (Model Context Protocol, the official ``mcp`` SDK).

An agent acts as the user whose credentials it holds: every tool call goes through the
same service functions, permission checks and entity scopes as the REST API, and what it
changes is audited under that user, marked as made through an agent (``Principal.via``).
Changes are proposals under the approval policy: a green change applies, anything else
waits for people to approve it. No tool approves, rejects or withdraws, and the domain
refuses an agent's principal as an approver.

Modules: ``server`` builds the server from its tool groups; ``caller`` says who a call
acts for; ``runtime`` runs a service call and shapes its answer or structured refusal;
``reads``, ``proposals``, ``resources`` and ``prompts`` are what an agent sees;
``http`` mounts the streamable HTTP transport on the API; ``groups`` is where further
tool groups (the living profile's queries) are registered.
"""
