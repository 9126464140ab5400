"""The sellable rule of contacts.

A contact becomes *sellable* the first time it takes part in a quote or an order, and
stays sellable from then on: no later event, and no other kind of event (a service case,
a newsletter, a visit), ever sets it back to false.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime

from custmaster.domain.errors import FieldError, ValidationFailed

SELLABLE_EVENT_KINDS: frozenset[str] = frozenset({"quote", "order"})


@dataclass(frozen=True, slots=True)
class ContactState:
    """What the sellable rule knows of a contact."""

    sellable: bool = False
    sellable_since: datetime | None = None
    sellable_by: str | None = None
    """The event kind that made the contact sellable."""


def mark_participation(
    state: ContactState,
    event_kind: str,
    at: datetime | None = None,
    *,
    sellable_kinds: Set[str] = SELLABLE_EVENT_KINDS,
) -> ContactState:
    """The contact's state after taking part in an event of ``event_kind``.

    Kinds are compared case-insensitively. Returns ``state`` itself when nothing changes
    (already sellable, or another kind of event), so ``new is not state`` tells the
    caller there is something to store.

    Example:
        >>> mark_participation(ContactState(), "order").sellable
        True
        >>> mark_participation(ContactState(), "service_case").sellable
        False
    """
    kind = event_kind.strip().lower() if isinstance(event_kind, str) else ""
    if not kind:
        raise ValidationFailed(
            [FieldError("event_kind", "required", "the event kind must not be empty")]
        )
    if state.sellable or kind not in sellable_kinds:
        return state
    return ContactState(sellable=True, sellable_since=at, sellable_by=kind)


def merge_states(first: ContactState, second: ContactState) -> ContactState:
    """The state of a contact merged from two: sellable if either was, earliest date."""
    sellable = [s for s in (first, second) if s.sellable]
    if not sellable:
        return ContactState()
    dated = [s for s in sellable if s.sellable_since is not None]
    if dated:
        return min(dated, key=lambda s: s.sellable_since or datetime.max)
    return sellable[0]
