"""The seam for the living profile (issue 19) on the customer page.

``profile_panel`` is what the customer page asks for the profile of the customer in the
entity shown; the page renders ``templates/profile_panel.html`` with it when it is not
None. Today no profile service exists, so it answers None and the page shows nothing.
When the profile service lands, this function calls it (with the signed-in principal,
so its scope rules apply) and returns its features, e.g.
``{"features": [{"label": "Revenue, 12 months", "value": "..."}], "as_of": ...}``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Principal
from custmaster.services.ports import UnitOfWork


def profile_panel(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, entity: str | None
) -> dict[str, Any] | None:
    """The living profile's panel for the customer page; None while there is no profile
    service (the page then leaves the panel out)."""
    return None
