"""Function-level authorisation of the steward console: the permission each console page
or form needs, keyed like ``api.route_permissions`` by ``"METHOD /path"``.

The console's routes authenticate with a session cookie, not a bearer token, so they have
their own table; ``api.route_permissions.authorize`` leaves them to
``web.auth.authorize_console``, which reads this one. The security suite
(``tests/security/test_console.py``) reads the console's route table and this mapping, so
a new page is covered (redirect without a session, 403 per role, CSRF on every form)
without anyone adding it to a list. The services still check permissions, entity scope
and approvals on every call: this is the first, data-independent line.
"""

from __future__ import annotations

from collections.abc import Mapping

from custmaster.domain.approvals import Operation
from custmaster.domain.approvals.submission import SUBMIT_PERMISSIONS
from custmaster.domain.permissions import Permission

_P = Permission
_O = Operation

#: Needs no session (the sign-in page and the console's own static files).
PUBLIC: frozenset[Permission] | None = None
#: Needs a session, no particular permission.
SIGNED_IN: frozenset[Permission] = frozenset()

_READ = frozenset({_P.CUSTOMER_READ})
_CR_READ = frozenset({_P.CHANGEREQUEST_READ})
_IMPORT_SEE = frozenset({_P.IMPORT_SUBMIT, _P.IMPORT_APPROVE})

C = "/console"
_CUSTOMER = f"{C}/customers/{{customer_id}}"

#: ``"METHOD /path"`` -> the permissions of which the signed-in user needs one.
CONSOLE_ROUTE_PERMISSIONS: Mapping[str, frozenset[Permission] | None] = {
    f"GET {C}/login": PUBLIC,
    f"POST {C}/login": PUBLIC,
    f"GET {C}/static/{{name}}": PUBLIC,
    f"POST {C}/logout": SIGNED_IN,
    f"GET {C}": SIGNED_IN,
    # search and customers
    f"GET {C}/customers": _READ,
    f"GET {_CUSTOMER}": _READ,
    f"GET {_CUSTOMER}/structure": _READ,
    f"GET {_CUSTOMER}/history": frozenset({_P.AUDIT_READ}),
    f"GET {_CUSTOMER}/edit": SUBMIT_PERMISSIONS[_O.UPDATE],
    f"POST {_CUSTOMER}/edit": SUBMIT_PERMISSIONS[_O.UPDATE],
    # addresses and contacts (an entity's override addresses with ?entity=): PATCH's change
    **{
        f"{method} {_CUSTOMER}/{kind}/{path}": SUBMIT_PERMISSIONS[_O.UPDATE]
        for kind in ("addresses", "contacts")
        for path in ("new", "{record_id}/edit", "{record_id}/remove")
        for method in ("GET", "POST")
    },
    # change requests
    f"GET {C}/inbox": _CR_READ,
    f"GET {C}/change-requests/{{request_id}}": _CR_READ,
    f"POST {C}/change-requests/{{request_id}}/approve": frozenset({_P.CHANGEREQUEST_APPROVE}),
    f"POST {C}/change-requests/{{request_id}}/reject": frozenset({_P.CHANGEREQUEST_APPROVE}),
    f"POST {C}/change-requests/{{request_id}}/withdraw": SIGNED_IN,
    # duplicates and merges
    f"GET {C}/duplicates": _READ,
    f"GET {C}/duplicates/{{cluster_id}}": _READ,
    f"POST {C}/duplicates/{{cluster_id}}/preview": frozenset({_P.MERGE_PROPOSE}),
    f"POST {C}/duplicates/{{cluster_id}}/decision": frozenset({_P.MERGE_PROPOSE}),
    f"GET {C}/merges/{{merge_id}}": _READ,
    f"POST {C}/merges/{{merge_id}}/unmerge": SUBMIT_PERMISSIONS[_O.UNMERGE],
    # imports
    f"GET {C}/imports": _IMPORT_SEE,
    f"POST {C}/imports": SUBMIT_PERMISSIONS[_O.BULK_IMPORT],
    f"GET {C}/imports/{{job_id}}": _IMPORT_SEE,
    f"GET {C}/imports/{{job_id}}/progress": _IMPORT_SEE,
    f"GET {C}/imports/{{job_id}}/errors.csv": _IMPORT_SEE,
    f"POST {C}/imports/{{job_id}}/approve": frozenset({_P.IMPORT_APPROVE}),
    f"POST {C}/imports/{{job_id}}/reject": frozenset({_P.IMPORT_APPROVE}),
    # data quality
    f"GET {C}/quality": _READ,
}


def is_console(key: str) -> bool:
    return key in CONSOLE_ROUTE_PERMISSIONS
