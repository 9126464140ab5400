"""The seam between the profile's writers and its readers.

Every writer of ``profile_features`` (activity intake, dead-letter replay, the rebuild's
reference path) calls :func:`features_changed` with the customers whose rows it has just
written (all of a batch at once), inside the same unit of work, and adds the events it
returns to the outbox. The set-based rebuild (PostgreSQL) writes the same scores and
events in SQL instead (``persistence/profile_scoring_sql.py``, held equal to
``scoring.score_customers`` by ``tests/persistence/test_profile_scoring_sql.py``).
Re-scoring (health, churn, tier, segments, next-best actions) plugs in here: it reads
the customer's fresh rows through ``uow`` and returns the events of what changed (a
band, a tier, an action), so scores commit together with the activity that moved them.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from custmaster.domain.events import CloudEvent
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.scoring import score_customers


def features_changed(uow: UnitOfWork, customer_ids: Iterable[UUID]) -> list[CloudEvent]:
    """Called after the profile rows of ``customer_ids`` were written in ``uow``'s
    transaction (once per customer per write: a batch passes all its customers at once);
    returns the events to add to the outbox: the re-scoring's (a changed health band,
    churn band, tier, segment or next-best action), with the active profile rules."""
    return score_customers(uow, customer_ids)
