"""Tax-exemption certificates that expire.

A tax profile (``tax_code``, ``certificate_number``, ``effective_from``,
``effective_to``) is a certificate valid through its ``effective_to`` (inclusive: a
certificate may run for a single day). It expires on the day after: from then on an
effective view no longer shows it, nor its exemption code as the customer's tax code.

Notices, each sent once per certificate and end date (a renewal with a new end date gets
its own): ``expiring_30`` 30 days before the end date, ``expiring_7`` 7 days before it and
``expired`` on the day it expires (the day after the end date). A check that runs late
catches up with the latest notice still due: 10 days before the end it sends the 30-day
notice, 5 days before only the 7-day one; ``expired`` is sent up to
:data:`EXPIRED_GRACE_DAYS` days late and then no longer (old expiries stay quiet).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from custmaster.domain.errors import ChangeWarning, FieldError, ValidationFailed

EXPIRING_30 = "expiring_30"
EXPIRING_7 = "expiring_7"
EXPIRED = "expired"
#: notice -> the event type it is sent as (prefixed ``custmaster.``)
EVENT_TYPES: Mapping[str, str] = {
    EXPIRING_30: "customer.tax_exemption.expiring",
    EXPIRING_7: "customer.tax_exemption.expiring",
    EXPIRED: "customer.tax_exemption.expired",
}
EXPIRED_GRACE_DAYS = 30
#: the widest window :func:`parse_within` accepts (ten years)
MAX_WITHIN_DAYS = 3660
_WITHIN = re.compile(r"^(\d{1,4})d$")


def parse_within(value: str, field: str = "certificate_expiring_within") -> int:
    """``"30d"`` -> 30 (days, 0 to :data:`MAX_WITHIN_DAYS`); anything else is a 422."""
    found = _WITHIN.match(value.strip())
    if found is None or int(found[1]) > MAX_WITHIN_DAYS:
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "invalid_duration",
                    f"a number of days such as 30d (at most {MAX_WITHIN_DAYS}d)",
                )
            ]
        )
    return int(found[1])


def expiring_window(days: int, today: date) -> tuple[date, date]:
    """Certificates whose end date lies in this window (inclusive) expire within ``days``."""
    return today, today + timedelta(days=days)


def due_notice(effective_to: date, today: date) -> str | None:
    """The notice due on ``today`` for a certificate valid through ``effective_to``."""
    days_left = (effective_to - today).days
    if 7 < days_left <= 30:
        return EXPIRING_30
    if 0 <= days_left <= 7:
        return EXPIRING_7
    if -EXPIRED_GRACE_DAYS <= days_left < 0:
        return EXPIRED
    return None


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def lapse_exemptions(
    data: dict[str, Any], as_of: date
) -> tuple[dict[str, Any], list[ChangeWarning]]:
    """A customer view (snapshot or effective view) without the certificates expired on
    ``as_of``; a ``tax_code`` that only an expired certificate granted is cleared. Each
    lapse comes with a warning."""
    profiles = data.get("tax_profiles") or []
    expired = [p for p in profiles if (end := _as_date(p.get("effective_to"))) and end < as_of]
    if not expired:
        return data, []
    kept = [p for p in profiles if p not in expired]
    warnings = [
        ChangeWarning(
            "tax_profiles",
            "tax_exemption_expired",
            f"certificate {p.get('certificate_number') or '(no number)'} ({p['tax_code']}) "
            f"ended on {_as_date(p['effective_to'])}; the exemption no longer applies",
        )
        for p in expired
    ]
    result = {**data, "tax_profiles": kept}
    code = data.get("tax_code")
    if (
        code is not None
        and any(p["tax_code"] == code for p in expired)
        and not any(p["tax_code"] == code for p in kept)
    ):
        result["tax_code"] = None
        warnings.append(
            ChangeWarning(
                "tax_code",
                "tax_exemption_expired",
                f"tax code {code} came from an expired certificate and is not applied",
            )
        )
    return result, warnings
