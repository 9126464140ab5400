"""Function-level authorisation of the HTTP API: the permission each route needs.

One table, keyed by ``"METHOD /path"`` as the route is declared, says which permission
a caller must hold (any one of the set) before the route looks at anything else: before
its body is validated and before the object it names is looked up, so a caller without
the permission learns neither the request schema's verdict nor whether the object
exists. :data:`PUBLIC` routes need no credentials; :data:`AUTHENTICATED` ones any
authenticated caller (the service then decides, e.g. only a request's submitter may
withdraw it).

The services still check the same permissions (:mod:`custmaster.domain.permissions`,
the matrix), and the entity scope, the finance fields and the approval rules, which
depend on the data; this table is the first, data-independent line, and the security
suite (``tests/security``) reads it to derive what every role must get from every
route. A route missing here is checked only by its service, and that suite fails
until the route is declared.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from custmaster.api.deps import bearer, principal
from custmaster.domain.approvals import Operation
from custmaster.domain.approvals.submission import SUBMIT_PERMISSIONS
from custmaster.domain.permissions import Permission, require_any
from custmaster.web.route_permissions import is_console

_log = logging.getLogger(__name__)
_P = Permission

#: Needs no credentials.
PUBLIC: frozenset[Permission] | None = None
#: Needs an authenticated caller, no particular permission.
AUTHENTICATED: frozenset[Permission] = frozenset()

_READ = frozenset({_P.CUSTOMER_READ})
_UPDATE = frozenset({_P.CUSTOMER_UPDATE})
_REF_READ = frozenset({_P.REFERENCE_READ})
_REF_MANAGE = frozenset({_P.REFERENCE_MANAGE})
_SUBMIT = SUBMIT_PERMISSIONS  # routes that submit an operation under the approval policy
_O = Operation
_IMPORT_SEE = frozenset({_P.IMPORT_SUBMIT, _P.IMPORT_APPROVE})


def _crud(
    prefix: str, read: frozenset[Permission], manage: frozenset[Permission], key: str = "code"
) -> dict[str, frozenset[Permission]]:
    """A collection with create, list, read, change and delete."""
    return {
        f"POST {prefix}": manage,
        f"GET {prefix}": read,
        f"GET {prefix}/{{{key}}}": read,
        f"PATCH {prefix}/{{{key}}}": manage,
        f"DELETE {prefix}/{{{key}}}": manage,
    }


_REFERENCE_COLLECTIONS = (
    "legal-entities",
    "payment-terms",
    "payment-methods",
    "customer-groups",
    "tax-codes",
    "industries",
    "dimension-types",
    "name-affixes",
    "sales-organisations",
    "revenue-accounts",
    "account-tiers",
)

_V1 = "/api/v1"
_CUSTOMER = f"{_V1}/customers/{{customer_id}}"

#: ``"METHOD /path"`` -> the permissions of which the caller needs one.
ROUTE_PERMISSIONS: Mapping[str, frozenset[Permission] | None] = {
    "GET /health": PUBLIC,
    # customers
    f"POST {_V1}/customers": _SUBMIT[_O.CREATE],
    f"GET {_V1}/customers": _READ,
    f"GET {_CUSTOMER}": _READ,
    f"PATCH {_CUSTOMER}": _SUBMIT[_O.UPDATE],
    f"POST {_CUSTOMER}/deactivate": _SUBMIT[_O.DEACTIVATE],
    f"POST {_CUSTOMER}/reactivate": _SUBMIT[_O.REACTIVATE],
    f"DELETE {_CUSTOMER}": _SUBMIT[_O.HARD_DELETE],
    f"GET {_CUSTOMER}/history": frozenset({_P.AUDIT_READ}),
    f"GET {_CUSTOMER}/personal-data": frozenset({_P.PERSONAL_DATA_EXPORT}),
    f"GET {_CUSTOMER}/contacts/{{contact_id}}/personal-data": frozenset({_P.PERSONAL_DATA_EXPORT}),
    f"POST {_CUSTOMER}/erase": _SUBMIT[_O.ERASE_PERSONAL_DATA],
    f"POST {_CUSTOMER}/contacts/{{contact_id}}/erase": _SUBMIT[_O.ERASE_PERSONAL_DATA],
    # reference data
    **{
        route: permissions
        for collection in _REFERENCE_COLLECTIONS
        for route, permissions in _crud(f"{_V1}/{collection}", _REF_READ, _REF_MANAGE).items()
    },
    f"GET {_V1}/payment-terms/{{code}}/schedule": _REF_READ,
    f"PUT {_V1}/payment-terms/{{code}}/schedule": _REF_MANAGE,
    f"DELETE {_V1}/payment-terms/{{code}}/schedule": _REF_MANAGE,
    **_crud(f"{_V1}/customer-templates", _REF_READ, _REF_MANAGE, key="name"),
    f"POST {_V1}/customer-templates/{{name}}/customers": _SUBMIT[_O.CREATE],
    # feeds and exports
    f"GET {_V1}/events": _READ,
    f"GET {_V1}/relay/status": frozenset({_P.USER_MANAGE}),  # operators
    f"GET {_V1}/exports/customers": _READ,
    # imports
    f"POST {_V1}/imports": _SUBMIT[_O.BULK_IMPORT],
    f"GET {_V1}/imports": _IMPORT_SEE,
    f"GET {_V1}/imports/{{job_id}}": _IMPORT_SEE,
    f"POST {_V1}/imports/{{job_id}}/approve": frozenset({_P.IMPORT_APPROVE}),
    f"POST {_V1}/imports/{{job_id}}/reject": frozenset({_P.IMPORT_APPROVE}),
    f"POST {_V1}/imports/{{job_id}}/resume": frozenset({_P.IMPORT_SUBMIT}),
    f"GET {_V1}/imports/{{job_id}}/rows": _IMPORT_SEE,
    f"GET {_V1}/imports/{{job_id}}/rows.csv": _IMPORT_SEE,
    f"GET {_V1}/imports/{{job_id}}/drafts": _IMPORT_SEE,
    # change requests
    f"GET {_V1}/change-requests": frozenset({_P.CHANGEREQUEST_READ}),
    f"GET {_V1}/change-requests/{{request_id}}": frozenset({_P.CHANGEREQUEST_READ}),
    f"POST {_V1}/change-requests/{{request_id}}/approve": frozenset({_P.CHANGEREQUEST_APPROVE}),
    f"POST {_V1}/change-requests/{{request_id}}/reject": frozenset({_P.CHANGEREQUEST_APPROVE}),
    # the submitter only: decided by the service
    f"POST {_V1}/change-requests/{{request_id}}/withdraw": AUTHENTICATED,
    # matching, duplicates, merges, cross-references
    f"POST {_V1}/match": _READ,
    f"GET {_V1}/duplicates": _READ,
    f"GET {_V1}/duplicates/{{cluster_id}}": _READ,
    f"POST {_V1}/duplicates/{{cluster_id}}/decision": frozenset({_P.MERGE_PROPOSE}),
    f"POST {_CUSTOMER}/merge": _SUBMIT[_O.MERGE],
    f"GET {_V1}/merges/{{merge_id}}": _READ,
    f"POST {_V1}/merges/{{merge_id}}/unmerge": _SUBMIT[_O.UNMERGE],
    f"GET {_V1}/xrefs/{{source_system}}/{{source_id}}": _READ,
    f"GET {_V1}/xrefs/{{source_system}}/{{source_id:path}}": _READ,
    f"GET {_CUSTOMER}/xrefs": _READ,
    f"GET {_V1}/clusters/export": _READ,
    f"POST {_V1}/match/models": frozenset({_P.MERGE_PROPOSE}),
    f"GET {_V1}/match/models": _READ,
    f"GET {_V1}/match/models/{{version}}": _READ,
    # source records
    f"GET {_CUSTOMER}/sources": _READ,
    # hierarchies
    f"GET {_V1}/hierarchy-types": _REF_READ,
    f"POST {_V1}/hierarchies/{{hierarchy_type}}/links": _SUBMIT[_O.HIERARCHY_LINK],
    f"POST {_V1}/hierarchies/{{hierarchy_type}}/links/{{link_id}}/end": _SUBMIT[_O.HIERARCHY_END],
    f"DELETE {_V1}/hierarchies/{{hierarchy_type}}/links/{{link_id}}": _SUBMIT[_O.HIERARCHY_END],
    f"GET {_V1}/hierarchies/{{hierarchy_type}}/flat": _READ,
    f"GET {_CUSTOMER}/hierarchies/{{hierarchy_type}}": _READ,
    f"GET {_CUSTOMER}/hierarchies/{{hierarchy_type}}/links": _READ,
    f"POST {_CUSTOMER}/hierarchies/{{hierarchy_type}}/move": _SUBMIT[_O.HIERARCHY_MOVE],
    f"GET {_CUSTOMER}/rollup": _READ,
    # relationships
    f"GET {_V1}/relationship-types": _REF_READ,
    f"POST {_V1}/relationship-types": _REF_MANAGE,
    f"DELETE {_V1}/relationship-types/{{code}}": _REF_MANAGE,
    f"POST {_V1}/relationships": _SUBMIT[_O.RELATIONSHIP_CREATE],
    f"GET {_V1}/relationships/{{relationship_id}}": _READ,
    f"POST {_V1}/relationships/{{relationship_id}}/end": _SUBMIT[_O.RELATIONSHIP_END],
    f"DELETE {_V1}/relationships/{{relationship_id}}": _SUBMIT[_O.RELATIONSHIP_END],
    f"GET {_CUSTOMER}/relationships": _READ,
    # organisation units and account teams
    **_crud(f"{_V1}/org-units", _REF_READ, _REF_MANAGE),
    f"POST {_V1}/org-units/{{code}}/customers": _SUBMIT[_O.ORG_UNIT_ASSIGNMENT],
    f"GET {_V1}/org-units/{{code}}/assignments": _READ,
    f"DELETE {_V1}/org-unit-assignments/{{assignment_id}}": _SUBMIT[_O.ORG_UNIT_ASSIGNMENT],
    f"POST {_V1}/team-assignments": _SUBMIT[_O.TEAM_ASSIGNMENT],
    f"DELETE {_V1}/team-assignments/{{assignment_id}}": _SUBMIT[_O.TEAM_ASSIGNMENT],
    f"GET {_CUSTOMER}/org-assignments": _READ,
    f"GET {_CUSTOMER}/account-team": _READ,
    # account settings
    **{
        f"{method} {_CUSTOMER}/{setting}": permissions
        for setting in ("operating-hours", "visit-settings")
        for method, permissions in (("GET", _READ), ("PUT", _UPDATE), ("DELETE", _UPDATE))
    },
    f"POST {_CUSTOMER}/contacts/{{contact_id}}/participations": _SUBMIT[_O.UPDATE],
    # integration hub: webhooks (the owner's own; it receives what it may read)
    f"POST {_V1}/webhooks": _READ,
    f"GET {_V1}/webhooks": _READ,
    f"GET {_V1}/webhooks/{{webhook_id}}": _READ,
    f"PATCH {_V1}/webhooks/{{webhook_id}}": _READ,
    f"DELETE {_V1}/webhooks/{{webhook_id}}": _READ,
    f"POST {_V1}/webhooks/{{webhook_id}}/rotate-secret": _READ,
    f"GET {_V1}/webhooks/{{webhook_id}}/deliveries": _READ,
    f"GET {_V1}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}": _READ,
    f"POST {_V1}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver": _READ,
    # integration hub: outbound sync and inbound changes
    f"GET {_V1}/sync/targets": frozenset({_P.INTEGRATION_MANAGE}),
    f"GET {_V1}/sync/targets/{{target}}": frozenset({_P.INTEGRATION_MANAGE}),
    f"POST {_V1}/sync/targets/{{target}}/pause": frozenset({_P.INTEGRATION_MANAGE}),
    f"POST {_V1}/sync/targets/{{target}}/resume": frozenset({_P.INTEGRATION_MANAGE}),
    f"GET {_V1}/sync/targets/{{target}}/dead-letters": frozenset({_P.INTEGRATION_MANAGE}),
    f"POST {_V1}/inbound/{{system}}": _SUBMIT[_O.CREATE] | _SUBMIT[_O.UPDATE],
    # segment queries, saved segments (changed by their creator or an admin), profile
    # rules (new versions under the approval policy), affinity
    f"POST {_V1}/customers/query": _READ,
    f"GET {_CUSTOMER}/affinity": _READ,
    f"GET {_V1}/segments": _READ,
    f"POST {_V1}/segments": _READ,
    f"GET {_V1}/segments/{{segment_id}}": _READ,
    f"PATCH {_V1}/segments/{{segment_id}}": _READ,
    f"DELETE {_V1}/segments/{{segment_id}}": _READ,
    f"GET {_V1}/segments/{{segment_id}}/customers": _READ,
    f"GET {_V1}/profile-rules": _READ,
    f"GET {_V1}/profile-rules/{{version}}": _READ,
    f"POST {_V1}/profile-rules": _SUBMIT[_O.PROFILE_RULES_CHANGE],
    # activity intake and the living profile
    f"POST {_V1}/activities": frozenset({_P.ACTIVITY_WRITE}),
    f"GET {_V1}/activities/dead-letters": frozenset({_P.ACTIVITY_WRITE}),
    f"POST {_V1}/activities/dead-letters/{{letter_id}}/replay": frozenset({_P.ACTIVITY_WRITE}),
    f"GET {_CUSTOMER}/profile": _READ,
    f"GET {_CUSTOMER}/kpis": _READ,
    f"GET {_CUSTOMER}/receivables": _READ,
    f"GET {_CUSTOMER}/sales": _READ,
    f"POST {_CUSTOMER}/credit-check": _READ,
}


def route_key(method: str, path: str) -> str:
    """The key of a route in :data:`ROUTE_PERMISSIONS`."""
    return f"{method.upper()} {path}"


def is_declared(method: str, path: str) -> bool:
    return route_key(method, path) in ROUTE_PERMISSIONS


def permissions_for(method: str, path: str) -> frozenset[Permission] | None:
    """The permissions of which a caller of the route needs one (empty: any
    authenticated caller; None: public or undeclared)."""
    return ROUTE_PERMISSIONS.get(route_key(method, path))


async def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """The route's function-level check (a dependency of every route, resolved before
    the route's own parameters and body are validated)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return
    key = route_key(request.method, path)
    if is_console(key):  # the console's own check (session cookie): web.auth
        return
    if key not in ROUTE_PERMISSIONS:
        _log.warning("route %s declares no permission in api.route_permissions", key)
        return
    needed = ROUTE_PERMISSIONS[key]
    if needed is PUBLIC:
        return
    actor = await principal(request, credentials)
    if needed:
        require_any(actor, needed)
