"""Re-check an approved change against the record as it is now.

Values are keyed by field path. ``base`` holds, for every field the request touches,
its value when the request was made; ``current`` the record's values now (at least
those fields); ``proposed`` the request's new values. A field changed meanwhile in
the same paths makes the request conflicted; changes to other fields are kept and
ours applied over them (rebase).

Paths overlap when one is the other or lies below it (``addresses`` and
``addresses[0].city``; ``dimensions`` and ``dimensions.department``): ``current``
entries below or above a touched path are compared against ``base`` the same way, so
pass ``current`` in the same granularity as ``base`` where you can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from custmaster.domain.audit_chain import canonical_json


class RebaseStatus(StrEnum):
    CLEAN = "clean"  # nothing we touch changed meanwhile, nor anything else we know of
    REBASED = "rebased"  # only other fields changed meanwhile: ours apply over them
    CONFLICTED = "conflicted"  # a field we touch changed meanwhile


@dataclass(frozen=True, slots=True)
class RebaseResult:
    status: RebaseStatus
    conflicts: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def conflicted(self) -> bool:
        return self.status is RebaseStatus.CONFLICTED


def same_value(a: Any, b: Any) -> bool:
    """Equal, or equal once canonically serialised (``Decimal('5')`` and ``'5'``)."""
    if a == b:
        return True
    try:
        return canonical_json(a) == canonical_json(b)
    except (TypeError, ValueError):
        return False


def _overlaps(a: str, b: str) -> bool:
    return a == b or b.startswith((a + ".", a + "[")) or a.startswith((b + ".", b + "["))


def rebase(
    base: Mapping[str, Any],
    current: Mapping[str, Any],
    proposed: Mapping[str, Any],
    *,
    base_version: int | None = None,
    current_version: int | None = None,
) -> RebaseResult:
    """Decide conflicted or rebased; ``values`` is ``current`` with ``proposed`` over it.

    A path missing from ``base`` or ``current`` counts as ``None``. A field someone else
    set meanwhile to exactly our proposed value is no conflict. The result is rebased
    when the versions differ, clean when they are equal or unknown.
    """
    merged = {**current, **proposed}
    if base_version is not None and base_version == current_version:
        return RebaseResult(RebaseStatus.CLEAN, (), merged)
    conflicts: list[str] = []
    for path, ours in proposed.items():
        now = current.get(path)
        changed = not same_value(base.get(path), now) and not same_value(now, ours)
        changed = changed or any(
            not same_value(base[other], value)
            for other, value in current.items()
            if other != path and other in base and _overlaps(path, other)
        )
        if changed:
            conflicts.append(path)
    if conflicts:
        return RebaseResult(RebaseStatus.CONFLICTED, tuple(conflicts), {})
    moved = base_version is not None and current_version is not None
    return RebaseResult(RebaseStatus.REBASED if moved else RebaseStatus.CLEAN, (), merged)
