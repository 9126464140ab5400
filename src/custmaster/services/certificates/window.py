"""The window of the ``certificate_expiring_within`` filter of lists and exports."""

from __future__ import annotations

from datetime import date

from custmaster.domain.certificates import expiring_window, parse_within
from custmaster.services.recording import utcnow


def certificates_ending(within: str | None, today: date | None = None) -> tuple[date, date] | None:
    """The window of ``?certificate_expiring_within=30d``: from ``today`` (default: the
    UTC date now) to 30 days later, both inclusive; ``None`` without the filter."""
    if within is None:
        return None
    return expiring_window(parse_within(within), today or utcnow().date())
