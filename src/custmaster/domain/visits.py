"""Visit settings of an account: how often a sales rep visits, on which weekdays.

JSON form: ``{"frequency": "biweekly", "preferred_days": ["tuesday", "thursday"]}``.
Weekdays are 0 = Monday ... 6 = Sunday internally (like :meth:`datetime.date.weekday`)
and named in the JSON form; an empty ``preferred_days`` means no preference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.operating_hours import WEEKDAYS, OperatingHours, weekday_number

VISIT_FREQUENCIES: dict[str, int] = {
    "weekly": 52,
    "biweekly": 26,
    "monthly": 12,
    "quarterly": 4,
}
"""Frequency code -> planned visits per year."""


@dataclass(frozen=True, slots=True)
class VisitSettings:
    frequency: str
    preferred_days: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if self.frequency not in VISIT_FREQUENCIES:
            known = ", ".join(VISIT_FREQUENCIES)
            errors.append(
                FieldError(
                    "frequency",
                    "invalid_choice",
                    f"unknown visit frequency '{self.frequency}' (known: {known})",
                )
            )
        seen: set[int] = set()
        for i, day in enumerate(self.preferred_days):
            if isinstance(day, bool) or not (isinstance(day, int) and 0 <= day <= 6):
                errors.append(
                    FieldError(f"preferred_days[{i}]", "invalid_weekday", f"'{day}' is not 0-6")
                )
            elif day in seen:
                errors.append(
                    FieldError(
                        f"preferred_days[{i}]", "duplicate", f"{WEEKDAYS[day]} is listed twice"
                    )
                )
            seen.add(day)
        if errors:
            raise ValidationFailed(errors)
        object.__setattr__(self, "preferred_days", tuple(sorted(self.preferred_days)))

    @classmethod
    def of(cls, frequency: str, preferred_days: Iterable[int | str] = ()) -> VisitSettings:
        """Accepts weekday names (any case) or numbers."""
        days: list[int] = []
        errors: list[FieldError] = []
        for i, day in enumerate(preferred_days):
            try:
                days.append(weekday_number(day))
            except ValueError as exc:
                errors.append(FieldError(f"preferred_days[{i}]", "invalid_weekday", str(exc)))
        if errors:
            raise ValidationFailed(errors)
        return cls(frequency, tuple(days))

    @property
    def visits_per_year(self) -> int:
        return VISIT_FREQUENCIES[self.frequency]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "preferred_days": [WEEKDAYS[d] for d in self.preferred_days],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VisitSettings:
        unknown = sorted(set(data) - {"frequency", "preferred_days"})
        errors = [FieldError(k, "unknown_field", "unknown field") for k in unknown]
        if "frequency" not in data:
            errors.append(FieldError("frequency", "required", "a visit frequency is required"))
        days = data.get("preferred_days") or []
        if not isinstance(days, list):
            errors.append(FieldError("preferred_days", "invalid_type", "expected a list"))
        if errors:
            raise ValidationFailed(errors)
        return cls.of(str(data["frequency"]), days)


def closed_preferred_days(settings: VisitSettings, hours: OperatingHours) -> list[str]:
    """Preferred visit days on which the account has no weekly opening hours.

    Not an error (a rep may visit a closed warehouse); services report it as a warning.
    """
    return [WEEKDAYS[d] for d in settings.preferred_days if not hours.weekly.get(d)]
