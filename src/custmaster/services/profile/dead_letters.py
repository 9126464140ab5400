"""The dead-letter list of activity events: listed and replayed through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from custmaster.domain import activity as a
from custmaster.domain.errors import Conflict, NotFound
from custmaster.domain.permissions import Permission, Principal
from custmaster.services.governance.access import may_see_entity, require_permission
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.intake import DEAD_LETTER, Outcome, apply_events
from custmaster.services.profile.ports import DeadLetter

STATUSES = ("open", "replayed")


def list_dead_letters(
    uow: UnitOfWork,
    actor: Principal,
    *,
    status: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[DeadLetter]:
    """Dead letters oldest first; a scoped sender sees only its entities' letters."""
    require_permission(actor, Permission.ACTIVITY_WRITE)
    with uow.read_only():
        return uow.activity.list_dead_letters(
            status=status, entities=actor.entities, after=after, limit=limit
        )


def _visible(actor: Principal, letter: DeadLetter | None) -> DeadLetter:
    if letter is None or (
        actor.entities is not None
        and (letter.legal_entity is None or not may_see_entity(actor, letter.legal_entity))
    ):
        raise NotFound("no such dead letter")
    return letter


def replay(
    uow: UnitOfWork, actor: Principal, letter_id: UUID, config: ProfileConfig
) -> tuple[DeadLetter, Outcome]:
    """Apply a dead letter's event again (e.g. once its cross-reference exists). Applied
    (or found applied already): the letter is marked replayed. Its customer still
    unknown: ``Conflict``, and the letter stays open with one attempt more."""
    require_permission(actor, Permission.ACTIVITY_WRITE)
    now = datetime.now(UTC)
    with uow:
        letter = _visible(actor, uow.activity.get_dead_letter(letter_id, for_update=True))
        if letter.status != "open":
            raise Conflict(f"dead letter {letter_id} was replayed already")
        event = a.parse_envelope(letter.envelope)
        [outcome] = apply_events(
            uow, [event], config, channel=letter.channel, now=now, dead_letter_unknown=False
        )
        if outcome.status == DEAD_LETTER:
            uow.activity.update_dead_letter(letter.id, attempts=letter.attempts + 1)
        else:
            uow.activity.update_dead_letter(letter.id, status="replayed", replayed_at=now)
    if outcome.status == DEAD_LETTER:
        raise Conflict(f"cannot replay {letter.event_id}: {outcome.reason}")
    with uow.read_only():
        return _visible(actor, uow.activity.get_dead_letter(letter_id)), outcome
