"""Test helpers: profile rows and scores written straight into their tables (activity
intake, which writes them in the product, is another capability)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, insert

from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.profile_wide import refresh
from custmaster.persistence.tables_profile import profile_features


def put_profile(
    engine: Engine, customer_id: UUID | str, entity: str = "*", **features: Any
) -> None:
    """One profile row (features not given are missing), and its read row."""
    unknown = set(features) - set(PROFILE_FEATURES)
    assert not unknown, f"not features: {unknown}"
    row = {name: features.get(name) for name in PROFILE_FEATURES}
    with engine.begin() as connection:
        connection.execute(
            insert(profile_features).values(
                customer_id=UUID(str(customer_id)),
                legal_entity=entity,
                updated_at=datetime.now(UTC),
                **row,
            )
        )
        refresh(connection, [UUID(str(customer_id))])
