"""The port the certificate check needs; ``persistence.certificates`` implements it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class EndingCertificate:
    """A tax profile (certificate) ending in a window, with its customer."""

    tax_profile_id: UUID
    customer_id: UUID
    number: str
    name: str
    owning_entity: str | None
    tax_code: str
    certificate_number: str | None
    effective_from: date | None
    effective_to: date


@dataclass(frozen=True, slots=True)
class SentNotice:
    """A notice sent: which certificate, for which end date, which notice, when."""

    tax_profile_id: UUID
    customer_id: UUID
    effective_to: date
    notice: str
    sent_on: date
    event_id: UUID
    created_at: datetime


class CertificateRepository(Protocol):
    def lock(self) -> None:
        """Serialise checks (several server processes run the daily check)."""
        ...

    def ending_between(self, first: date, last: date) -> list[EndingCertificate]: ...
    def sent(self, tax_profile_ids: list[UUID]) -> set[tuple[UUID, date, str]]:
        """(tax profile, end date, notice) of the notices sent for these certificates."""
        ...

    def add_sent(self, notice: SentNotice) -> None: ...
    def all_sent(self) -> list[SentNotice]: ...
